"""The small HTTP server every worker runs: `GET /health`, `/livez`, `/readyz`
(common/infrastructure/probes.py) and `/metrics`, and the POST routes a worker adds (tg_bot's
webhook)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from common.infrastructure.logging import get_logger
from common.infrastructure.metrics import render_metrics
from common.infrastructure.probes import ReadinessCheck, liveness_body, readiness

log = get_logger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, object]]]
"""Returns details; raises when the thing it checks is down."""
PostHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HealthServer:
    def __init__(self, service: str, host: str, port: int) -> None:
        self.service = service
        self.host = host
        self.port = port
        self._checks: dict[str, HealthCheck] = {}
        self._readiness: dict[str, ReadinessCheck] = {}
        self._posts: dict[str, PostHandler] = {}
        self._started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_get("/health", self._health)
        self.app.router.add_get("/livez", self._livez)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics)
        # aiohttp freezes its router on start; POST routes are looked up here instead
        self.app.router.add_post("/{path:.*}", self._post)

    def add_check(self, name: str, check: HealthCheck) -> None:
        self._checks[name] = check

    def add_readiness(self, name: str, check: ReadinessCheck) -> None:
        """A dependency `/readyz` needs to answer (`/health` keeps its own checks)."""
        self._readiness[name] = check

    def add_post(self, path: str, handler: PostHandler) -> None:
        """Serve POSTs to `path` (also once the server runs)."""
        self._posts[path] = handler

    def remove_post(self, path: str) -> None:
        """No longer serve POSTs to `path` (404 from now on)."""
        self._posts.pop(path, None)

    async def _post(self, request: web.Request) -> web.StreamResponse:
        handler = self._posts.get(request.path)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)

    async def _health(self, _request: web.Request) -> web.Response:
        checks: dict[str, object] = {}
        healthy = True
        for name, check in self._checks.items():
            try:
                checks[name] = {"ok": True, **await check()}
            except Exception as exc:
                healthy = False
                checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        body = {
            "status": "ok" if healthy else "degraded",
            "service": self.service,
            "uptime_s": round(time.monotonic() - self._started, 1),
            "checks": checks,
        }
        return web.json_response(body, status=200 if healthy else 503)

    async def _livez(self, _request: web.Request) -> web.Response:
        return web.json_response(liveness_body(self.service))

    async def _readyz(self, _request: web.Request) -> web.Response:
        status, body = await readiness(self.service, self._readiness)
        return web.json_response(body, status=status)

    async def _metrics(self, _request: web.Request) -> web.Response:
        payload, content_type = render_metrics()
        return web.Response(body=payload, headers={"Content-Type": content_type})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("http_listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
