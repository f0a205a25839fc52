"""rest_service's failures beyond the shared ones (common/infrastructure/web.py): a database that is
down or refuses a value, a secret that does not decrypt, and text that is not Unicode."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError

from common.infrastructure import web
from common.infrastructure.crypto import SecretDecryptionError
from common.infrastructure.errors import SecretUnreadableError
from common.infrastructure.logging import get_logger, loggable_message
from rest_service.app.database import (
    STATEMENT_CACHE_FIX,
    StatementCacheBehindPooler,
    caused_by,
    causes,
    is_database_down,
    is_statement_cache_behind_pooler,
)

log = get_logger(__name__)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_down(exc):
        log.warning("database_unavailable", path=request.url.path, error=str(exc)[:300])
        detail = "database unavailable: Postgres does not answer; try again shortly"
        return web.error_response(503, "service_unavailable", detail)
    # SQLAlchemy's asyncpg dialect raises a plain DBAPIError for Postgres's data exceptions
    # (class 22: a value of the wrong type or out of range), never its DataError.
    if isinstance(exc, DBAPIError) and caused_by(exc, asyncpg.DataError):
        return web.error_response(422, "validation_error", f"invalid value: {_first_line(exc)}")
    if isinstance(exc, IntegrityError):
        detail = f"conflicts with stored data: {_first_line(exc)}"
        return web.error_response(409, "conflict", detail)
    if isinstance(exc, DBAPIError) and is_statement_cache_behind_pooler(exc):
        explained = StatementCacheBehindPooler()
        log.error(
            "database_statement_cache_behind_pooler",
            path=request.url.path,
            error=_first_line(exc),
            explanation=str(explained),
            fix=STATEMENT_CACHE_FIX,
        )
        return web.error_response(500, "internal_error", str(explained))
    return await _unexpected(request, exc, **_postgres_said(exc))


async def _secret_unreadable(_request: Request, _exc: Exception) -> JSONResponse:
    error = SecretUnreadableError(
        "a stored secret does not decrypt under LLM_MODEL_DECRYPT_KEY (was the key changed?)"
    )
    return JSONResponse(error.to_dict(), status_code=error.status_code)


async def _unexpected(request: Request, exc: Exception, **known: object) -> JSONResponse:
    if is_database_down(exc):
        return await _database_error(request, exc)
    if caused_by(exc, UnicodeError):
        # Text a validator let through that is not Unicode (a lone surrogate): bad input,
        # logged by its type only, never its content.
        log.warning("unstorable_text", path=request.url.path, error=type(exc).__name__)
        detail = "invalid value: text that is not valid Unicode (a lone surrogate?)"
        return web.error_response(422, "validation_error", detail)
    return await web.unexpected(request, exc, **known)


def _postgres_said(exc: Exception) -> dict[str, object]:
    """What Postgres reported of a statement it refused, for the log: its SQLSTATE, error class
    and message, and the objects it names. The errors that reach here (class 42: a missing
    relation, a type mismatch; 40: a deadlock; 53, 55, 57, XX) name schema objects, not stored
    values: a refused value (class 22) and a broken constraint (23) are answered above."""
    postgres = next(
        (e for e in causes(exc) if isinstance(e, asyncpg.PostgresError)),
        None,
    )
    if postgres is None:
        return {}
    said: dict[str, object] = {
        "sqlstate": postgres.sqlstate,
        "db_error": type(postgres).__name__,
        "db_message": loggable_message(postgres),
    }
    for field in ("schema_name", "table_name", "column_name", "constraint_name"):
        if value := getattr(postgres, field, None):
            said[f"db_{field}"] = value
    return said


def _first_line(exc: DBAPIError) -> str:
    cause = exc.orig.__cause__ if exc.orig is not None else None
    text = str(cause or exc.orig or exc)
    return text.splitlines()[0][:300]


def install_error_handlers(app: FastAPI) -> None:
    web.install_error_handlers(app)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(SecretDecryptionError, _secret_unreadable)
    # OSError (a refused connection) is caught here rather than by the catch-all, which
    # Starlette runs outermost and re-raises after answering.
    app.add_exception_handler(OSError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
