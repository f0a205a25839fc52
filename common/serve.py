"""Serves a FastAPI service with uvicorn, which handles SIGTERM/SIGINT itself."""

from __future__ import annotations

import uvicorn

from common.settings import ServiceSettings


def serve_asgi(app_path: str, settings: ServiceSettings) -> None:
    config = uvicorn.Config(
        app_path,
        host=settings.http_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        lifespan="on",
    )
    uvicorn.Server(config).run()
