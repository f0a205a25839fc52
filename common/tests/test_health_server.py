"""A worker's own HTTP server (tg_bot, cron_service, the assistant), in-process: /health with
each check's error named, the probes, /metrics, and the POST routes a worker adds."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.infrastructure.http import HealthServer
from common.infrastructure.probes import ExplainedFailure


class RedisDown(Exception):
    pass


@pytest.fixture
async def server() -> AsyncIterator[tuple[HealthServer, TestClient]]:
    health = HealthServer("worker", "127.0.0.1", 0)
    async with TestClient(TestServer(health.app)) as http:
        yield health, http


async def test_health_is_ok_until_a_check_fails_and_then_names_it(
    server: tuple[HealthServer, TestClient],
) -> None:
    health, http = server

    async def queue() -> dict[str, object]:
        return {"pending": 3}

    health.add_check("queue", queue)
    answer = await http.get("/health")
    body = await answer.json()
    assert answer.status == 200
    assert (body["status"], body["service"]) == ("ok", "worker")
    assert body["checks"] == {"queue": {"ok": True, "pending": 3}}

    async def redis() -> dict[str, object]:
        raise RedisDown("connection refused")

    health.add_check("redis", redis)
    answer = await http.get("/health")
    body = await answer.json()
    assert answer.status == 503 and body["status"] == "degraded"
    assert body["checks"]["redis"] == {"ok": False, "error": "RedisDown: connection refused"}


async def test_the_probes_say_live_and_name_what_is_not_ready(
    server: tuple[HealthServer, TestClient],
) -> None:
    health, http = server
    live = await http.get("/livez")
    assert (live.status, await live.json()) == (200, {"status": "ok", "service": "worker"})
    ready = await http.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"

    async def rest_service() -> None:
        raise ExplainedFailure("rest_service answers 503; is Postgres up?")

    health.add_readiness("rest_service", rest_service)
    ready = await http.get("/readyz")
    body = await ready.json()
    assert ready.status == 503
    assert body["failing"] == ["rest_service"]
    assert body["checks"]["rest_service"]["error"] == (
        "ExplainedFailure: rest_service answers 503; is Postgres up?"
    )


async def test_metrics_are_prometheus_text(server: tuple[HealthServer, TestClient]) -> None:
    _health, http = server
    answer = await http.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert "# TYPE" in await answer.text()


async def test_a_post_route_added_while_serving_answers_and_others_are_404(
    server: tuple[HealthServer, TestClient],
) -> None:
    health, http = server
    assert (await http.post("/drain")).status == 404

    async def drain(request: web.Request) -> web.Response:
        return web.json_response({"drained": await request.json()})

    health.add_post("/drain", drain)
    answer = await http.post("/drain", json={"queue": "to_telegram"})
    assert answer.status == 200
    assert await answer.json() == {"drained": {"queue": "to_telegram"}}
    assert (await http.post("/other")).status == 404
