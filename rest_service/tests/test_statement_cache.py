"""asyncpg's prepared statements and a pooler in transaction mode (PgBouncer): with the cache
off (`DB_STATEMENT_CACHE_SIZE=0`) every statement gets a name of its own, and a cached
statement missing on the server connection is named as the pooler problem it is."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from rest_service.app.database import (
    STATEMENT_CACHE_FIX,
    StatementCacheBehindPooler,
    check_database,
    create_engine,
    database_ok,
    is_database_down,
)
from rest_service.app.main import create_app
from rest_service.app.settings import Settings
from rest_service.app.state import AppState


async def test_without_a_statement_cache_no_two_statements_share_a_name(
    settings: Settings,
) -> None:
    """Behind a transaction pooler, two clients' statements meet on one server connection:
    asyncpg's numbered names (`__asyncpg_stmt_1__`) would collide, unique ones cannot."""
    engine = create_engine(settings.model_copy(update={"db_statement_cache_size": 0}))
    try:
        async with engine.connect() as conn:
            for n in range(3):
                await conn.execute(text("SELECT CAST(:n AS int) + 1"), {"n": n})
            await conn.execute(text("SELECT 2"))
            await conn.execute(text("SELECT 2"))
            names = [
                row[0]
                for row in await conn.execute(text("SELECT name FROM pg_prepared_statements"))
            ]
    finally:
        await engine.dispose()
    assert names, "nothing prepared: the test saw nothing"
    assert all(re.fullmatch(r"__asyncpg_[0-9a-f]{32}__", name) for name in names), names
    assert len(set(names)) == len(names)


async def test_a_cached_statement_gone_from_the_server_connection_names_the_fix(
    settings: Settings,
) -> None:
    """What a pooler does to a cached statement (the next transaction runs on another server
    connection), done on one connection: the statements are dropped under asyncpg's cache."""
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
    try:
        await check_database(engine, timeout=5)
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("DEALLOCATE ALL")  # type: ignore[union-attr]

        with pytest.raises(StatementCacheBehindPooler) as raised:
            await check_database(engine, timeout=5)

        assert STATEMENT_CACHE_FIX in str(raised.value)
        assert not await database_ok(engine)
    finally:
        await engine.dispose()


def test_a_connection_level_error_counts_as_postgres_down() -> None:
    refused = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
    assert is_database_down(refused)


async def test_readiness_names_the_fix_when_the_cached_statements_are_gone(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Kubernetes and the dashboard read: not "postgres did not answer" (Postgres does
    answer) but the setting that makes rest_service work behind the pooler."""
    monkeypatch.setenv("DB_POOL_SIZE", "1")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
            assert (await http.get("/readyz")).status_code == 200
            state: AppState = app.state.app_state
            async with state.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                await raw.driver_connection.execute("DEALLOCATE ALL")  # type: ignore[union-attr]

            ready = await http.get("/readyz")

    assert ready.status_code == 503, ready.text
    assert "postgres" in ready.text and STATEMENT_CACHE_FIX in ready.text
