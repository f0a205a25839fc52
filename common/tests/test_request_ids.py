"""One id from a queue entry through HTTP (common/infrastructure/web_observability.py): a worker
handling a message calls google_calendar_service, which calls rest_service (a real uvicorn server);
every service's log lines and every answer carry the message's id. Also: the request log line, the
id taken from or made for a caller, and request metrics by route template."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import redis.asyncio as aioredis
import structlog
from fastapi import FastAPI
from prometheus_client import REGISTRY

from common.features.calendar_client import CalendarClient
from common.infrastructure.logging import REQUEST_ID_HEADER, get_logger, reset_logging
from common.infrastructure.queue import ConsumerConfig, StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.serve import served_in_this_loop
from google_calendar_service.src.main import create_app as create_calendar_app
from ops.infra import free_port
from rest_service.app.main import app as rest_app
from rest_service.app.main import create_app as create_rest_app
from tests.harness import REST_LOOPS_OFF

STREAM = "queue:request_ids_test"
REST_PORT = free_port()
#: The uvicorn server shares the test's event loop (and, under load, a slow machine): once it
#: did not answer /health within httpx's default 5 s.
TIMEOUT = httpx.Timeout(30.0)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "services.log"


@pytest.fixture
def service_env(service_env: dict[str, str], log_file: Path) -> dict[str, str]:
    """Both services log JSON lines at INFO into one file; google_calendar_service calls the
    rest_service this test serves."""
    return {
        **service_env,
        **REST_LOOPS_OFF,  # an app in the test's loop: its loops would only compete with it
        "LOG_FILE": str(log_file),
        "LOG_LEVEL": "INFO",
        "REST_SERVICE_URL": f"http://127.0.0.1:{REST_PORT}",
    }


def lines(log_file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]


@pytest.fixture
async def rest_server(settings_env: dict[str, str]) -> AsyncIterator[str]:
    """rest_service in uvicorn: its lifespan and each request run in tasks of their own."""
    try:
        async with served_in_this_loop(rest_app, REST_PORT) as url:
            yield url
    finally:
        reset_logging()


@pytest.fixture
async def calendar_app(rest_server: str) -> AsyncIterator[FastAPI]:
    app = create_calendar_app()
    async with app.router.lifespan_context(app):
        yield app


def asgi(app: FastAPI, **kwargs: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://calendar", **kwargs)


async def test_a_message_id_travels_from_the_worker_through_both_services(
    rest_server: str,
    calendar_app: FastAPI,
    settings_env: dict[str, str],
    redis: aioredis.Redis,
    names: Names,
    log_file: Path,
) -> None:
    token = settings_env["SERVICE_API_TOKEN"]
    rest = RestClient(rest_server, token)
    user, _ = await rest.get_or_create_user(700_000_000 + uuid.uuid4().int % 10**8)
    message_id = uuid.uuid4()
    answers: list[str | None] = []
    done = asyncio.Event()
    worker_log = get_logger("worker")

    async def answered(_: object, __: object, request: aiohttp.TraceRequestEndParams) -> None:
        answers.append(request.response.headers.get(REQUEST_ID_HEADER))

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(answered)
    async with (
        served_in_this_loop(calendar_app, free_port(), lifespan="off") as calendar_url,
        aiohttp.ClientSession(trace_configs=[trace]) as http,
    ):
        calendar = CalendarClient(http, calendar_url, token, timeout=10)

        async def handle(message: OutgoingMessage) -> None:
            structlog.contextvars.bind_contextvars(service="worker")
            status = await calendar.status(str(user.id))
            worker_log.info("worker_handled", connected=status.connected)
            done.set()

        consumer = StreamConsumer(
            redis, names, STREAM, "test", OutgoingMessage, handle, config=ConsumerConfig()
        )
        await StreamPublisher(redis, names).publish(
            STREAM, OutgoingMessage(message_id=message_id, chat_id=1, text="hi")
        )
        running = asyncio.create_task(consumer.run())
        await asyncio.wait_for(done.wait(), 10)
        consumer.stop()
        await running
    await rest.aclose()

    assert answers == [str(message_id)]
    mine = [line for line in lines(log_file) if line.get("correlation_id") == str(message_id)]
    by_service = {(line["service"], line["event"], line.get("route")) for line in mine}
    assert ("worker", "worker_handled", None) in by_service
    assert ("google_calendar_service", "http_request", "/auth/status/{user_id}") in by_service
    assert ("rest_service", "http_request", "/api/users/{user_id}") in by_service
    request_line = next(line for line in mine if line.get("route") == "/api/users/{user_id}")
    assert request_line["method"] == "GET" and request_line["status"] == 200
    assert request_line["level"] == "info" and request_line["duration_ms"] >= 0


UNSAFE = [None, "", "a" * 129, "bad id with spaces", "tab\there", "ünïcode", "<script>", "a/b"]


async def test_an_unsafe_or_missing_request_id_is_replaced(rest_server: str) -> None:
    async with httpx.AsyncClient(base_url=rest_server, timeout=TIMEOUT) as http:
        for sent in UNSAFE:
            raw = {} if sent is None else {REQUEST_ID_HEADER.encode(): sent.encode()}
            made = (await http.get("/health", headers=raw)).headers[REQUEST_ID_HEADER]
            assert made != sent and len(made) == 32 and int(made, 16) >= 0, sent


async def test_a_safe_request_id_is_kept_and_echoed_even_on_a_refusal(rest_server: str) -> None:
    async with httpx.AsyncClient(base_url=rest_server, timeout=TIMEOUT) as http:
        ok = await http.get("/health", headers={REQUEST_ID_HEADER: "proxy-1.2:3_x"})
        refused = await http.get("/api/users/", headers={REQUEST_ID_HEADER: "r-401"})
    assert ok.headers[REQUEST_ID_HEADER] == "proxy-1.2:3_x"
    assert refused.status_code == 401 and refused.headers[REQUEST_ID_HEADER] == "r-401"


def requests_seen(service: str, method: str, handler: str, status: str) -> float:
    labels = {"service": service, "method": method, "handler": handler, "status": status}
    return REGISTRY.get_sample_value("smart_assistant_http_requests_total", labels) or 0.0


async def test_requests_are_counted_and_timed_by_route_template(
    rest_server: str, calendar_app: FastAPI, settings_env: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {settings_env['SERVICE_API_TOKEN']}"}
    route = "/api/users/{user_id}"
    before = requests_seen("rest_service", "GET", route, "404")
    unknown = requests_seen("rest_service", "GET", "none", "404")
    async with httpx.AsyncClient(base_url=rest_server, headers=auth, timeout=TIMEOUT) as http:
        for _ in range(3):
            assert (await http.get(f"/api/users/{uuid.uuid4()}")).status_code == 404
        assert (await http.get(f"/no/such/{uuid.uuid4()}")).status_code == 404
        admin_before = requests_seen("rest_service", "GET", "/admin/login", "200")
        assert (await http.get("/admin/login")).status_code == 200
        scraped = (await http.get("/metrics")).text
    # behind a mount (the admin), the template keeps the mount's prefix
    assert requests_seen("rest_service", "GET", "/admin/login", "200") == admin_before + 1
    assert requests_seen("rest_service", "GET", route, "404") == before + 3
    assert requests_seen("rest_service", "GET", "none", "404") == unknown + 1
    assert "/api/users/" + "0" not in scraped and "/no/such" not in scraped
    timed = REGISTRY.get_sample_value(
        "smart_assistant_http_request_duration_seconds_count",
        {"service": "rest_service", "method": "GET", "handler": route},
    )
    assert timed is not None and timed >= 3

    calendar_before = requests_seen("google_calendar_service", "GET", "/health", "200")
    async with asgi(calendar_app) as http:
        assert (await http.get("/health")).status_code == 200
    assert requests_seen("google_calendar_service", "GET", "/health", "200") == calendar_before + 1


async def test_an_unhandled_error_answers_500_with_the_request_id_and_logs_it(
    log_file: Path, settings_env: dict[str, str]
) -> None:
    """Starlette writes that 500 outside every middleware: it went without the header, and
    the error's log line without the request's id. The line has the error's message, with
    the token in it redacted."""
    app = create_rest_app()

    secret = f"tok{uuid.uuid4().hex}"

    @app.get("/api/boom")
    async def boom() -> None:
        raise RuntimeError(f"the upstream refused access_token={secret} for this call")

    auth = {"Authorization": f"Bearer {settings_env['SERVICE_API_TOKEN']}"}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://rest", headers=auth) as http,
        ):
            answer = await http.get("/api/boom", headers={REQUEST_ID_HEADER: "req-500"})
    finally:
        reset_logging()
    assert answer.status_code == 500 and answer.json()["error"] == "internal_error"
    assert answer.headers[REQUEST_ID_HEADER] == "req-500"
    logged = await asyncio.to_thread(log_file.read_text)
    errors = [line for line in lines(log_file) if line["event"] == "unhandled_error"]
    assert errors and errors[-1]["correlation_id"] == "req-500"
    assert errors[-1]["error"] == "RuntimeError"
    assert errors[-1]["message"] == "the upstream refused access_token=[redacted] for this call"
    assert secret not in logged
