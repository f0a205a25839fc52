"""The garbage collector around a service's start (common/infrastructure/collector.py): only
young collections while it imports, then its objects frozen out of later collections."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from common.infrastructure import collector
from tests.harness import FROZEN_AT_COLLECTION


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations collected meanwhile; the process's collector as it was afterwards."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    seen: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)
        if frozen == 0:
            gc.unfreeze()
        gc.set_threshold(*threshold)


def containers() -> list[list[int]]:
    """Objects the collector tracks, as importing modules makes them, and enough of them to
    earn a full collection: CPython runs one only once the objects that reached the oldest
    generation since the last are a quarter of those it held then."""
    count = len(gc.get_objects()) // 2 + 100_000
    return [[n] for n in range(count)]


def test_while_starting_young_collections_run_and_no_full_one(collections: list[int]) -> None:
    gc.set_threshold(*collector.USUAL)
    collector.starting()
    kept = containers()
    assert gc.get_threshold() == (*collector.USUAL[:2], collector.STARTING_FULL)
    assert 0 in collections and 1 in collections
    assert 2 not in collections
    assert kept


def test_the_usual_collector_would_have_run_full_collections(collections: list[int]) -> None:
    """The counterpart: the same objects under the usual thresholds cost full collections."""
    gc.set_threshold(*collector.USUAL)
    kept = containers()
    assert 2 in collections
    assert kept


def test_once_started_the_starts_objects_are_frozen_and_the_usual_thresholds_back(
    collections: list[int],
) -> None:
    collector.starting()
    kept = [[n] for n in range(1_000)]
    collector.started()
    assert gc.get_threshold() == collector.USUAL
    assert gc.get_freeze_count() >= len(kept)
    oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    assert not any(id(obj) in oldest for obj in kept)  # in the permanent generation


def test_the_test_runs_own_imports_are_frozen_too() -> None:
    """tests/harness.py freezes what the collection made, as a service freezes its start."""
    [frozen] = FROZEN_AT_COLLECTION
    assert frozen > 10_000
