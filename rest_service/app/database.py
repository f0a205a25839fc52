"""The async engine (asyncpg, pooled; a connection idle for a while is pinged before use) and
what counts as "Postgres is down"."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from common.infrastructure.postgres_url import asyncpg_target
from common.infrastructure.probes import ExplainedFailure
from rest_service.app.settings import Settings

#: How long a request waits for a connection before answering 503.
CONNECT_TIMEOUT_S = 5.0
#: A connection idle longer than this is pinged at checkout. A busy one is not: its ping
#: (BEGIN, `;`, ROLLBACK) cost three round trips per request for nothing.
IDLE_PING_S = 5.0


def create_engine(settings: Settings) -> AsyncEngine:
    """We recover from a Postgres restart by ourselves: an idle connection is pinged before
    use (`_ping_when_idle`), and a busy one that fails with a disconnect invalidates the whole
    pool (SQLAlchemy's disconnect handling), so the next request gets a fresh connection.
    The URL's TLS and libpq parameters become asyncpg connect arguments
    (common.infrastructure.postgres_url)."""
    target = asyncpg_target(settings.async_database_url)
    engine = create_async_engine(
        target.url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=CONNECT_TIMEOUT_S,
        # The connection used last goes out first: the busy ones stay warm (never pinged),
        # the spare ones idle (and are pinged the rare time they are needed).
        pool_use_lifo=True,
        # A failed statement's message never carries the client's values into a log.
        hide_parameters=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_S,
            "command_timeout": 30,
            **statement_cache_args(settings.db_statement_cache_size),
            **target.connect_args,
            "server_settings": {"application_name": "rest_service", **target.server_settings},
        },
    )
    event.listen(engine.sync_engine.pool, "checkin", _stamp_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _ping_when_idle)
    return engine


_CHECKED_IN = "checked_in_at"


def _stamp_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_when_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A failed ping invalidates the pool: the pool retries with a new connection."""
    since = record.info.get(_CHECKED_IN)
    if since is None or time.monotonic() - since < IDLE_PING_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise InvalidatePoolError(f"ping failed: {exc!r}") from exc


def statement_cache_args(size: int) -> dict[str, object]:
    """asyncpg's cache and SQLAlchemy's own (it prepares every statement) share the size. At 0
    (PgBouncer in transaction mode) statements get unique names, so two clients whose
    transactions land on one server connection never collide on asyncpg's numbered names
    (SQLAlchemy's asyncpg dialect documentation, "Prepared Statement Name with PGBouncer")."""
    args: dict[str, object] = {
        "statement_cache_size": size,
        "prepared_statement_cache_size": size,
    }
    if size == 0:
        args["prepared_statement_name_func"] = _unique_statement_name
    return args


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


class StatementCacheBehindPooler(ExplainedFailure):
    """asyncpg's cached statements met a pooler that gives each transaction another server
    connection: a statement prepared on one is missing, or its name taken, on the next."""

    def __init__(self) -> None:
        super().__init__(
            "a prepared statement is missing or its name taken on the server connection: "
            f"a pooler in transaction mode (PgBouncer) is in front of Postgres; set "
            f"{STATEMENT_CACHE_FIX}"
        )


#: The setting that makes rest_service work behind a transaction pooler.
STATEMENT_CACHE_FIX = "DB_STATEMENT_CACHE_SIZE=0"
#: What asyncpg raises when a named statement is not where its cache says it is.
_POOLER_STATEMENT_ERRORS = (
    asyncpg.InvalidSQLStatementNameError,  # prepared statement "…" does not exist
    asyncpg.DuplicatePreparedStatementError,  # prepared statement "…" already exists
)


def is_statement_cache_behind_pooler(exc: BaseException) -> bool:
    return caused_by(exc, _POOLER_STATEMENT_ERRORS)


def caused_by(
    exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    """`exc` or an error it was raised from or during is one of `kinds`."""
    return any(isinstance(seen, kinds) for seen in causes(exc))


def causes(exc: BaseException) -> list[BaseException]:
    """`exc`, the error it was raised from or during, that one's, and so on."""
    found: list[BaseException] = []
    seen: BaseException | None = exc
    # a chain can loop back on itself
    while seen is not None and all(seen is not f for f in found) and len(found) < 20:
        found.append(seen)
        seen = seen.__cause__ or seen.__context__
    return found


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
        await check_database(engine, timeout)
    except Exception:  # health reports a failure, it never raises one
        return False
    return True


async def check_database(engine: AsyncEngine, timeout: float) -> None:
    """`SELECT 1`, or its error (`StatementCacheBehindPooler` when that is what it is)."""
    try:
        async with asyncio.timeout(timeout), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        if is_statement_cache_behind_pooler(exc):
            raise StatementCacheBehindPooler from exc
        raise
