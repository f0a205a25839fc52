"""A live experiment's arms: a person always lands in the same arm, many people split as
the shares say, and a snapshot that changes nothing about the experiment moves nobody."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.experiments import BUCKETS, SHARE_TOTAL, bucket, pick
from common.infrastructure.wire import ConfigSnapshot, SnapshotExperiment, SnapshotVariant
from tests.tiers import examples

PEOPLE = 20_000
#: Of PEOPLE hashed at random, an arm's share is this close to its own (≈ 4.5 standard
#: deviations at 50%): a real bias of a point or more shows, chance does not.
TOLERANCE = 0.016


@st.composite
def shares(draw: st.DrawFn) -> list[int]:
    """2 to 5 whole percents adding up to 100, each at least 1."""
    count = draw(st.integers(min_value=2, max_value=5))
    cuts = draw(
        st.lists(
            st.integers(min_value=1, max_value=SHARE_TOTAL - 1),
            min_size=count - 1,
            max_size=count - 1,
            unique=True,
        )
    )
    edges = [0, *sorted(cuts), SHARE_TOTAL]
    return [b - a for a, b in itertools.pairwise(edges)]


def experiment(split: list[int], key: uuid.UUID) -> SnapshotExperiment:
    variants = tuple(
        SnapshotVariant(
            id=uuid.UUID(int=key.int ^ i),
            name=f"arm{i}",
            share=share,
            is_control=i == 0,
            instructions=None if i == 0 else f"prompt {i}",
            model=None,
        )
        for i, share in enumerate(split)
    )
    return SnapshotExperiment(id=key, assistant_id=uuid.UUID(int=1), variants=variants)


@settings(max_examples=examples(50), deadline=None)
@given(key=st.uuids(), person=st.uuids())
def test_the_same_person_always_gets_the_same_arm(key: uuid.UUID, person: uuid.UUID) -> None:
    arms = experiment([30, 70], key)
    first = arms.variant_for(person)
    assert all(arms.variant_for(person) == first for _ in range(3))
    assert arms.variant_for(str(person)) == first  # the id as text is the same person
    assert 0 <= bucket(key, person) < BUCKETS


@settings(max_examples=examples(10), deadline=None)
@given(split=shares(), key=st.uuids())
def test_many_people_split_as_the_shares_say(split: list[int], key: uuid.UUID) -> None:
    arms = experiment(split, key)
    people = (uuid.UUID(int=key.int ^ (n << 64) ^ 0xABC) for n in range(PEOPLE))
    seen = Counter(arms.variant_for(p).name for p in people)
    for i, share in enumerate(split):
        assert abs(seen[f"arm{i}"] / PEOPLE - share / SHARE_TOTAL) < TOLERANCE, (split, seen)


@settings(max_examples=examples(10), deadline=None)
@given(split=shares(), key=st.uuids(), version=st.integers(min_value=1, max_value=10**9))
def test_a_new_snapshot_that_changes_nothing_of_the_experiment_moves_nobody(
    split: list[int], key: uuid.UUID, version: int
) -> None:
    """Another version (other config changed), read back from JSON as the assistant gets
    it, with other experiments beside it: every person keeps their arm."""
    arms = experiment(split, key)
    owner = arms.assistant_id
    before = ConfigSnapshot(
        version=1, secretary=None, assistants=(), models=(), experiments=(arms,)
    )
    other = experiment([50, 50], uuid.UUID(int=key.int ^ 1)).model_copy(
        update={"assistant_id": uuid.UUID(int=2)}
    )
    after = ConfigSnapshot.model_validate_json(
        before.model_copy(
            update={"version": version, "experiments": (other, arms)}
        ).model_dump_json()
    )
    for n in range(500):
        person = uuid.UUID(int=key.int ^ n)
        assert after.variant_for(owner, person) == before.variant_for(owner, person)


def test_no_running_experiment_or_no_person_means_no_arm() -> None:
    arms = experiment([50, 50], uuid.uuid4())
    snapshot = ConfigSnapshot(
        version=1, secretary=None, assistants=(), models=(), experiments=(arms,)
    )
    assert snapshot.variant_for(uuid.uuid4(), uuid.uuid4()) is None
    assert snapshot.variant_for(arms.assistant_id, None) is None
    assert snapshot.variant_for(arms.assistant_id, uuid.uuid4()) in arms.variants


def test_the_buckets_are_walked_in_the_arms_order() -> None:
    key = uuid.uuid4()
    person = next(p for p in (uuid.uuid4() for _ in range(1000)) if bucket(key, p) < 100)
    first, rest = experiment([1, 99], key).variants
    assert pick((first, rest), key, person) is first
