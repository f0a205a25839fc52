"""rest_service's errors and the one place that renders every failure as
`{"error", "detail", "fields"}`: our own errors, request validation, unknown routes, a
database that is down or refuses a value, and anything unexpected (without a trace)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.crypto import SecretDecryptionError
from common.errors import (
    AppError,
    ConflictError,
    DependencyUnavailableError,
    FieldError,
    NotFoundError,
    ValidationFailedError,
)
from common.logging import get_logger
from rest_service.app.database import is_database_down

log = get_logger(__name__)

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


class DatabaseUnavailableError(DependencyUnavailableError):
    """Postgres does not answer; the pool reconnects by itself once it does."""


class SecretUnreadableError(AppError):
    status_code, error = 500, "secret_unreadable"


def not_found(kind: str, key: object) -> NotFoundError:
    return NotFoundError(f"{kind} {key} not found")


def invalid(field: str, reason: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])


def conflict(detail: str, fields: list[FieldError] | None = None) -> ConflictError:
    return ConflictError(detail, fields)


def body(error: str, detail: str, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": error, "detail": detail, "fields": fields or []}


def _field_name(loc: tuple[Any, ...]) -> str:
    # Pydantic names the member of a union it tried (`function-after[_no_nul(), str]`):
    # the client needs the field, not our validator.
    parts = [str(p) for p in loc if "[" not in str(p)]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields: list[dict[str, str]] = []
    for e in exc.errors():
        found = {"field": _field_name(tuple(e.get("loc", ()))), "reason": str(e.get("msg", ""))}
        if not any(f["field"] == found["field"] for f in fields):
            fields.append(found)
    first = fields[0] if fields else {"field": "body", "reason": "invalid"}
    detail = f"invalid request: {first['field']}: {first['reason']}"
    return JSONResponse(body("validation_error", detail, fields), status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error = _STATUS_ERRORS.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else error.replace("_", " ")
    return JSONResponse(
        body(error, detail), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_down(exc):
        log.warning("database_unavailable", path=request.url.path, error=str(exc)[:300])
        detail = "database unavailable: Postgres does not answer; try again shortly"
        return JSONResponse(body("service_unavailable", detail), status_code=503)
    if isinstance(exc, DataError):
        detail = f"invalid value: {_first_line(exc)}"
        return JSONResponse(body("validation_error", detail), status_code=422)
    if isinstance(exc, IntegrityError):
        detail = f"conflicts with stored data: {_first_line(exc)}"
        return JSONResponse(body("conflict", detail), status_code=409)
    return await _unexpected(request, exc)


async def _secret_unreadable(request: Request, exc: Exception) -> JSONResponse:
    error = SecretUnreadableError(
        "a stored secret does not decrypt under LLM_MODEL_DECRYPT_KEY (was the key changed?)"
    )
    return await _app_error(request, error)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_database_down(exc):
        return await _database_error(request, exc)
    if _caused_by(exc, UnicodeError):
        # Text a validator let through that is not Unicode (a lone surrogate): bad input,
        # logged by its type only, never its content.
        log.warning("unstorable_text", path=request.url.path, error=type(exc).__name__)
        detail = "invalid value: text that is not valid Unicode (a lone surrogate?)"
        return JSONResponse(body("validation_error", detail), status_code=422)
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return JSONResponse(body("internal_error", "internal error"), status_code=500)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(20):  # a chain can loop back on itself
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: DBAPIError) -> str:
    cause = exc.orig.__cause__ if exc.orig is not None else None
    text = str(cause or exc.orig or exc)
    return text.splitlines()[0][:300]


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(SecretDecryptionError, _secret_unreadable)
    app.add_exception_handler(OSError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
