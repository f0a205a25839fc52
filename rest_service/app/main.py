"""The rest_service FastAPI application (`rest_service.app.main:app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response

from common.logging import configure_logging, get_logger
from common.metrics import SERVICE_STARTS, render_metrics
from rest_service.app.config import Settings

log = get_logger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        configure_logging(app.state.settings, "rest_service")
        SERVICE_STARTS.labels("rest_service").inc()
        log.info("service_started", port=app.state.settings.port)
        yield
        log.info("service_stopped")

    app = FastAPI(title="Smart Assistant REST API", lifespan=lifespan)

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, object]:
        return {"status": "ok", "service": "rest_service"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        payload, content_type = render_metrics()
        return Response(payload, media_type=content_type)

    return app


app = create_app()
