"""What both FastAPI services tell about each request: its id (`X-Request-ID`, taken from
the caller when it is safe, else made here, echoed in the answer and bound as the
`correlation_id` of every log line the request writes), a request log line, and request
count and latency by route template (prometheus-fastapi-instrumentator).

The instrumentator's middleware times each request and catches its status. Two of its
defaults are replaced: its metrics are registered once per process and silently dropped for
a second app (every test makes several), so it records into common/infrastructure/metrics.py's, with
the service as a label; and it finds the route template by matching the request against every route
again before the call (0.7 ms a request on rest_service's 80 routes, 4 ms on a busy machine), so the
template is read after the call from the route Starlette's router matched (`scope["route"]`):
`/api/users/{user_id}`, or `none` when no route matched or the request was refused before routing
(401, 413)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import FastAPI
from prometheus_fastapi_instrumentator.metrics import Info
from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.infrastructure import tracing
from common.infrastructure.logging import (
    REQUEST_ID_HEADER,
    REQUEST_ID_STATE,
    get_logger,
    new_request_id,
    safe_request_id,
)
from common.infrastructure.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS
from common.infrastructure.probes import OPS_ROUTES

log = get_logger("http")

_HEADER = REQUEST_ID_HEADER.lower().encode("latin-1")
#: Probes and scrapes: counted, but logged at DEBUG (a probe every few seconds is noise).
QUIET_ROUTES = OPS_ROUTES


def _incoming_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == _HEADER:
            found = safe_request_id(value.decode("latin-1"))
            if found is not None:
                return found
    return new_request_id()


class RequestIdMiddleware:
    """Outermost: every answer carries the id (a 401 or 413 too) and every line the request
    logs has it. A 500 from an unhandled error is written by Starlette outside all
    middleware: the id waits for it in the request's state (`common.infrastructure.web.unexpected`).
    It binds `service` too: the lifespan binds it in a task of its own (uvicorn), which the
    request tasks do not inherit."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope)
        scope.setdefault("state", {})[REQUEST_ID_STATE] = request_id
        raw_id = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER]
                message["headers"] = [*headers, (_HEADER, raw_id)]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(
            correlation_id=request_id, service=self.service
        )
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)


class TraceMiddleware:
    """A server span per request (decision 0069), a child of the caller's `traceparent`;
    named by the route template once the router has matched it (never the path, which may
    hold an address or a one-time code). Nothing while tracing is off."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.enabled():
            await self.app(scope, receive, send)
            return
        method = scope["method"]

        async def send_with_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                tracing.annotate({"http.response.status_code": message["status"]})
            await send(message)

        with tracing.span(
            method,
            kind="server",
            attributes={"http.request.method": method},
            carrier=_trace_headers(scope),
            service=self.service,
        ):
            try:
                await self.app(scope, receive, send_with_status)
            finally:
                tracing.rename(f"{method} {route_template(scope)}")


def _trace_headers(scope: Scope) -> dict[str, str]:
    wanted = tracing.TRACEPARENT.encode("latin-1")
    found = next((value for name, value in scope["headers"] if name == wanted), None)
    return {} if found is None else {tracing.TRACEPARENT: found.decode("latin-1")}


def route_template(scope: Scope) -> str:
    """The template of the route that answered (behind a mount, with the mount's prefix)."""
    path = getattr(scope.get("route"), "path", None)
    return f"{scope.get('root_path', '')}{path}" if isinstance(path, str) else "none"


class _TemplateAfterCall(PrometheusInstrumentatorMiddleware):
    """The instrumentator's middleware without its route search before the call."""

    def _get_handler(self, request: Request) -> tuple[str, bool]:
        return "", True


def _recorder(service: str) -> Callable[[Info], None]:
    def record(info: Info) -> None:
        handler, method = route_template(info.request.scope), info.method
        HTTP_REQUESTS.labels(service, method, handler, info.modified_status).inc()
        HTTP_REQUEST_SECONDS.labels(service, method, handler).observe(info.modified_duration)
        write = log.debug if handler in QUIET_ROUTES else log.info
        write(
            "http_request",
            method=method,
            route=handler,
            status=int(info.modified_status),
            duration_ms=round(info.modified_duration * 1000, 1),
        )

    return record


def instrument(app: FastAPI, service: str) -> None:
    """Call last in `create_app`, so these middlewares wrap everything added before."""
    app.add_middleware(
        _TemplateAfterCall, should_group_status_codes=False, instrumentations=[_recorder(service)]
    )
    app.add_middleware(RequestIdMiddleware, service=service)
    app.add_middleware(TraceMiddleware, service=service)
