"""What cron_service tells an operator when its dependencies fail, in-process: /health names
a scheduler that is not running or a rest_service it cannot sync with, and a Redis that is
down costs a heartbeat or a sweep, never the service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from structlog.testing import capture_logs
from structlog.typing import EventDict

from common.infrastructure.http import HealthServer
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.worker import WorkerRuntime
from cron_service.app.main import CronService
from cron_service.app.settings import Settings
from ops.infra import free_port
from tests.waiting import until


def settings_for(key_prefix: str, **overrides: str) -> Settings:
    return Settings.model_validate(
        {"environment": "test", "redis_key_prefix": key_prefix, **overrides}
    )


@asynccontextmanager
async def service(
    redis: aioredis.Redis, settings: Settings
) -> AsyncIterator[tuple[CronService, TestClient, asyncio.Event]]:
    """A CronService whose rest_service is an address nothing listens on, its /health served
    in-process."""
    stop = asyncio.Event()
    health = HealthServer("cron_service", "127.0.0.1", 0)
    ctx = WorkerRuntime(
        "cron_service", settings, redis, Names(settings.redis_key_prefix), health, stop
    )
    async with (
        RestClient(f"http://127.0.0.1:{free_port()}", "token", retries=0) as rest,
        TestClient(TestServer(health.app)) as http,
    ):
        yield CronService(ctx, settings, rest), http, stop


async def scheduler_check(http: TestClient) -> tuple[int, dict[str, object]]:
    response = await http.get("/health")
    body = await response.json()
    return response.status, body["checks"]["scheduler"]


async def stopped(stop: asyncio.Event, run: asyncio.Task[None]) -> None:
    stop.set()
    await asyncio.wait_for(run, 30)


def logged(logs: list[EventDict], event: str) -> Callable[[], Awaitable[bool]]:
    async def seen() -> bool:
        return any(entry["event"] == event for entry in logs)

    return seen


async def test_health_says_when_rest_service_has_not_been_reached(
    redis: aioredis.Redis, key_prefix: str
) -> None:
    settings = settings_for(key_prefix, cron_resync_interval="0.1s")
    async with service(redis, settings) as (cron, http, stop):
        cron._ctx.health.add_check("scheduler", cron.health)
        status, check = await scheduler_check(http)
        assert status == 503
        assert check == {
            "ok": False,
            "error": "SchedulerUnhealthy: the scheduler is not running",
        }
        with capture_logs() as logs:
            run = asyncio.create_task(cron.run())
            await until(logged(logs, "sync_failed"), 20, "a failed sync logged")

            async def never_synced() -> str:
                status, check = await scheduler_check(http)
                return str(check.get("error", "")) if status == 503 else ""

            error = await until(never_synced, 20, "health reporting no sync")
            assert error.startswith("SchedulerUnhealthy: no sync with rest_service for ")
            assert error.endswith("(last: never)")
            await stopped(stop, run)
    failure = next(entry for entry in logs if entry["event"] == "sync_failed")
    assert failure["error_type"] == "RestServiceUnavailable"


async def test_a_redis_that_is_down_costs_heartbeats_and_sweeps_not_the_service(
    key_prefix: str,
) -> None:
    settings = settings_for(key_prefix, cron_recovery_interval="0.05s")
    down = aioredis.Redis(
        host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), 0), socket_connect_timeout=1
    )
    try:
        async with service(down, settings) as (cron, _http, stop):
            with capture_logs() as logs:
                run = asyncio.create_task(cron.run())
                await until(logged(logs, "recovery_failed"), 20, "a failed sweep logged")
                assert not run.done()
                await stopped(stop, run)  # a clean stop: the leave fails, the run does not
    finally:
        await down.aclose()
    events = [entry["event"] for entry in logs]
    assert "replica_heartbeat_failed" in events
    assert "replica_leave_failed" in events


async def test_a_message_on_cron_updated_that_names_no_job_asks_for_everything(
    redis: aioredis.Redis, key_prefix: str
) -> None:
    async with service(redis, settings_for(key_prefix)) as (cron, _http, _stop):
        cron._on_jobs_changed('{"job_id": "j1", "change": "updated"}')
        assert (cron._changed, cron._full, cron._wanted.is_set()) == ({"j1"}, False, True)
        for noise in ["not json", "[1]", '{"change": "deleted"}', "null"]:
            cron._full = False
            cron._on_jobs_changed(noise)
            assert cron._full, noise
        assert cron._changed == {"j1"}
