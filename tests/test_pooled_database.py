"""The in-process tests reach their worker's database through a PgBouncer of the worker's own
(`pooled_database_url`, tests/harness.py): one test's engine gets the Postgres backend an
earlier one started, and each sees only what it wrote, as directly."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from common.infrastructure.postgres_url import libpq_dsn
from ops.infra import DatabaseServer
from tests.pgbouncer import CANDIDATES, owned_dir, start_pgbouncer
from tests.programs import require_program


async def backend(url: str) -> tuple[int, str]:
    """The backend a new connection to `url` lands on, and its database."""
    connection = await asyncpg.connect(libpq_dsn(url))
    try:
        row = await connection.fetchrow("SELECT pg_backend_pid(), current_database()")
    finally:
        await connection.close()
    assert row is not None
    return row[0], row[1]


@pytest.fixture
def pooled(settings_env: dict[str, str], database_url: str) -> str:
    require_program("pgbouncer", "pgbouncer", *CANDIDATES)  # a failure in CI, else a skip
    url = settings_env["ASYNC_DATABASE_URL"]
    assert urlsplit(url).port != urlsplit(database_url).port
    return url


async def test_new_connections_get_the_backends_earlier_ones_left(
    pooled: str, database_url: str
) -> None:
    landed = [await backend(pooled) for _ in range(5)]

    # One after the other they share one backend; two, should one still be being reset.
    assert len({pid for pid, _ in landed}) <= 2
    assert {name for _, name in landed} == {urlsplit(database_url).path.lstrip("/")}


async def test_what_a_connection_set_is_gone_for_the_next(pooled: str) -> None:
    """DISCARD ALL between clients: a setting, a prepared statement or a temporary table
    of one test is never the next one's."""
    connection = await asyncpg.connect(libpq_dsn(pooled))
    try:
        await connection.execute("SET application_name = 'left behind'")
        await connection.execute("CREATE TEMP TABLE left_behind (n int)")
    finally:
        await connection.close()

    connection = await asyncpg.connect(libpq_dsn(pooled))
    try:
        name = await connection.fetchval("SHOW application_name")
        table = await connection.fetchval("SELECT to_regclass('pg_temp.left_behind')")
    finally:
        await connection.close()
    assert name != "left behind" and table is None


def test_without_pgbouncer_wanted_the_tests_reach_postgres_directly(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from tests import harness

    monkeypatch.setenv("TEST_PGBOUNCER", "0")
    fixture = harness.pooled_database_url.__wrapped__(database_url)  # type: ignore[attr-defined]
    assert next(fixture) == database_url


@pytest.mark.e2e  # starts a PgBouncer of its own
async def test_a_database_of_another_user_is_pooled_for_that_user(
    postgres_server: DatabaseServer, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An embedded or developer's server may run the tests as a user other than postgres."""
    program = require_program("pgbouncer", "pgbouncer", *CANDIDATES)
    role = f"sa_pool_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(libpq_dsn(database_url))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        own = database_url.replace("//postgres@", f"//{role}@", 1)
        root = owned_dir(Path(tempfile.mkdtemp(prefix="sa_pgbouncer_")))
        bouncer = start_pgbouncer(program, root, own, pool_mode="session", pool_size=2)
        try:
            connection = await asyncpg.connect(libpq_dsn(bouncer.through(own)))
            try:
                assert await connection.fetchval("SELECT current_user") == role
            finally:
                await connection.close()
        finally:
            bouncer.stop()
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://postgres:secret@127.0.0.1:5432/db",  # PgBouncer would need it
        "postgresql+asyncpg://postgres@/db?host=/tmp/embedded",  # the embedded server's socket
    ],
)
def test_a_database_the_pool_cannot_reach_as_the_url_does_is_reached_directly(url: str) -> None:
    from tests import harness

    fixture = harness.pooled_database_url.__wrapped__(url)  # type: ignore[attr-defined]
    assert next(fixture) == url
