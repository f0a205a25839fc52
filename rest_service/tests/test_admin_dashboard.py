"""The dashboard's health probe: `/readyz`, `/health` for a service without it, a 503 with
its failing checks named, and a service that does not answer shown as down (never hanging);
its queue figures and newest dead letters, and a Redis that does not answer shown as such,
never as 0."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import (
    CHANNEL_DRAFTS,
    DRAFTS,
    TELEGRAM_UPDATES,
    TO_CHANNELS,
    TO_SECRETARY,
    TO_TELEGRAM,
    Names,
)
from common.infrastructure.serve import served_in_this_loop
from common.infrastructure.streams import STREAMS
from ops.infra import free_port
from ops.services import NAMES
from rest_service.app.admin.dashboard import (
    HEALTH_TIMEOUT_S,
    LAST_ERRORS,
    llm_today,
    probe,
    queue_figures,
    service_urls,
    since_label,
)
from rest_service.app.settings import Settings


async def _health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _not_ready(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "not_ready", "failing": ["redis"]}, status_code=503)


async def _plain_503(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("upstream sad", status_code=503)


async def _bare_503(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "starting"}, status_code=503)


OLD = Starlette(routes=[Route("/health", _health)])
FAILING = Starlette(routes=[Route("/readyz", _not_ready), Route("/health", _health)])
PLAIN = Starlette(routes=[Route("/readyz", _plain_503)])
BARE = Starlette(routes=[Route("/readyz", _bare_503)])


def test_the_panel_asks_every_service() -> None:
    settings = Settings(_env_file=None, environment="test")  # type: ignore[call-arg]
    assert list(service_urls(settings)) == list(NAMES)


async def test_a_service_without_readyz_is_asked_its_health() -> None:
    async with served_in_this_loop(OLD, free_port()) as url, client_session() as client:
        found = await probe(client, "old", url)
    assert (found.state, found.probe) == ("ready", "/health")


async def test_a_failing_readiness_names_the_check() -> None:
    async with served_in_this_loop(FAILING, free_port()) as url, client_session() as client:
        found = await probe(client, "svc", url)
    assert found.state == "not ready" and "redis" in found.detail


async def test_a_service_that_does_not_answer_is_down() -> None:
    async with client_session(HEALTH_TIMEOUT_S) as client:
        found = await probe(client, "gone", f"http://127.0.0.1:{free_port()}")
    assert (found.state, found.detail) == ("down", "ConnectError")


async def test_a_service_that_accepts_but_never_answers_is_down_at_the_timeout() -> None:
    """Never hanging: the dashboard's client timeout ends the wait, and the probe says so."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts
        port = silent.getsockname()[1]
        async with client_session(HEALTH_TIMEOUT_S) as client:
            found = await probe(client, "stuck", f"http://127.0.0.1:{port}")
    assert (found.state, found.detail) == ("down", "ReadTimeout")


@pytest.mark.parametrize("app", [PLAIN, BARE], ids=["text body", "no failing checks"])
async def test_a_503_without_named_checks_shows_its_status(app: Starlette) -> None:
    async with served_in_this_loop(app, free_port()) as url, client_session() as client:
        found = await probe(client, "svc", f"{url}/")
    assert (found.state, found.url, found.detail) == ("not ready", url, "HTTP 503")


async def test_queues_show_depth_pending_and_dead_letters_newest_first(
    redis: aioredis.Redis, names: Names
) -> None:
    await redis.xadd(names.stream(TO_SECRETARY), {"data": "{}"})
    await redis.xgroup_create(names.stream(TO_TELEGRAM), "tg_bot", id="0", mkstream=True)
    await redis.xadd(names.stream(TO_TELEGRAM), {"data": "{}"})
    await redis.xreadgroup("tg_bot", "c1", {names.stream(TO_TELEGRAM): ">"})
    dead = names.dead(TELEGRAM_UPDATES)
    await redis.xadd(dead, {"raw_b64": "e30=", "error": "could not queue"}, id="1700000000000-0")
    await redis.xadd(dead, {"raw_b64": "e30="}, id="1700000060000-0")
    # A payload nested past any parser's depth: the entry is still listed, without a reason.
    await redis.xadd(dead, {"data": "[" * 100_000, "error": "x"}, id="1700000120000-0")

    rows, errors, problem = await queue_figures(redis, names)

    assert problem is None
    figures = {r.stream: (r.depth, r.pending, r.dead) for r in rows}
    assert figures == {
        TO_SECRETARY: (1, 0, 0),  # no consumer group yet: nothing is pending
        TO_TELEGRAM: (1, 1, 0),
        TELEGRAM_UPDATES: (None, None, 3),
        DRAFTS: (0, 0, None),
        TO_CHANNELS: (0, 0, 0),
        CHANNEL_DRAFTS: (0, 0, None),
    }
    assert [e.what for e in errors] == [
        "1700000120000-0: no reason given",
        "1700000060000-0: no reason given",
        "1700000000000-0: could not queue",
    ]
    assert errors[-1].when == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert {e.source for e in errors} == {"dead letter on tg_bot:updates"}
    assert len(errors) <= LAST_ERRORS


async def test_the_queues_shown_are_exactly_the_registrys_streams(
    redis: aioredis.Redis, names: Names
) -> None:
    rows, _errors, problem = await queue_figures(redis, names)
    assert problem is None
    assert [r.stream for r in rows] == [w.stream for w in STREAMS]


async def test_a_queue_redis_cannot_read_is_an_error_not_a_zero(
    redis: aioredis.Redis, names: Names
) -> None:
    await redis.xadd(names.stream(TO_SECRETARY), {"data": "{}"})
    await redis.set(names.stream(TO_TELEGRAM), "not a stream")
    rows, _errors, problem = await queue_figures(redis, names)
    assert problem is not None and problem.startswith("ResponseError: WRONGTYPE")
    assert [r.stream for r in rows] == [TO_SECRETARY]  # the figures read before it


async def test_without_redis_the_llm_figures_are_unknown_not_zero(names: Names) -> None:
    gone = aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}")
    try:
        now = datetime.now(UTC)
        assert await llm_today(gone, names, now, now) is None
        _rows, _errors, problem = await queue_figures(gone, names)
    finally:
        await gone.aclose()
    assert problem is not None and problem.startswith("ConnectionError")


def test_lateness_reads_in_seconds_then_as_a_duration() -> None:
    assert since_label(None) == "–"
    assert since_label(3.14) == "3.1 s"
    assert since_label(119.9) == "119.9 s"
    assert since_label(3725) == "1:02:05"
