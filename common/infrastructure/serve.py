"""Serves a FastAPI service with uvicorn, which handles SIGTERM/SIGINT itself."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn

from common.infrastructure import collector
from common.infrastructure.settings import ServiceSettings


def serve_asgi(app_path: str, settings: ServiceSettings) -> None:
    """`python -m <service>`: the app in a process of its own, stopped by SIGTERM or SIGINT."""
    config = asgi_config(app_path, settings)
    config.load()  # imports the app now (uvicorn would at its start) to mark the start's end
    collector.started()
    uvicorn.Server(config).run()


def asgi_config(app_path: str, settings: ServiceSettings) -> uvicorn.Config:
    """uvicorn would believe X-Forwarded-For from 127.0.0.1 (and its own FORWARDED_ALLOW_IPS
    variable) by default: only the proxies FORWARDED_ALLOW_IPS names are, so a client beside
    the service cannot pick its address (the admin login counts failures per address)."""
    return uvicorn.Config(
        app_path,
        host=settings.http_host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        lifespan="on",
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


class SharedProcessServer(uvicorn.Server):
    """uvicorn beside other services in one process (ops/one_process.py): the process owns
    SIGTERM and SIGINT and stops each server with `should_exit`; uvicorn's own handlers would
    replace one another's and raise the signal again as each server ends."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def served_in_this_loop(
    app: Any, port: int, *, lifespan: Literal["on", "off"] = "on"
) -> AsyncIterator[str]:
    """`app` served by uvicorn in the running event loop (tests: its lifespan and each
    request run in tasks of their own) until the block ends; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan=lifespan, proxy_headers=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the app did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
