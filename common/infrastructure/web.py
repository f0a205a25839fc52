"""The web plumbing of both FastAPI services, so they answer alike: every failure as
`{"error", "detail", "fields"}`, bearer-token auth, `/health` and `/metrics`, and one typed
state per app. FastAPI only: the workers never import this module."""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar

import structlog
from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from common.infrastructure.errors import (
    AppError,
    ForbiddenError,
    TooManyRequestsError,
    UnauthorizedError,
)
from common.infrastructure.logging import (
    REQUEST_ID_HEADER,
    REQUEST_ID_STATE,
    get_logger,
    loggable_message,
)
from common.infrastructure.metrics import render_metrics
from common.infrastructure.probes import ReadinessCheck, liveness_body, readiness
from common.infrastructure.service_tokens import Caller, Right, Role, TokenTable

log = get_logger(__name__)

S = TypeVar("S")

# -- the error body -----------------------------------------------------------------------

_STATUS_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
}
#: Where FastAPI says a value came from; the client needs the field, not its location.
_LOCATIONS = ("body", "query", "path", "header", "cookie")


def error_body(
    error: str, detail: str, fields: list[dict[str, str]] | None = None
) -> dict[str, object]:
    return {"error": error, "detail": detail, "fields": fields or []}


def error_response(
    status_code: int, error: str, detail: str, fields: list[dict[str, str]] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(error, detail, fields), status_code=status_code)


async def send_error(
    send: Send,
    status_code: int,
    error: str,
    detail: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """The error body from a pure ASGI middleware, which answers before any handler runs."""
    payload = json.dumps(error_body(error, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def field_name(loc: Sequence[Any]) -> str:
    """The one rule for a validation error's field: dotted, without the location, and
    without the union members pydantic names (`function-after[_no_nul(), str]`)."""
    parts = [str(p) for p in loc if "[" not in str(p)]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, TooManyRequestsError):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields: list[dict[str, str]] = []
    for e in exc.errors():
        found = {"field": field_name(tuple(e.get("loc", ()))), "reason": str(e.get("msg", ""))}
        if not any(f["field"] == found["field"] for f in fields):
            fields.append(found)
    first = fields[0] if fields else {"field": "body", "reason": "invalid"}
    detail = f"invalid request: {first['field']}: {first['reason']}"
    return error_response(422, "validation_error", detail, fields)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own answers: an unknown route, a method not allowed, an unreadable body."""
    assert isinstance(exc, StarletteHTTPException)
    error = _STATUS_ERRORS.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else error.replace("_", " ")
    return JSONResponse(error_body(error, detail), status_code=exc.status_code, headers=exc.headers)


async def unexpected(request: Request, exc: Exception, **known: object) -> JSONResponse:
    """A 500 without a trace. The log names the error, its message (the first line, with
    what looks like a secret redacted: `loggable_message`) and where it happened (the
    innermost frames of the project's own code, then of the libraries); a caller that knows
    more safe facts passes them as `known`. Starlette calls this outside every middleware, so
    the request's id (`common/infrastructure/web_observability.py`) is put back here."""
    request_id = getattr(request.state, REQUEST_ID_STATE, None)
    with structlog.contextvars.bound_contextvars(correlation_id=request_id):
        log.error(
            "unhandled_error",
            path=request.url.path,
            error=type(exc).__name__,
            message=loggable_message(exc),
            where=_where(exc),
            **known,
        )
    response = error_response(500, "internal_error", "internal error")
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def _where(exc: BaseException) -> list[str]:
    """The last frames of the project's code (a failing statement's own frames are all in
    SQLAlchemy and asyncpg, which say nothing of which route's query it was), then the last
    two of the libraries'."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename][-4:]
    theirs = [f for f in frames if "site-packages" in f.filename][-2:]
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in (*ours, *theirs)]


def install_error_handlers(app: FastAPI) -> None:
    """A service adds handlers of its own after these (a later one for a type replaces it)."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected)


# -- one typed state per app ----------------------------------------------------------------


class StateSlot(Generic[S]):
    """Where an app keeps the one state object its lifespan opens: the lifespan stores it
    (`lifespan`), dependencies and middleware read it typed (`of`, `of_app`)."""

    def __init__(self, kind: type[S], name: str) -> None:
        self.kind, self.name = kind, name

    def of_app(self, app: Starlette) -> S:
        value = getattr(app.state, self.name, None)
        if not isinstance(value, self.kind):
            raise RuntimeError(f"{self.kind.__name__} is read before the app's lifespan made it")
        return value

    async def of(self, request: Request) -> S:
        """A route dependency."""
        return self.of_app(request.app)

    def lifespan(
        self, open_state: Callable[[FastAPI], AbstractAsyncContextManager[S]]
    ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
        """The app's lifespan: `open_state` makes the state and closes it after serving."""

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            async with open_state(app) as state:
                setattr(app.state, self.name, state)
                yield

        return lifespan


# -- bearer tokens --------------------------------------------------------------------------

_CALLER = "caller"


class BearerAuthMiddleware:
    """401 (with `WWW-Authenticate: Bearer`) before routing for a protected path without a
    known token, so nothing is parsed for a stranger. Routes then check the caller's role
    and rights with the dependencies below."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: Callable[[Starlette], TokenTable],
        protected: Callable[[str], bool],
    ) -> None:
        self.app, self.tokens, self.protected = app, tokens, protected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        caller = self.tokens(scope["app"]).caller_for(header or None)
        if caller is None:
            detail = "missing bearer token" if not header else "unknown token"
            await send_error(send, 401, "unauthorized", detail, [(b"www-authenticate", b"Bearer")])
            return
        scope.setdefault("state", {})[_CALLER] = caller
        await self.app(scope, receive, send)


def caller_of(request: Request) -> Caller | None:
    """Who the middleware let in; None on an open path."""
    caller = getattr(request.state, _CALLER, None)
    return caller if isinstance(caller, Caller) else None


#: Declares the scheme in OpenAPI (/docs "Authorize"); the middleware does the checking.
_bearer = HTTPBearer(auto_error=False, description="a bearer token (see the API description)")


async def current_caller(
    request: Request, _declared: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Caller:
    """Any known token (a route dependency)."""
    caller = caller_of(request)
    if caller is None:  # a route outside the protected paths asked for a caller
        raise UnauthorizedError("missing bearer token")
    return caller


async def require_admin(caller: Caller = Depends(current_caller)) -> Caller:
    if caller.role is not Role.admin:
        raise ForbiddenError("this route needs the admin token")
    return caller


def require_right(
    right: Right, action: str, *, admin_too: bool = False
) -> Callable[..., Awaitable[Caller]]:
    """A service token whose scope has `right` (or, with `admin_too`, the admin token);
    `action` completes "may not …"."""

    async def check(caller: Caller = Depends(current_caller)) -> Caller:
        if admin_too and caller.role is Role.admin:
            return caller
        if caller.role is not Role.service:
            raise ForbiddenError("this route is for the service tokens only")
        if right not in caller.rights:
            raise ForbiddenError(f"the {caller.scope} service token may not {action}")
        return caller

    return check


def install_bearer_auth(
    app: FastAPI, tokens: Callable[[Starlette], TokenTable], protected: Callable[[str], bool]
) -> None:
    app.add_middleware(BearerAuthMiddleware, tokens=tokens, protected=protected)


# -- /health and /metrics -----------------------------------------------------------------


async def _metrics() -> Response:
    payload, content_type = render_metrics()
    return Response(payload, media_type=content_type)


def add_probe_routes(
    app: FastAPI,
    service: str,
    readiness_checks: Callable[[Starlette], Mapping[str, ReadinessCheck]],
) -> None:
    """`/livez` and `/readyz` (common/infrastructure/probes.py); `readiness_checks` gives the app's
    checks once its lifespan has made the state they use."""

    async def livez() -> dict[str, Any]:
        return liveness_body(service)

    async def readyz(request: Request) -> JSONResponse:
        status, body = await readiness(service, readiness_checks(request.app))
        return JSONResponse(body, status_code=status)

    app.add_api_route("/livez", livez, methods=["GET"], tags=["ops"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["ops"])


def add_ops_routes(app: FastAPI, health: Callable[..., Awaitable[Any]]) -> None:
    """`/health` answers with the service's own check; `/metrics` is Prometheus's text."""
    app.add_api_route("/health", health, methods=["GET"], tags=["ops"])
    app.add_api_route("/metrics", _metrics, methods=["GET"], tags=["ops"], include_in_schema=False)
