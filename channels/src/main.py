"""The channels FastAPI application: the adapters of the configured channels (their routes
and loops) and the worker that sends their answers from `queue:to_channels`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.types import Scope

from channels.src.adapters.api.adapter import FILES
from channels.src.adapters.base import Adapter, AdapterContext
from channels.src.adapters.registry import ADAPTERS, AdapterRegistry
from channels.src.adapters.web_drafts import DraftReader
from channels.src.intake import Intake
from channels.src.settings import Settings
from channels.src.state import STATE, ChannelsState
from channels.src.workers.outgoing import AnswerSender
from common.features.blobs import RedisFull
from common.infrastructure import web, web_observability
from common.infrastructure.body_limit import BodyLimitMiddleware
from common.infrastructure.channels import Channel
from common.infrastructure.logging import configure_logging, get_logger
from common.infrastructure.metrics import SERVICE_STARTS
from common.infrastructure.probes import ReadinessCheck
from common.infrastructure.queue_metrics import QueueGauges
from common.infrastructure.redis_connection import create_redis_for, redis_health
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.streams import CONSUMED
from common.infrastructure.tracing import configure_tracing

log = get_logger(__name__)

SERVICE = "channels"
HEALTH_TIMEOUT_S = 2.0


@asynccontextmanager
async def _running(
    app: FastAPI, settings: Settings, adapters: Mapping[Channel, type[Adapter]]
) -> AsyncIterator[ChannelsState]:
    """Opens Redis, starts the channels and the sender; on the way out (SIGTERM: uvicorn
    ends the lifespan) the sender finishes or hands back its answers within the grace,
    then the adapters stop."""
    configure_logging(settings, SERVICE)
    configure_tracing(settings, SERVICE)
    redis = create_redis_for(settings)
    names = Names(settings.redis_key_prefix)
    rest = RestClient(settings.rest_service_url, settings.own_service_token)
    intake = Intake(rest, redis, names, settings.rate_limit_messages_per_minute)
    registry = AdapterRegistry(AdapterContext(settings, redis, names, intake, rest), adapters)
    await registry.start()
    for router in registry.routers():  # routes of the channels that run, and only theirs
        app.include_router(router)
    sender = AnswerSender(registry).consumer(redis, names, settings)
    sending = asyncio.create_task(sender.run(), name="channels-sender")
    # Drafts from `queue:channel_drafts`, best effort: one replica shows each (a consumer
    # group), each to its channel; the final answer replaces them whatever became of them.
    drafting = (
        asyncio.create_task(DraftReader(redis, names, registry.show_draft).run(), name="drafts")
        if registry.shows_drafts
        else None
    )
    gauges = QueueGauges(redis, names, CONSUMED[SERVICE])
    gauges.start()
    SERVICE_STARTS.labels(SERVICE).inc()
    log.info("service_started", port=settings.port, channels=registry.states())
    try:
        yield ChannelsState(settings, redis, names, registry, sender, sending)
    finally:
        sender.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        if drafting is not None:
            drafting.cancel()
            await asyncio.gather(drafting, return_exceptions=True)
        await sender.drain(settings.shutdown_grace_seconds)
        await registry.stop(settings.shutdown_grace_seconds)
        await gauges.stop()
        await rest.aclose()
        await redis.aclose()
        log.info("service_stopped")


async def _redis_check(state: ChannelsState) -> dict[str, object]:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            return {"ok": True, **await redis_health(state.redis)}
    except Exception as exc:  # health reports a failure, it never raises one
        return {"ok": False, "error": type(exc).__name__}


def _sender_check(state: ChannelsState) -> dict[str, object]:
    if state.sending.done():
        return {"ok": False, "error": "the queue:to_channels consumer stopped"}
    return {"ok": True, "in_flight": state.sender.in_flight}


async def health(request: Request) -> JSONResponse:
    """Each channel's state (a channel that is off is no fault: it says why); 503 when Redis
    is down, the sender stopped, or a configured channel failed to start or is down."""
    state = STATE.of_app(request.app)
    redis = await _redis_check(state)
    sender = _sender_check(state)
    healthy = bool(redis["ok"]) and bool(sender["ok"]) and not state.registry.failed
    body = {
        "status": "ok" if healthy else "degraded",
        "service": SERVICE,
        "channels": state.registry.states(),
        "checks": {"redis": redis, "sender": sender},
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


def readiness_checks(app: Starlette) -> dict[str, ReadinessCheck]:
    """Redis: every message in and every answer out goes through it."""
    return {"redis": STATE.of_app(app).redis.ping}


async def _store_unreachable(_request: Request, exc: Exception) -> JSONResponse:
    """Redis down or full: every route's message or answer waits on it, so the caller is
    told to try again (a platform's webhook then delivers again), never a 500."""
    log.warning("redis_unavailable", error=type(exc).__name__)
    return web.error_response(503, "service_unavailable", "the queue is unreachable; try again")


def body_limit(scope: Scope) -> int:
    """A file given to the public API may be as large as an attachment; any other body (a
    webhook, a chat message) is small."""
    settings = STATE.of_app(scope["app"]).settings
    if str(scope["path"]).rstrip("/") == FILES:
        return settings.api_attachment_max_bytes
    return settings.max_request_body_bytes


def create_app(
    settings: Settings | None = None, adapters: Mapping[Channel, type[Adapter]] = ADAPTERS
) -> FastAPI:
    """`adapters`: the adapter class of each channel (by default the ones written so far)."""
    app = FastAPI(
        title="Channels",
        description="The secretary's channels beside Telegram: WhatsApp, Slack, e-mail, "
        "the web chat and the public API (`/v1/openapi.json`). A channel that is not "
        "configured is off (`/health` says why).",
        version="1.0.0",
        lifespan=STATE.lifespan(lambda app: _running(app, settings or Settings(), adapters)),
    )
    # Outermost: no body over the limit is read, whoever sends it.
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit, service=SERVICE)
    web.install_error_handlers(app)
    for unreachable in (RedisError, RedisFull):
        app.add_exception_handler(unreachable, _store_unreachable)
    web.add_ops_routes(app, health)
    web_observability.instrument(app, SERVICE)
    web.add_probe_routes(app, SERVICE, readiness_checks)
    return app


app = create_app()
