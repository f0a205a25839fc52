"""The rest_service FastAPI application (`rest_service.app.main:app`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from common.logging import configure_logging, get_logger
from common.metrics import SERVICE_STARTS, render_metrics
from rest_service.app.admin import bind_admin, mount_admin
from rest_service.app.api import (
    assistant_tools,
    assistants,
    cron_jobs,
    live_config,
    llm,
    threads,
    tool_invocations,
    tools,
    users,
)
from rest_service.app.auth import BearerAuthMiddleware
from rest_service.app.body_limit import BodyLimitMiddleware
from rest_service.app.database import database_ok
from rest_service.app.errors import install_error_handlers
from rest_service.app.retention import start_retention, stop_retention
from rest_service.app.settings import Settings
from rest_service.app.state import AppState

log = get_logger(__name__)

ROUTERS = (
    assistants.router,
    tools.router,
    assistant_tools.router,
    users.router,
    threads.router,
    llm.router,
    cron_jobs.router,
    tool_invocations.router,
    live_config.router,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or Settings()
        app.state.settings = resolved
        configure_logging(resolved, "rest_service")
        app.state.app_state = AppState.create(resolved)
        bind_admin(app, app.state.app_state.engine)
        SERVICE_STARTS.labels("rest_service").inc()
        log.info("service_started", port=resolved.port)
        retention = start_retention(app.state.app_state)
        try:
            yield
        finally:
            await stop_retention(retention)
            await app.state.app_state.close()
            log.info("service_stopped")

    app = FastAPI(
        title="Smart Assistant REST API",
        description="Assistants, tools, users, threads, reminders and the live config. "
        "Every /api route needs `Authorization: Bearer <ADMIN_API_TOKEN or SERVICE_API_TOKEN>` "
        "(or a service's own `SERVICE_TOKEN_<SERVICE>`).",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_middleware(BearerAuthMiddleware)
    # Outermost: no body over the limit is read, whoever sends it.
    app.add_middleware(BodyLimitMiddleware)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    mount_admin(app)

    @app.get("/health", tags=["ops"])
    async def health(request: Request) -> dict[str, object]:
        """Always 200 while the process serves; `status` is `degraded` when Postgres or
        Redis is down (without Redis the API answers from Postgres)."""
        state: AppState = request.app.state.app_state
        postgres, redis = await asyncio.gather(database_ok(state.engine), state.cache.ping())
        return {
            "status": "ok" if postgres and redis else "degraded",
            "service": "rest_service",
            "postgres": "ok" if postgres else "down",
            "redis": "ok" if redis else "down",
            "config_cache": "redis" if redis else "postgres only",
        }

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        payload, content_type = render_metrics()
        return Response(payload, media_type=content_type)

    return app


app = create_app()
