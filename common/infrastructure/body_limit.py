"""The request body limit: a body over the limit is a 413 before anything parses it.

A pure ASGI middleware, because reading the body to measure it is the attack: a 300 MB JSON
body took the process to 1 GB before the 422. `Content-Length` is checked before the app
runs; a chunked body is counted as it arrives and cut off at the limit, so the process never
holds more than the limit plus one chunk, whatever the client sends or claims. The rest of
a refused body is read and dropped by the server (uvicorn), not stored; closing the
connection instead would reset it under the client before it reads the 413.

Each service gives its own limit per path (`LimitFor`): rest_service's imports and the public
API's file uploads have larger limits than the rest."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.infrastructure.logging import get_logger
from common.infrastructure.web import send_error

log = get_logger(__name__)

#: The largest body a request to this path may carry (the app's scope gives its settings).
LimitFor = Callable[[Scope], int]

BODIES_REFUSED = Counter(
    "smart_assistant_rest_request_bodies_too_large_total",
    "Requests refused with 413 (body over the limit), by service",
    ["service"],
)


class BodyTooLargeError(Exception):
    """Raised into the app from `receive` once the body passes the limit."""


def declared_length(scope: Scope) -> int | None:
    """`Content-Length` as the client sent it; None when absent (chunked) or not a number
    (the server refuses that itself)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class _Guard:
    """Counts the body the app reads; once over the limit, the app's own answer (a 400 for
    a body it could not read) is dropped so the middleware can answer 413."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.received = 0
        self.exceeded = False
        self.started = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.exceeded = True
                raise BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: LimitFor, service: str) -> None:
        self.app = app
        self.limit_for = limit_for
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await self._too_large(send, scope["path"], limit)
            return
        guard = _Guard(receive, send, limit)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.exceeded:
                raise
        if guard.exceeded and not guard.started:
            await self._too_large(send, scope["path"], limit)

    async def _too_large(self, send: Send, path: str, limit: int) -> None:
        BODIES_REFUSED.labels(self.service).inc()
        log.warning("request_body_too_large", path=path, limit=limit)
        detail = f"request body over the limit of {limit} bytes"
        await send_error(send, 413, "payload_too_large", detail)
