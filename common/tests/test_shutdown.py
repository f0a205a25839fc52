"""A shutdown step that never ends does not hold the service's stop (common/infrastructure/
shutdown.py): it is cancelled after its time and named in a warning."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from common.infrastructure.shutdown import bounded


async def test_a_step_that_ends_in_time_is_awaited_and_its_error_raised() -> None:
    done: list[str] = []

    async def close() -> None:
        done.append("closed")

    assert await bounded("close", close(), 5.0) is True
    assert done == ["closed"]

    async def failing() -> None:
        raise OSError("reset by peer")

    with pytest.raises(OSError, match="reset by peer"):
        await bounded("close", failing(), 5.0)


async def test_a_step_that_never_ends_is_cancelled_and_named() -> None:
    never = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with capture_logs() as logs:
        assert await bounded("pubsub_close", stuck(), 0.05) is False
    assert cancelled == [True]
    [warning] = [e for e in logs if e["event"] == "shutdown_step_timed_out"]
    assert (warning["step"], warning["seconds"], warning["log_level"]) == (
        "pubsub_close",
        0.05,
        "warning",
    )


async def test_a_step_that_ignores_its_cancellation_is_left_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("common.infrastructure.shutdown.CANCEL_GRACE_S", 0.05)
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # swallows every cancellation, as a close stuck in a library may

    task_count = len(asyncio.all_tasks())
    assert await bounded("dispose", stubborn(), 0.05) is False
    assert len(asyncio.all_tasks()) == task_count + 1  # still running, not waited for
    release.set()


async def test_cancelling_the_caller_cancels_its_step() -> None:
    started, never, cancelled = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def stuck() -> None:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    caller = asyncio.create_task(bounded("close", stuck(), 60.0))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.wait_for(cancelled.wait(), 5.0)
