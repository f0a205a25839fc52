"""The assistant worker: consumes `queue:to_secretary`, answers to each message's
`reply_stream`. On SIGTERM it stops reading and finishes (or releases) what is in flight."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.clients.llm import LlmGateway
from assistant.src.clients.llm_breaker import circuit_breaker
from assistant.src.event_alerts import EventAlerts
from assistant.src.live_config.watcher import ConfigWatcher
from assistant.src.orchestrator import Orchestrator
from assistant.src.settings import Settings
from assistant.src.tools import tool_classes
from assistant.src.tools.base import ToolServices
from common.features.limits import TokenBudget
from common.features.llm_stats import LlmStats
from common.infrastructure.http_client import client_session
from common.infrastructure.logging import get_logger
from common.infrastructure.queue import ConsumerConfig, StreamConsumer
from common.infrastructure.queue_messages import IncomingMessage
from common.infrastructure.redis_keys import ASSISTANT_GROUP, TO_SECRETARY
from common.infrastructure.rest_client import RestClient
from common.infrastructure.settings import load_settings
from common.infrastructure.wire import ConfigSnapshot
from common.infrastructure.worker import WorkerRuntime, worker_runtime

log = get_logger(__name__)


@dataclass
class Runtime:
    """The long-lived clients of one process."""

    rest: RestClient
    http: aiohttp.ClientSession
    llm: LlmGateway
    config: ConfigWatcher
    orchestrator: Orchestrator


@asynccontextmanager
async def runtime(ctx: WorkerRuntime, settings: Settings) -> AsyncIterator[Runtime]:
    """Opens the clients the orchestrator needs and closes them on the way out."""
    async with (
        RestClient(settings.rest_service_url, settings.own_service_token) as rest,
        client_session() as http,
    ):
        breaker = circuit_breaker(settings, ctx.redis, ctx.names)
        stats = LlmStats(ctx.redis, ctx.names)
        llm = LlmGateway(settings, rest.get_provider_api_key, breaker, stats)

        def on_change(_snapshot: ConfigSnapshot) -> None:
            llm.forget_keys()

        config = ConfigWatcher(
            rest,
            ctx.redis,
            ctx.names,
            poll_seconds=settings.config_poll_seconds,
            on_change=on_change,
        )
        services = ToolServices(settings, ctx.redis, ctx.names, rest, http)
        budget = TokenBudget(ctx.redis, ctx.names, settings.llm_daily_token_budget)
        orchestrator = Orchestrator(
            settings=settings,
            redis=ctx.redis,
            names=ctx.names,
            deps=AssistantDeps(settings, rest, llm, budget),
            services=services,
            config=config,
        )
        try:
            yield Runtime(rest, http, llm, config, orchestrator)
        finally:
            await llm.aclose()


def consumer_config(settings: Settings) -> ConsumerConfig:
    return ConsumerConfig(
        concurrency=settings.assistant_concurrency,
        claim_idle_ms=settings.queue_claim_idle_ms,
        claim_interval_s=settings.queue_claim_interval_seconds,
        lock_ttl_ms=settings.queue_lock_ttl_ms,
        max_deliveries=settings.queue_max_deliveries,
    )


async def main(stop: asyncio.Event) -> None:
    settings = load_settings(Settings)
    async with worker_runtime("assistant", settings, stop) as ctx, runtime(ctx, settings) as rt:
        ctx.health.add_check("config", lambda: _config_health(rt.config))
        ctx.health.add_readiness("rest_service", rt.rest.ready)
        ctx.health.add_readiness("config", lambda: _config_health(rt.config))
        tool_classes()
        await rt.llm.warm_up()
        if not await rt.config.load(stop):
            return
        consumer = StreamConsumer(
            ctx.redis,
            ctx.names,
            TO_SECRETARY,
            ASSISTANT_GROUP,
            IncomingMessage,
            rt.orchestrator.handle,
            config=consumer_config(settings),
            on_dead=rt.orchestrator.dead_lettered,
            on_duplicate=rt.orchestrator.dropped,
        )
        watching = asyncio.create_task(rt.config.run(stop))
        consuming = asyncio.create_task(consumer.run())
        alerting = asyncio.create_task(event_alerts(ctx, settings, rt).run(stop))
        await stop.wait()
        consumer.stop()
        await consuming
        await consumer.drain(settings.shutdown_grace_seconds)
        await rt.orchestrator.close()
        watching.cancel()
        alerting.cancel()  # an alert not yet claimed is sent by the next sweep, anywhere
        with contextlib.suppress(asyncio.CancelledError):
            await watching
            await alerting


def event_alerts(ctx: WorkerRuntime, settings: Settings, rt: Runtime) -> EventAlerts:
    calendar = ToolServices(settings, ctx.redis, ctx.names, rt.rest, rt.http).calendar
    interval = timedelta(seconds=settings.event_alert_interval_seconds)
    return EventAlerts(rt.rest, calendar, ctx.redis, ctx.names, interval)


async def _config_health(config: ConfigWatcher) -> dict[str, object]:
    """Not healthy until the first snapshot is in: nothing can be answered before."""
    return {"version": config.current.version}
