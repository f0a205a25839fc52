"""Shutdown steps with a bound: a service stops even when one close never returns.

A close that waits on the network can wait for ever (redis-py's pub/sub close waits for its
socket to be closed, redis/redis-py#3941; a database dispose waits for its connections).
The process must still stop: each step gets its time, and a step still running then is
cancelled, logged by name, and left behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from common.infrastructure.logging import get_logger

log = get_logger(__name__)

#: How long a step that ran out of time is given to end once cancelled; one that ignores the
#: cancellation is left running (the process is stopping anyway).
CANCEL_GRACE_S = 1.0


async def bounded(step: str, awaitable: Awaitable[object], seconds: float) -> bool:
    """Await `awaitable` for at most `seconds`; False (and a `shutdown_step_timed_out`
    warning naming `step`) when it did not end in time."""
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:  # the caller is cancelled: so is its step
        task.cancel()
        raise
    if done:
        task.result()
        return True
    task.cancel()
    await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: how a step we gave up on ended says nothing more
    log.warning("shutdown_step_timed_out", step=step, seconds=seconds)
    return False
