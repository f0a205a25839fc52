"""`/livez` and `/readyz` on every service, as processes: live without asking anything, ready
only while the dependencies answer, and a dead dependency named in a 503 within the probe's
timeout (real outages: a port where nothing listens, a proxy to Redis that is cut)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ops.infra import free_port
from ops.processes import Stack
from ops.services import NAMES
from tests.tcp_proxy import TcpProxy
from tests.waiting import NotInTime, until_sync

#: What each service's readiness waits for (docs/deploy.md "Kubernetes").
READINESS = {
    "rest_service": {"postgres"},
    "google_calendar_service": {"redis", "rest_service"},
    "assistant": {"redis", "rest_service", "config"},
    "cron_service": {"redis", "rest_service"},
    "tg_bot": {"redis"},
    "channels": {"redis"},
}
#: The manifests' probe timeout: a dead dependency must be reported within it.
PROBE_TIMEOUT_S = 3.0


class ThreadedProxy:
    """A TcpProxy on its own event loop in a thread, for tests whose services are processes
    started with blocking calls."""

    def __init__(self, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.proxy = TcpProxy("127.0.0.1", port)

    def _run(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def up(self) -> None:
        self._run(self.proxy.start())

    def down(self) -> None:
        self._run(self.proxy.stop())

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


@pytest.fixture
def redis_proxy(service_env: dict[str, str]) -> Iterator[ThreadedProxy]:
    port = httpx.URL(service_env["REDIS_URL"]).port or 6379
    proxy = ThreadedProxy(port)
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.close()


def probe(url: str) -> httpx.Response:
    """A probe as the kubelet sends it: unanswered within the manifests' timeoutSeconds, it
    fails (httpx raises)."""
    return httpx.get(url, timeout=PROBE_TIMEOUT_S)


def wait_ready(url: str, want: int, timeout: float = 20.0) -> dict[str, Any]:
    def readiness() -> httpx.Response:
        return httpx.get(f"{url}/readyz", timeout=10)

    with contextlib.suppress(NotInTime):
        until_sync(lambda: readiness().status_code == want, timeout, f"/readyz {want}")
    response = readiness()
    assert response.status_code == want, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def healthy(module_rest_service: Stack) -> Stack:
    """rest_service on healthy dependencies, once for the module; each test adds the service
    it probes, and none stops rest_service."""
    return module_rest_service


@pytest.mark.parametrize("service", NAMES)
def test_every_service_is_live_and_ready_without_a_token(healthy: Stack, service: str) -> None:
    process = healthy[service] if service == "rest_service" else healthy.start(service)
    live = httpx.get(f"{process.url}/livez")
    assert live.status_code == 200
    assert live.json() == {"status": "ok", "service": service}
    ready = wait_ready(process.url, 200)
    assert ready["status"] == "ready"
    assert ready["service"] == service
    assert ready["failing"] == []
    assert set(ready["checks"]) == READINESS[service]
    assert all(check == {"ok": True} for check in ready["checks"].values())


def test_rest_service_without_postgres_is_live_but_not_ready(stack: Stack) -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nowhere"
    rest = stack.start("rest_service", env={"ASYNC_DATABASE_URL": dead})
    ready = probe(f"{rest.url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["failing"] == ["postgres"]
    assert ready.json()["checks"]["postgres"]["ok"] is False
    assert httpx.get(f"{rest.url}/livez").status_code == 200
    health = httpx.get(f"{rest.url}/health")  # unchanged: 200, and says what is down
    assert (health.status_code, health.json()["postgres"]) == (200, "down")
    # whoever needs rest_service is not ready either, and says which dependency failed
    calendar = stack.start("google_calendar_service")
    body = wait_ready(calendar.url, 503)
    assert body["failing"] == ["rest_service"]
    assert body["checks"]["redis"] == {"ok": True}


@pytest.mark.parametrize("service", ["cron_service", "google_calendar_service"])
def test_without_redis_a_service_is_live_not_ready_and_ready_again(
    healthy: Stack, redis_proxy: ThreadedProxy, service: str
) -> None:
    redis_url = httpx.URL(healthy.env["REDIS_URL"]).copy_with(port=redis_proxy.proxy.port)
    env = {"REDIS_URL": str(redis_url)}
    process = healthy.start(service, name=f"{service}-behind-a-proxy", env=env)
    try:
        wait_ready(process.url, 200)
        redis_proxy.down()
        ready = probe(f"{process.url}/readyz")
        assert ready.status_code == 503
        assert ready.json()["failing"] == ["redis"]
        assert ready.json()["checks"]["rest_service"] == {"ok": True}
        assert probe(f"{process.url}/livez").status_code == 200
        redis_proxy.up()
        assert wait_ready(process.url, 200)["failing"] == []
    finally:
        process.stop()


def test_rest_service_without_redis_stays_ready(stack: Stack) -> None:
    """It answers from Postgres then; only /health says so."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    rest = stack.start("rest_service", env={"REDIS_URL": dead})
    ready = probe(f"{rest.url}/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"postgres"}
    health = httpx.get(f"{rest.url}/health", timeout=10).json()
    assert (health["status"], health["redis"]) == ("degraded", "down")


def test_workers_are_not_ready_while_rest_service_is_down(stack: Stack) -> None:
    rest = stack.start("rest_service")
    cron = stack.start("cron_service")
    wait_ready(cron.url, 200)
    rest.stop()
    body = wait_ready(cron.url, 503)
    assert body["failing"] == ["rest_service"]
    assert httpx.get(f"{cron.url}/livez").status_code == 200
    stack.restart("rest_service")
    wait_ready(cron.url, 200)
