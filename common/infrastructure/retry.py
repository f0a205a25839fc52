"""The one retry policy for calls to other systems, on tenacity.

A bounded number of retries (or, with `retries=None`, until a stop event); between them
exponential backoff: the n-th step is `base_s * 2**(n-1)` held to `max_s`, and the wait a
random share of it between `floor` and `ceiling` (0 and 1: full jitter, so clients failing
together do not retry together; 1 and 1: no jitter), never more than `max_s`. A wait the
other side asked for (Retry-After, Telegram's `retry_after`) is honoured: at least that long,
or exactly that long with `obey_asked`. Each caller says which failures are worth another try
and how a retry is logged. The policy needs no HTTP library: the helpers read any response's
status and headers (aiohttp's, and the httpx2 responses the LLM SDK hands over), and
`is_connect_error` knows aiohttp's connection errors and the OS's. The queue's
redelivery counts its attempts in Redis and takes only its waits from here (`wait`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_never,
)

from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

#: What an attempt ended with: its result, or the exception it raised.
Ending = Callable[[object], bool]
WaitHint = Callable[[object], float | None]
#: Told before each wait: the attempt that failed (1-based), the wait chosen, its ending.
OnRetry = Callable[[int, float, object], None]


class Stopped(Exception):
    """The stop event was set: no further attempt was made."""


def _never(_ending: object) -> bool:
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more tries after the first (None: until stopped); see the module docstring.
    `asked_max_s`: the cap on an asked wait (None: `max_s`; `math.inf`: none)."""

    retries: int | None = 3
    base_s: float = 0.2
    max_s: float = 30.0
    floor: float = 0.0
    ceiling: float = 1.0
    obey_asked: bool = False
    asked_max_s: float | None = None

    def backoff(self, number: int) -> float:
        """The wait after the `number`-th failed attempt, without an asked wait."""
        step = min(self.max_s, self.base_s * 2.0 ** (number - 1))
        if self.floor == self.ceiling:  # no jitter: no draw from the shared generator
            return min(self.max_s, step * self.floor)
        return min(self.max_s, step * random.uniform(self.floor, self.ceiling))

    def wait(self, number: int, asked: float | None = None) -> float:
        """The wait after the `number`-th failed attempt, honouring a wait asked for."""
        delay = self.backoff(number)
        if not asked:
            return delay
        asked = min(asked, self.max_s if self.asked_max_s is None else self.asked_max_s)
        return asked if self.obey_asked else max(delay, asked)

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retry_exception: Ending = _never,
        retry_result: Ending = _never,
        wait_hint: WaitHint | None = None,
        name: str = "call",
        on_retry: OnRetry | None = None,
        stop: asyncio.Event | None = None,
    ) -> T:
        """`attempt()` until it ends in neither a retried exception nor a retried result,
        or the retries run out; then its last result is returned or its exception raised.
        With `stop`, a wait ends when it is set, and `Stopped` is raised instead of the
        next attempt."""
        retried_exception = _unless_stopped(retry_exception)

        async def once() -> T:  # tenacity awaits only what a coroutine function returns
            if stop is not None and stop.is_set():
                raise Stopped
            return await attempt()

        if self.retries == 0:  # tenacity would draw a wait (jitter) it never sleeps
            return await once()
        # The first attempt is made before tenacity is involved: most calls end there, and
        # building the retrying machinery for them cost more than many of the calls (38 µs).
        try:
            first = await once()
        except BaseException as exc:
            if not retried_exception(exc):
                raise
            replay = _replay_first(once, raised=exc)
        else:
            if not retry_result(first):
                return first
            replay = _replay_first(once, returned=first)
        retrying = AsyncRetrying(
            stop=stop_never if self.retries is None else stop_after_attempt(self.retries + 1),
            wait=lambda state: self.wait(state.attempt_number, _asked(wait_hint, state)),
            retry=retry_if_exception(retried_exception) | retry_if_result(retry_result),
            before_sleep=_before_sleep(on_retry or _logger(name)),
            retry_error_callback=_last_outcome,
            sleep=asyncio.sleep if stop is None else _sleep_unless(stop),
        )
        result: T = await retrying(replay)
        return result


def _replay_first(
    then: Callable[[], Awaitable[T]],
    *,
    returned: T | None = None,
    raised: BaseException | None = None,
) -> Callable[[], Awaitable[T]]:
    """An attempt function for tenacity whose first call ends as the attempt already made
    did (`returned`, or `raised` raised again), and every later call is `then()`."""
    replayed = False

    async def attempt() -> T:
        nonlocal replayed
        if replayed:
            return await then()
        replayed = True
        if raised is not None:
            raise raised
        return returned  # type: ignore[return-value]  # the first attempt's own result

    return attempt


def is_connect_error(ending: object) -> bool:
    """No answer came back: refused, reset, or timed out."""
    return isinstance(ending, _connect_errors())


def http_status(*codes: int) -> Ending:
    """Retry a response with one of these statuses."""

    def answered(ending: object) -> bool:
        return _status(ending) in codes

    return answered


def retry_after(ending: object) -> float | None:
    """The seconds a response's Retry-After asks for (any response with `headers`)."""
    headers = None if isinstance(ending, BaseException) else getattr(ending, "headers", None)
    return parse_retry_after(headers.get("retry-after")) if headers is not None else None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """The seconds a Retry-After header asks for, from now: a number of seconds or an HTTP
    date (a date without a zone read as UTC); never negative; None when it says neither."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until(value, now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(value: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, (when - (now or utcnow())).total_seconds())
    except OverflowError:  # pragma: no cover: a date datetime holds is within its range
        return None


@functools.cache
def _connect_errors() -> tuple[type[BaseException], ...]:
    """Imported when first asked: the policy itself needs no HTTP library."""
    import aiohttp

    return (OSError, TimeoutError, aiohttp.ClientConnectionError)


def _status(ending: object) -> int | None:
    """A response's status: `status_code` (the LLM SDK's httpx2, ours) or `status` (aiohttp)."""
    if isinstance(ending, BaseException):
        return None
    status = getattr(ending, "status_code", getattr(ending, "status", None))
    return status if isinstance(status, int) else None


def _unless_stopped(retry_exception: Ending) -> Ending:
    def retried(exc: object) -> bool:
        return not isinstance(exc, Stopped) and retry_exception(exc)

    return retried


def _asked(hint: WaitHint | None, state: RetryCallState) -> float | None:
    return hint(_ending(state)) if hint is not None else None


def _ending(state: RetryCallState) -> object:
    outcome = state.outcome
    if outcome is None:  # pragma: no cover: tenacity waits and logs only after an attempt ended
        return None
    return outcome.exception() if outcome.failed else outcome.result()


def _last_outcome(state: RetryCallState) -> Any:
    """Out of retries: the last answer as it was (raises the last exception)."""
    assert state.outcome is not None
    return state.outcome.result()


def _before_sleep(on_retry: OnRetry) -> Callable[[RetryCallState], None]:
    def told(state: RetryCallState) -> None:
        delay = state.next_action.sleep if state.next_action else 0.0
        on_retry(state.attempt_number, delay, _ending(state))

    return told


def _logger(name: str) -> OnRetry:
    def logged(attempt: int, delay: float, ending: object) -> None:
        status = _status(ending)
        reason = ending if status is None else f"HTTP {status}"
        log.info("retrying", call=name, attempt=attempt, delay=round(delay, 3), error=str(reason))

    return logged


def _sleep_unless(stop: asyncio.Event) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    return sleep
