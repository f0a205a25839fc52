"""Figures with their uncertainty, for comparing an experiment's arms: the Wilson score
interval for a rate (sound near 0 and 1 and for small samples, unlike p ± z·se) and the
normal approximation for a mean (from its standard deviation and sample size). 95% both."""

from __future__ import annotations

import math

from rest_service.app.models.experiment import Estimate

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959964


def wilson(successes: int, n: int, z: float = Z95) -> Estimate:
    """The rate `successes / n` with its Wilson score interval (nothing to say at n = 0)."""
    if n <= 0:
        return Estimate(value=None, low=None, high=None, n=0)
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n}")
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # the rate is inside its interval in exact arithmetic; floats at 0 and 1 can miss by 1 ulp
    low, high = min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))
    return Estimate(value=p, low=low, high=high, n=n)


def mean_interval(mean: float | None, sd: float | None, n: int, z: float = Z95) -> Estimate:
    """A mean with its normal-approximation interval; under two values there is no spread
    to speak of, so no interval."""
    if n <= 0 or mean is None:
        return Estimate(value=None, low=None, high=None, n=max(n, 0))
    if n < 2 or sd is None:
        return Estimate(value=mean, low=None, high=None, n=n)
    half = z * sd / math.sqrt(n)
    return Estimate(value=mean, low=mean - half, high=mean + half, n=n)


def thumbs_up_rate(up: int, down: int) -> Estimate:
    """An arm's 👍 rate: 👍 among the answers rated (👍 or 👎), with its Wilson interval."""
    return wilson(up, up + down)
