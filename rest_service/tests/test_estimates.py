"""The uncertainty shown with an experiment's figures: Wilson intervals for rates (the 👍 rate
among them, from counts), normal intervals for means."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rest_service.app.domain.estimates import mean_interval, thumbs_up_rate, wilson
from tests.tiers import examples


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (81, 263, 0.2553, 0.3662),
    ],
    ids=["none", "half", "all", "textbook"],
)
def test_wilson_matches_known_intervals(successes: int, n: int, low: float, high: float) -> None:
    rate = wilson(successes, n)
    assert rate.value == successes / n and rate.n == n
    assert rate.low == pytest.approx(low, abs=1e-4) and rate.high == pytest.approx(high, abs=1e-4)


@settings(max_examples=examples(200), deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=10**6))
def test_a_wilson_interval_holds_its_rate_inside_zero_to_one(data: st.DataObject, n: int) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=n))
    rate = wilson(successes, n)
    assert rate.low is not None and rate.high is not None and rate.value is not None
    assert 0.0 <= rate.low <= rate.value <= rate.high <= 1.0


def test_nothing_to_say_without_a_sample() -> None:
    assert wilson(0, 0).value is None and wilson(0, 0).low is None
    assert mean_interval(None, None, 0).value is None
    single = mean_interval(12.0, None, 1)
    assert single.value == 12.0 and single.low is None and single.n == 1


def test_a_mean_interval_narrows_with_the_sample() -> None:
    small, large = mean_interval(100.0, 20.0, 4), mean_interval(100.0, 20.0, 400)
    assert small.low is not None and small.high is not None
    assert large.low is not None and large.high is not None
    assert small.high - small.low == pytest.approx(2 * 1.959964 * 20 / 2)
    assert large.high - large.low == pytest.approx((small.high - small.low) / 10)


def test_thumbs_up_rate_counts_only_rated_answers() -> None:
    rate = thumbs_up_rate(up=45, down=5)
    assert rate.value == 0.9 and rate.n == 50
    assert rate.low is not None and rate.high is not None
    assert rate.low < 0.9 < rate.high and not math.isclose(rate.high, 1.0)
    assert thumbs_up_rate(0, 0).value is None
