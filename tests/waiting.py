"""The one way a test waits: `until` a condition holds, never a fixed time.

`until` (async) and `until_sync` poll `condition` until it returns something truthy and give
that value back; past `timeout` they fail with `message`. A condition may be a plain function
or, for `until`, a coroutine function. Importable from every service's tests
(`from tests.waiting import until`).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

#: How often a condition is asked again: often enough that a test does not wait for its own
#: polling, seldom enough that the polling does not slow what it waits for.
INTERVAL = 0.02


class NotInTime(AssertionError):
    """The condition did not hold before the timeout."""


@overload
async def until(
    condition: Callable[[], Awaitable[T]],
    timeout: float = 20.0,
    message: str = "condition",
    *,
    interval: float = INTERVAL,
) -> T: ...


@overload
async def until(
    condition: Callable[[], T],
    timeout: float = 20.0,
    message: str = "condition",
    *,
    interval: float = INTERVAL,
) -> T: ...


async def until(
    condition: Callable[[], Any],
    timeout: float = 20.0,
    message: str = "condition",
    *,
    interval: float = INTERVAL,
) -> Any:
    """The first truthy result of `condition`, asked until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        found = await result if inspect.isawaitable(result) else result
        if found:
            return found
        if time.monotonic() > deadline:
            raise NotInTime(f"not true in {timeout} s: {message}")
        await asyncio.sleep(interval)


def until_sync(
    condition: Callable[[], T],
    timeout: float = 20.0,
    message: str = "condition",
    *,
    interval: float = INTERVAL,
) -> T:
    """`until` for code without an event loop (a thread, a subprocess's output)."""
    deadline = time.monotonic() + timeout
    while True:
        if found := condition():
            return found
        if time.monotonic() > deadline:
            raise NotInTime(f"not true in {timeout} s: {message}")
        time.sleep(interval)
