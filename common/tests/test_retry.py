"""The one retry policy against a real HTTP server: what it retries, how long it waits, and
what it gives back when the retries run out."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from aiohttp import web
from structlog.testing import capture_logs
from structlog.typing import EventDict

from common.retry import RetryPolicy, http_status, is_connect_error, retry_after

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


async def test_connection_refused_is_retried_then_raised() -> None:
    attempts = 0

    async def get() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        async with httpx.AsyncClient() as http:
            return await http.get(f"http://127.0.0.1:{closed_port()}/")

    with capture_logs() as logs, pytest.raises(httpx.ConnectError):
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
        raise httpx.ConnectError("refused")

    policy = RetryPolicy(retries=3, base_s=0.1, max_s=0.15, floor=0.5)
    with capture_logs() as logs, pytest.raises(httpx.ConnectError):
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
