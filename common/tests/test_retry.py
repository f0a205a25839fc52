"""The one retry policy: against a real HTTP server what it retries, how long it waits, and
what it gives back when the retries run out; its waits and its stop on their own; and the one
Retry-After parser over numbers, dates and garbage."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import httpx
import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs
from structlog.typing import EventDict

from common.infrastructure.retry import (
    RetryPolicy,
    Stopped,
    http_status,
    is_connect_error,
    parse_retry_after,
    retry_after,
)

FAST = RetryPolicy(retries=3, base_s=0.01, max_s=0.05)


class ScriptedServer:
    """Answers with the scripted statuses (and headers) in turn, then 200."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, str]]] = []
        self.requests = 0
        self.app = web.Application()
        self.app.router.add_get("/", self._answer)

    async def _answer(self, _request: web.Request) -> web.Response:
        self.requests += 1
        status, headers = self.replies.pop(0) if self.replies else (200, {})
        return web.json_response({"status": status}, status=status, headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[tuple[ScriptedServer, httpx.AsyncClient]]:
    scripted = ScriptedServer()
    runner = web.AppRunner(scripted.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as http:
        yield scripted, http
    await runner.cleanup()


def waits(logs: list[EventDict]) -> list[float]:
    """The wait before each retry, as the policy logged it (what it then sleeps)."""
    return [float(str(e["delay"])) for e in logs if e["event"] == "retrying"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_503_is_retried_until_the_200(server) -> None:
    scripted, http = server
    scripted.replies = [(503, {}), (503, {})]
    response = await FAST.run(lambda: http.get("/"), retry_result=http_status(503))
    assert response.status_code == 200
    assert scripted.requests == 3


async def test_out_of_retries_the_last_answer_comes_back(server) -> None:
    scripted, http = server
    scripted.replies = [(503, {})] * 5
    response = await FAST.run(lambda: http.get("/"), retry_result=http_status(503))
    assert response.status_code == 503
    assert scripted.requests == 4


async def test_an_answer_not_retried_comes_back_at_once(server) -> None:
    scripted, http = server
    scripted.replies = [(404, {}), (503, {})]
    response = await FAST.run(lambda: http.get("/"), retry_result=http_status(503))
    assert response.status_code == 404
    assert scripted.requests == 1


async def test_429_waits_as_long_as_retry_after_asks(server) -> None:
    scripted, http = server
    scripted.replies = [(429, {"Retry-After": "1"})]
    policy = RetryPolicy(retries=2, base_s=0.01, max_s=5.0)
    with capture_logs() as logs:
        response = await policy.run(
            lambda: http.get("/"), retry_result=http_status(429), wait_hint=retry_after
        )
    assert response.status_code == 200
    assert waits(logs) == [1.0]  # what Retry-After asked, not the backoff's 0.01


async def test_retry_after_is_held_to_the_cap(server) -> None:
    scripted, http = server
    scripted.replies = [(429, {"Retry-After": "60"})]
    policy = RetryPolicy(retries=2, base_s=0.01, max_s=0.2)
    with capture_logs() as logs:
        response = await policy.run(
            lambda: http.get("/"), retry_result=http_status(429), wait_hint=retry_after
        )
    assert response.status_code == 200
    assert waits(logs) == [0.2]  # the cap, not the 60 s asked


async def test_an_aiohttp_answer_is_retried_and_its_retry_after_read_the_same(server) -> None:
    scripted, http = server
    scripted.replies = [(503, {}), (429, {"Retry-After": "0.3"})]
    policy = RetryPolicy(retries=2, base_s=0.01, max_s=5.0)
    async with aiohttp.ClientSession(str(http.base_url)) as session:

        async def get() -> aiohttp.ClientResponse:
            async with session.get("/") as response:
                await response.read()
                return response

        with capture_logs() as logs:
            response = await policy.run(
                get, retry_result=http_status(503, 429), wait_hint=retry_after
            )
    assert response.status == 200
    assert scripted.requests == 3
    assert waits(logs)[1] == 0.3


async def test_connection_refused_is_retried_then_raised() -> None:
    attempts = 0

    async def get() -> None:
        nonlocal attempts
        attempts += 1
        async with aiohttp.ClientSession() as http:
            await http.get(f"http://127.0.0.1:{closed_port()}/")

    with capture_logs() as logs, pytest.raises(aiohttp.ClientConnectionError):
        await FAST.run(get, retry_exception=is_connect_error)
    assert attempts == 4
    # Full jitter: each wait is at most its ceiling (0.01, 0.02, 0.04).
    slept = waits(logs)
    assert len(slept) == 3
    ceilings = [0.01, 0.02, 0.04]
    assert all(0 <= wait <= c for wait, c in zip(slept, ceilings, strict=True)), slept


async def test_an_exception_not_retried_is_raised_at_once() -> None:
    attempts = 0

    async def fail() -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("not worth another try")

    with pytest.raises(ValueError):
        await FAST.run(fail, retry_exception=is_connect_error)
    assert attempts == 1


def test_retry_after_reads_seconds_and_dates() -> None:
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(answer("7")) == 7.0
    assert retry_after(answer("Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0  # long past
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(429)) is None
    assert retry_after(ValueError("no response")) is None


async def test_a_floor_keeps_that_share_of_every_wait() -> None:
    async def fail() -> None:
        raise aiohttp.ClientConnectionError("refused")

    policy = RetryPolicy(retries=3, base_s=0.1, max_s=0.15, floor=0.5)
    with capture_logs() as logs, pytest.raises(aiohttp.ClientConnectionError):
        await policy.run(fail, retry_exception=is_connect_error)
    # Ceilings 0.1, 0.15 (capped), 0.15: at least half of each, at most all of it.
    slept = waits(logs)
    assert len(slept) == 3
    ceilings = [0.1, 0.15, 0.15]
    assert all(c / 2 <= wait <= c for wait, c in zip(slept, ceilings, strict=True)), slept


def test_a_retry_after_date_of_an_unknown_zone_is_read_as_utc() -> None:
    """RFC 5322's `-0000`: UTC, the sender's zone unknown (parsed without a zone)."""
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10)
    value = format_datetime(later.replace(tzinfo=None)).rsplit(" ", 1)[0] + " -0000"
    asked = retry_after(httpx.Response(429, headers={"Retry-After": value}))
    assert asked is not None and 540 < asked <= 600


# The one Retry-After parser, over header values of every kind.

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=1e12) | st.integers(min_value=0, max_value=10**12))
def test_a_number_of_seconds_is_read_as_it_is(seconds: float) -> None:
    assert parse_retry_after(f" {seconds!r} ", NOW) == float(seconds)


@settings(max_examples=100, deadline=None)
@given(st.floats(max_value=-1e-9, allow_infinity=False))
def test_a_negative_number_asks_for_no_wait(seconds: float) -> None:
    assert parse_retry_after(repr(seconds), NOW) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    )
)
def test_an_http_date_is_read_as_the_seconds_until_it(when: datetime) -> None:
    when = when.replace(microsecond=0)
    asked = parse_retry_after(format_datetime(when, usegmt=True), NOW)
    assert asked == max(0.0, (when - NOW).total_seconds())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Nd"])))
def test_a_value_without_a_digit_asks_for_nothing(value: str) -> None:
    """Not even `inf` or `nan`, which Python's float() would read."""
    assert parse_retry_after(value, NOW) is None


@settings(max_examples=300, deadline=None)
@given(st.text() | st.from_regex(r"[A-Za-z]{3}, \d{1,2} [A-Za-z]{3} \d{1,6} [\d:]{1,9} .{0,6}"))
def test_any_value_is_a_finite_wait_or_none_and_never_an_error(value: str) -> None:
    asked = parse_retry_after(value, NOW)
    assert asked is None or (math.isfinite(asked) and asked >= 0)


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "inf", "NaN", "1e999", "-inf"])
def test_no_value_or_no_finite_one_asks_for_nothing(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


# The policy's waits.


@settings(max_examples=200, deadline=None)
@given(
    number=st.integers(min_value=1, max_value=40),
    base=st.floats(min_value=0, max_value=10),
    cap=st.floats(min_value=0, max_value=60),
    shares=st.tuples(st.floats(0, 2), st.floats(0, 2)).map(sorted),
)
def test_a_wait_lies_between_its_shares_of_the_step_and_never_past_the_cap(
    number: int, base: float, cap: float, shares: list[float]
) -> None:
    floor, ceiling = shares
    policy = RetryPolicy(base_s=base, max_s=cap, floor=floor, ceiling=ceiling)
    step = min(cap, base * 2.0 ** (number - 1))
    wait = policy.backoff(number)
    assert min(cap, floor * step) * (1 - 1e-9) <= wait <= min(cap, ceiling * step) * (1 + 1e-9)


def test_without_jitter_the_waits_double_up_to_the_cap() -> None:
    policy = RetryPolicy(base_s=0.2, max_s=5.0, floor=1.0)
    assert [policy.backoff(n) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


def test_an_asked_wait_is_a_lower_bound_held_to_the_cap() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=10.0, floor=1.0)
    assert policy.wait(1, asked=0.5) == 1.0  # the backoff's longer
    assert policy.wait(1, asked=3.0) == 3.0
    assert policy.wait(1, asked=60.0) == 10.0
    assert policy.wait(1, asked=0.0) == 1.0  # zero asks for nothing


def test_an_obeyed_asked_wait_replaces_the_backoff() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=10.0, floor=1.0, obey_asked=True)
    assert policy.wait(3, asked=0.5) == 0.5
    assert policy.wait(3, asked=60.0) == 10.0
    assert policy.wait(3, asked=None) == 4.0


def test_an_asked_wait_may_have_a_cap_of_its_own() -> None:
    policy = RetryPolicy(base_s=1.0, max_s=10.0, floor=1.0, asked_max_s=math.inf)
    assert policy.wait(1, asked=120.0) == 120.0


# The policy's loop: who hears of a retry, and a stop.


class Refused(Exception):
    pass


async def test_on_retry_hears_each_retry_instead_of_the_log() -> None:
    heard: list[tuple[int, float, str]] = []
    policy = RetryPolicy(retries=2, base_s=0.01, max_s=0.01, floor=1.0)

    async def fail() -> None:
        raise Refused("no")

    with capture_logs() as logs, pytest.raises(Refused):
        await policy.run(
            fail,
            retry_exception=lambda exc: isinstance(exc, Refused),
            on_retry=lambda n, delay, exc: heard.append((n, delay, str(exc))),
        )
    assert heard == [(1, 0.01, "no"), (2, 0.01, "no")]
    assert [e for e in logs if e["event"] == "retrying"] == []


async def test_without_a_limit_it_tries_until_the_attempt_succeeds() -> None:
    attempts = 0

    async def third_time() -> str:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise Refused
        return "done"

    policy = RetryPolicy(retries=None, base_s=0.001, max_s=0.001, floor=1.0)
    assert await policy.run(third_time, retry_exception=lambda e: isinstance(e, Refused)) == "done"
    assert attempts == 3


async def test_a_stop_ends_the_wait_and_no_attempt_follows() -> None:
    stop = asyncio.Event()
    attempts = 0

    async def fail() -> None:
        nonlocal attempts
        attempts += 1
        raise Refused

    def stop_once_waiting(_attempt: int, _delay: float, _exc: object) -> None:
        asyncio.get_running_loop().call_soon(stop.set)  # runs once the wait has begun

    # An hour's wait: only the stop can end it.
    policy = RetryPolicy(retries=None, base_s=3600, max_s=3600, floor=1.0)
    with pytest.raises(Stopped):
        await policy.run(
            fail,
            retry_exception=lambda exc: isinstance(exc, Refused),
            on_retry=stop_once_waiting,
            stop=stop,
        )
    assert attempts == 1


async def test_a_stop_set_before_the_first_attempt_makes_none() -> None:
    stop = asyncio.Event()
    stop.set()
    attempts = 0

    async def count() -> None:
        nonlocal attempts
        attempts += 1

    with pytest.raises(Stopped):
        await RetryPolicy().run(count, stop=stop)
    assert attempts == 0


async def test_no_retries_is_one_attempt_that_draws_no_jitter() -> None:
    """tg_bot's bots fleet retries at its own pace: its failing calls must not spin the
    shared random generator (a Hypothesis test in the same process counts that as flaky)."""
    import random

    calls: list[int] = []

    async def failing() -> int:
        calls.append(1)
        raise ConnectionError("down")

    before = random.getstate()
    with pytest.raises(ConnectionError):
        await RetryPolicy(0, 0.2).run(failing, retry_exception=lambda _exc: True)
    assert random.getstate() == before and calls == [1]

    async def seven() -> int:
        return 7

    assert await RetryPolicy(0).run(seven, retry_result=lambda _r: True) == 7
