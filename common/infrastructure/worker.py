"""What every asyncio worker does around its own work: logging, Redis, /health, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis

from common.infrastructure.http import HealthServer
from common.infrastructure.logging import configure_logging, get_logger
from common.infrastructure.metrics import SERVICE_STARTS
from common.infrastructure.queue_metrics import QueueGauges
from common.infrastructure.redis_connection import create_redis_for, redis_health
from common.infrastructure.redis_keys import Names
from common.infrastructure.settings import ServiceSettings
from common.infrastructure.streams import CONSUMED
from common.infrastructure.tracing import configure_tracing

log = get_logger(__name__)


@dataclass
class WorkerRuntime:
    """What every worker service runs on: its settings, Redis, key names, health server and
    the stop signal."""

    service: str
    settings: ServiceSettings
    redis: aioredis.Redis
    names: Names
    health: HealthServer
    stop: asyncio.Event


@asynccontextmanager
async def worker_runtime(
    service: str, settings: ServiceSettings, stop: asyncio.Event
) -> AsyncIterator[WorkerRuntime]:
    """Opens Redis and the health server; closes both on the way out."""
    configure_logging(settings, service)
    configure_tracing(settings, service)
    redis = create_redis_for(settings)
    health = HealthServer(service, settings.http_host, settings.port)
    health.add_check("redis", lambda: redis_health(redis))
    health.add_readiness("redis", redis.ping)
    await health.start()
    SERVICE_STARTS.labels(service).inc()
    log.info("service_started", port=settings.port)
    queue_gauges = QueueGauges(redis, Names(settings.redis_key_prefix), CONSUMED.get(service, ()))
    queue_gauges.start()
    try:
        yield WorkerRuntime(
            service, settings, redis, Names(settings.redis_key_prefix), health, stop
        )
    finally:
        await queue_gauges.stop()
        await health.stop()
        await redis.aclose()
        log.info("service_stopped")
