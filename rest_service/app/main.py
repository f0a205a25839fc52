"""The rest_service FastAPI application (`rest_service.app.main:app`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.types import Scope

from common.infrastructure import web, web_observability
from common.infrastructure.body_limit import BodyLimitMiddleware
from common.infrastructure.logging import configure_logging, get_logger
from common.infrastructure.metrics import SERVICE_STARTS
from common.infrastructure.probes import PROBE_TIMEOUT_S, ReadinessCheck
from common.infrastructure.shutdown import bounded
from common.infrastructure.tracing import configure_tracing
from rest_service.app.admin import bind_admin, mount_lazy_admin
from rest_service.app.api import (
    api_clients,
    assistant_tools,
    assistants,
    bots,
    catalogue,
    contacts,
    cron_jobs,
    experiments,
    feedback,
    handoffs,
    identities,
    knowledge,
    leads,
    live_config,
    llm,
    pairings,
    profile_facts,
    tasks,
    threads,
    tool_invocations,
    tools,
    usage,
    users,
    webhooks,
)
from rest_service.app.auth import install_auth
from rest_service.app.database import StatementCacheBehindPooler, check_database, database_ok
from rest_service.app.domain import admin_accounts
from rest_service.app.errors import install_error_handlers
from rest_service.app.handoff_sweep import start_sweep, stop_sweep
from rest_service.app.retention import start_retention, stop_retention
from rest_service.app.settings import Settings
from rest_service.app.state import STATE, AppState
from rest_service.app.webhook_delivery import start_worker, stop_worker

log = get_logger(__name__)

#: In the order a request is matched against them (each router's routes one by one, about
#: 15 µs a router): the routes of every message first (a turn's context and its append,
#: the sender's user, the config version the services poll).
ROUTERS = (
    threads.router,
    users.router,
    live_config.router,
    assistants.router,
    tools.router,
    assistant_tools.router,
    identities.router,
    profile_facts.router,
    tasks.router,
    knowledge.router,
    catalogue.router,
    contacts.router,
    leads.router,
    feedback.router,
    feedback.analytics_router,
    handoffs.router,
    pairings.router,
    usage.router,
    llm.router,
    bots.router,
    experiments.router,
    cron_jobs.router,
    tool_invocations.router,
    webhooks.router,
    api_clients.router,
)


@asynccontextmanager
async def _running(app: FastAPI, settings: Settings) -> AsyncIterator[AppState]:
    configure_logging(settings, "rest_service")
    configure_tracing(settings, "rest_service")
    admin_accounts.use_test_hashing(settings.is_test)
    state = AppState.create(settings)
    bind_admin(app, state.engine, settings.admin_timezone)
    SERVICE_STARTS.labels("rest_service").inc()
    log.info("service_started", port=settings.port)
    retention = start_retention(state)
    webhook_worker = start_worker(state)
    handoff_sweep = start_sweep(state)
    try:
        yield state
    finally:
        grace = settings.shutdown_grace_seconds
        await bounded("handoff_sweep", stop_sweep(handoff_sweep), grace)
        await bounded("webhook_worker", stop_worker(webhook_worker), grace)
        await bounded("retention", stop_retention(retention), grace)
        await bounded("connections", state.close(), grace)
        log.info("service_stopped")


async def health(request: Request) -> dict[str, object]:
    """Always 200 while the process serves; `status` is `degraded` when Postgres or
    Redis is down (without Redis the API answers from Postgres)."""
    state = STATE.of_app(request.app)
    postgres, redis = await asyncio.gather(database_ok(state.engine), state.cache.ping())
    return {
        "status": "ok" if postgres and redis else "degraded",
        "service": "rest_service",
        "postgres": "ok" if postgres else "down",
        "redis": "ok" if redis else "down",
        "config_cache": "redis" if redis else "postgres only",
    }


class DatabaseDown(Exception):
    """Postgres did not answer `SELECT 1`."""


def readiness_checks(app: Starlette) -> dict[str, ReadinessCheck]:
    """Postgres only: without Redis the API answers from Postgres (`/health` says
    "degraded"), and an unready rest_service would cut every worker off it."""
    state = STATE.of_app(app)

    async def postgres() -> None:
        try:
            await check_database(state.engine, PROBE_TIMEOUT_S)
        except StatementCacheBehindPooler:
            raise
        except Exception as exc:
            raise DatabaseDown("postgres did not answer") from exc

    return {"postgres": postgres}


#: The routes with a larger body limit: a whole configuration document, a knowledge file, a
#: whole catalogue.
IMPORT_PATHS = frozenset({"/api/config/import", "/api/knowledge/import", "/api/catalogue/import"})


def body_limit(scope: Scope) -> int:
    settings = STATE.of_app(scope["app"]).settings
    if str(scope["path"]).rstrip("/") in IMPORT_PATHS:
        return settings.max_import_body_bytes
    return settings.max_request_body_bytes


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Smart Assistant REST API",
        description="Assistants, tools, users, threads, reminders and the live config. "
        "Every /api route needs `Authorization: Bearer <ADMIN_API_TOKEN or SERVICE_API_TOKEN>` "
        "(or a service's own `SERVICE_TOKEN_<SERVICE>`).",
        version="1.0.0",
        lifespan=STATE.lifespan(lambda app: _running(app, settings or Settings())),
    )
    install_auth(app)
    # Outermost: no body over the limit is read, whoever sends it.
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit, service="rest_service")
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    mount_lazy_admin(app)
    web.add_ops_routes(app, health)
    web_observability.instrument(app, "rest_service")
    web.add_probe_routes(app, "rest_service", readiness_checks)
    return app


app = create_app()
