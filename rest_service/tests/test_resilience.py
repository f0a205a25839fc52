"""Dependencies that fail: Postgres down is a clear 503 and the service recovers without a
restart; Redis down leaves the API answering from Postgres and /health saying so. Each
drill cuts a proxy in front of the shared server, never the server itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from rest_service.app import database
from rest_service.app.main import create_app
from rest_service.app.settings import Settings
from rest_service.tests.conftest import assert_error, unique
from tests.tcp_proxy import TcpProxy


def _via(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    return parts._replace(
        netloc=parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    ).geturl()


async def _proxy_for(url: str) -> TcpProxy:
    parts = urlsplit(url.replace("+asyncpg", ""))
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    return proxy


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rest")


@pytest.fixture
async def postgres_proxy(settings: Settings) -> AsyncIterator[tuple[TcpProxy, FastAPI]]:
    proxy = await _proxy_for(settings.async_database_url)
    app = create_app(
        settings.model_copy(update={"async_database_url": _via(settings.async_database_url, proxy)})
    )
    async with app.router.lifespan_context(app):
        yield proxy, app
    await proxy.stop()


@pytest.fixture
async def redis_proxy(settings: Settings) -> AsyncIterator[tuple[TcpProxy, FastAPI]]:
    proxy = await _proxy_for(settings.redis_url)
    app = create_app(settings.model_copy(update={"redis_url": _via(settings.redis_url, proxy)}))
    async with app.router.lifespan_context(app):
        yield proxy, app
    await proxy.stop()


async def test_postgres_down_is_503_and_recovers_without_restart(
    postgres_proxy, admin, service
) -> None:
    proxy, app = postgres_proxy
    async with await _client(app) as client:
        assert (await client.get("/api/users/", headers=service)).status_code == 200

        await proxy.stop()
        for method, path, body in (
            ("GET", "/api/users/", None),
            ("GET", "/api/config", None),
            ("POST", "/api/assistants/", {"name": unique("a")}),
        ):
            response = await client.request(method, path, json=body, headers=admin)
            detail = assert_error(response, 503, "service_unavailable")["detail"]
            assert "database unavailable" in detail
        health = (await client.get("/health")).json()
        assert health["status"] == "degraded" and health["postgres"] == "down"
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["failing"]) == (503, ["postgres"])

        await proxy.start()
        assert (await client.get("/api/users/", headers=service)).status_code == 200
        assert (await client.get("/health")).json()["postgres"] == "ok"
        assert (await client.get("/readyz")).status_code == 200


async def test_redis_down_the_api_answers_from_postgres_and_health_says_so(
    redis_proxy, admin, service
) -> None:
    proxy, app = redis_proxy
    async with await _client(app) as client:
        before = (await client.get("/api/config", headers=service)).json()["version"]

        await proxy.stop()
        made = await client.post("/api/assistants/", json={"name": unique("a")}, headers=admin)
        assert made.status_code == 201
        snapshot = await client.get("/api/config", headers=service)
        assert snapshot.status_code == 200 and snapshot.json()["version"] == before + 1
        health = (await client.get("/health")).json()
        assert health["status"] == "degraded" and health["redis"] == "down"
        assert health["config_cache"] == "postgres only"

        await proxy.start()
        health = (await client.get("/health")).json()
        assert health == {**health, "status": "ok", "redis": "ok"}
        await client.post("/api/assistants/", json={"name": unique("a")}, headers=admin)
        assert (await client.get("/api/config", headers=service)).json()["version"] == before + 2


async def test_an_idle_connection_broken_by_a_restart_is_replaced_before_use(
    postgres_proxy, service, monkeypatch
) -> None:
    """No pre-ping on every checkout (three round trips a request): only a connection idle
    longer than `IDLE_PING_S` is pinged, so a restart during a quiet spell costs no 503."""
    proxy, app = postgres_proxy
    async with await _client(app) as client:
        assert (await client.get("/api/users/", headers=service)).status_code == 200
        monkeypatch.setattr(database, "IDLE_PING_S", 0.0)
        await proxy.stop()
        await proxy.start()
        assert (await client.get("/api/users/", headers=service)).status_code == 200
