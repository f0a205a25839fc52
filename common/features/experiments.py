"""Which variant of a live experiment answers a person: a hash of (experiment, person) into
the variants' shares, so the choice is stable without storage, the same in every replica and
after a restart, and nobody moves while the experiment's variants stay as they are.

The hash (SHA-256, not Python's salted `hash`) picks one of `BUCKETS` buckets; the variants
own consecutive runs of buckets in their order, each `share` percent of them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, TypeVar
from uuid import UUID

#: Shares are whole percents and add up to this.
SHARE_TOTAL = 100
#: Buckets a person hashes into (a percent is 100 of them).
BUCKETS = 10_000


class Shared(Protocol):
    @property
    def share(self) -> int: ...


V = TypeVar("V", bound=Shared)


def bucket(experiment_id: UUID, user_id: UUID | str) -> int:
    """The person's bucket in this experiment, in [0, BUCKETS)."""
    digest = hashlib.sha256(f"{experiment_id}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def pick(variants: Sequence[V], experiment_id: UUID, user_id: UUID | str) -> V:
    """The variant whose run of buckets holds the person's (`variants` in their order, shares
    adding up to SHARE_TOTAL; a shortfall falls to the last)."""
    if not variants:
        raise ValueError("an experiment has at least one variant")
    spot = bucket(experiment_id, user_id)
    edge = 0
    for variant in variants:
        edge += variant.share * (BUCKETS // SHARE_TOTAL)
        if spot < edge:
            return variant
    return variants[-1]
