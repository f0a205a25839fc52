"""A worker's main runs to its end, and the process is then ready to exit at once."""

from __future__ import annotations

import asyncio
import gc

from common.infrastructure.runner import run_worker


def test_a_finished_worker_leaves_its_heap_to_the_exit_not_to_a_last_collection() -> None:
    """The final collections at interpreter shutdown took 1 to 4 s per worker stop."""
    ran: list[bool] = []

    async def main(stop: asyncio.Event) -> None:
        ran.append(not stop.is_set())

    before = gc.get_freeze_count()  # the test run's own (tests/harness.py)
    run_worker(main)
    assert ran == [True]
    assert gc.get_freeze_count() > before
