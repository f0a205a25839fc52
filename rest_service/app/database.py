"""The async engine (asyncpg, pooled, pre-pinged) and what counts as "Postgres is down"."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from rest_service.app.settings import Settings

#: How long a request waits for a connection before answering 503.
CONNECT_TIMEOUT_S = 5.0


def create_engine(settings: Settings) -> AsyncEngine:
    """pool_pre_ping replaces connections a Postgres restart broke, so we recover by ourselves."""
    return create_async_engine(
        settings.async_database_url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_timeout=CONNECT_TIMEOUT_S,
        # A failed statement's message never carries the client's values into a log.
        hide_parameters=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_S,
            "command_timeout": 30,
            "server_settings": {"application_name": "rest_service"},
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


#: Postgres refusing the connection itself: a database that does not exist (dropped, or a
#: wrong name), a refused login, no free connection slot. To a client these are "down" too.
_REFUSED_CONNECTION = (
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.TooManyConnectionsError,
)


def is_database_down(exc: BaseException) -> bool:
    """Connection-level failures (refused, reset, timed out), not errors of one statement."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or _refused(exc)
    return isinstance(
        exc,
        OSError
        | asyncio.TimeoutError
        | asyncpg.PostgresConnectionError
        | asyncpg.InterfaceError
        | asyncpg.CannotConnectNowError,
    )


def _refused(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _REFUSED_CONNECTION):
            return True
        cause = cause.__cause__
    return False


async def database_ok(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # health reports a failure, it never raises one
        return False
    return True
