"""The one retry policy for calls to other systems, on tenacity.

A bounded number of retries; between them exponential backoff with full jitter (a uniform
wait up to the exponential ceiling, so clients failing together do not retry together), or
with a fixed share of each ceiling (`floor`) for a side that wants clients to wait; never
less than what the other side asked for (Retry-After), within the cap. Each caller
says which failures are worth another try. The queue's redelivery and the LLM model
fallback are other mechanisms and do not use this.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
)

from common.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

#: What an attempt ended with: its result, or the exception it raised.
Ending = Callable[[object], bool]
WaitHint = Callable[[object], float | None]


def _never(_ending: object) -> bool:
    return False


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more tries after the first; the n-th waits up to `base_s * 2**(n-1)`, at
    most `max_s`, and at least `floor` of that (0: full jitter; 0.5: "equal jitter")."""

    retries: int = 3
    base_s: float = 0.2
    max_s: float = 30.0
    floor: float = 0.0

    async def run(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        retry_exception: Ending = _never,
        retry_result: Ending = _never,
        wait_hint: WaitHint | None = None,
        name: str = "call",
    ) -> T:
        """`attempt()` until it ends in neither a retried exception nor a retried result,
        or the retries run out; then its last result is returned or its exception raised."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait(wait_hint),
            retry=retry_if_exception(retry_exception) | retry_if_result(retry_result),
            before_sleep=lambda state: _log_retry(name, state),
            retry_error_callback=_last_outcome,
        )

        async def once() -> T:  # tenacity awaits only what a coroutine function returns
            return await attempt()

        result: T = await retrying(once)
        return result

    def _wait(self, hint: WaitHint | None) -> Callable[[RetryCallState], float]:
        def wait(state: RetryCallState) -> float:
            ceiling = min(self.max_s, self.base_s * 2.0 ** (state.attempt_number - 1))
            delay = ceiling * self.floor + random.uniform(0, ceiling * (1 - self.floor))
            asked = hint(_ending(state)) if hint is not None else None
            return max(delay, min(asked, self.max_s)) if asked else delay

        return wait


def is_connect_error(ending: object) -> bool:
    """No answer came back: refused, reset, or timed out."""
    return isinstance(ending, httpx.TransportError)


def http_status(*codes: int) -> Ending:
    """Retry a response with one of these statuses."""

    def answered(ending: object) -> bool:
        return isinstance(ending, httpx.Response) and ending.status_code in codes

    return answered


def retry_after(ending: object) -> float | None:
    """The seconds a response's Retry-After asks for (a number or an HTTP date)."""
    if not isinstance(ending, httpx.Response):
        return None
    value = ending.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _ending(state: RetryCallState) -> object:
    outcome = state.outcome
    if outcome is None:  # pragma: no cover: tenacity waits and logs only after an attempt ended
        return None
    return outcome.exception() if outcome.failed else outcome.result()


def _last_outcome(state: RetryCallState) -> Any:
    """Out of retries: the last answer as it was (raises the last exception)."""
    assert state.outcome is not None
    return state.outcome.result()


def _log_retry(name: str, state: RetryCallState) -> None:
    ending = _ending(state)
    reason = f"HTTP {ending.status_code}" if isinstance(ending, httpx.Response) else ending
    delay = state.next_action.sleep if state.next_action else 0.0
    log.info(
        "retrying",
        call=name,
        attempt=state.attempt_number,
        delay=round(delay, 3),
        error=str(reason),
    )
