"""Managed Postgres, reproduced locally: a Postgres of the test's own that accepts TLS only
(a certificate authority made by the test), a managed-style role without CREATEDB and without
access to the `postgres` database, and a PgBouncer in transaction mode. One URL in either
spelling runs Alembic (psycopg2) and rest_service (asyncpg) against them."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import psycopg2
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text

from common.infrastructure.postgres_url import libpq_dsn
from common.tests.certificates import Authority
from ops import infra
from rest_service.app.database import create_engine
from rest_service.app.main import create_app
from rest_service.app.settings import Settings
from rest_service.app.state import AppState
from tests.harness import base_env
from tests.pgbouncer import (
    CANDIDATES,
    PgBouncer,
    as_postgres,
    give,
    owned_dir,
    start_pgbouncer,
)
from tests.programs import postgres_bin, require_program

pytestmark = pytest.mark.e2e

pytestmark = pytest.mark.timeout(600)

#: A password that needs %-escaping in a URL (and would break a naive one).
PASSWORD = "p@ss:w/rd%?#&= x"
ROLE = "managed_app"
#: The setting that makes rest_service work behind a transaction pooler.
FIX = "DB_STATEMENT_CACHE_SIZE=0"
DATABASE = "managed_db"


@pytest.fixture(scope="module")
def server_dir() -> Iterator[Path]:
    """A folder the `postgres` user can reach (pytest's own temp root is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="sa_managed_pg_"))
    try:
        yield owned_dir(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class TlsPostgres:
    port: int
    authority: Authority
    data: Path

    def url(self, query: str, host: str = "127.0.0.1", database: str = DATABASE) -> str:
        auth = f"{ROLE}:{quote(PASSWORD, safe='')}"
        return f"postgresql+asyncpg://{auth}@{host}:{self.port}/{database}?{query}"

    def admin(self, database: str = "postgres") -> Any:
        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, sslmode="require"
        )
        conn.autocommit = True
        return conn


@pytest.fixture(scope="module")
def tls_postgres(server_dir: Path) -> Iterator[TlsPostgres]:
    """TLS only (hostssl in pg_hba, so plaintext is refused), on 127.0.0.1 and 127.0.0.2 (a
    name the certificate does not carry), the role and its database made, `postgres` closed."""
    root = owned_dir(server_dir / "tls")
    authority = Authority(owned_dir(root / "ca"))
    server = authority.issue("server", "localhost", ("localhost", "127.0.0.1"))
    data = root / "data"
    bin_dir = postgres_bin()
    as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "reject"])
    for file in (server.cert, server.key):
        shutil.copy(file, data / file.name)
        give(data / file.name)
    (data / "server.key").chmod(0o600)
    port = infra.free_port()
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1,127.0.0.2'\n"
            f"unix_socket_directories = '{data}'\nssl = on\n"
            "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
            "max_connections = 60\nfsync = off\n"
        )
    (data / "pg_hba.conf").write_text(
        "hostssl all postgres 127.0.0.1/32 trust\nhostssl all all 127.0.0.0/8 scram-sha-256\n"
    )
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-w"]
    as_postgres([*pg_ctl, "start"])
    try:
        found = TlsPostgres(port, authority, data)
        conn = found.admin()
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {ROLE} LOGIN NOCREATEDB PASSWORD %s", (PASSWORD,))
            cur.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
            # What a managed service's application role meets: no way into `postgres`.
            cur.execute("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")
        conn.close()
        yield found
    finally:
        as_postgres([*pg_ctl, "-m", "immediate", "stop"])


def _ssl_in_use(url: str) -> bool:
    conn = psycopg2.connect(libpq_dsn(url))
    with conn.cursor() as cur:
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        row = cur.fetchone()
    conn.close()
    return bool(row and row[0])


# -- the app, in process, on a given URL ---------------------------------------------------


@asynccontextmanager
async def rest_app(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rest") as http:
            yield app, http


def app_env(url: str, redis_url: str, secrets: dict[str, str], **extra: str) -> dict[str, str]:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    return {**base_env(url, redis_url, prefix, secrets), **extra}


async def user_round(http: httpx.AsyncClient, token: str) -> list[int]:
    """Several statements per request, in several requests: a user made, changed, a reminder
    made for them and read back. The status codes."""
    auth = {"Authorization": f"Bearer {token}"}
    telegram_id = uuid.uuid4().int % 10**12 + 1
    made = await http.post(
        "/api/users/", headers=auth, json={"telegram_id": telegram_id, "username": "ann"}
    )
    codes = [made.status_code]
    if made.status_code != 201:
        return codes
    user = made.json()
    changed = await http.put(
        f"/api/users/{user['id']}", headers=auth, json={"timezone": "Europe/Berlin"}
    )
    job = await http.post(
        "/api/cron-jobs/",
        headers=auth,
        json={
            "name": "water",
            "chat_id": telegram_id,
            "text": "drink water",
            "cron_expression": "0 9 * * *",
        },
    )
    codes += [changed.status_code, job.status_code]
    if job.status_code == 201:
        read = await http.get(f"/api/cron-jobs/{job.json()['id']}", headers=auth)
        codes.append(read.status_code)
    return codes


# -- (a) TLS only --------------------------------------------------------------------------


def test_plaintext_is_refused(tls_postgres: TlsPostgres) -> None:
    url = tls_postgres.url("sslmode=disable")
    with pytest.raises(psycopg2.OperationalError, match="no encryption"):
        psycopg2.connect(libpq_dsn(url))

    async def plain() -> None:
        await asyncpg.connect(
            host="127.0.0.1",
            port=tls_postgres.port,
            user=ROLE,
            password=PASSWORD,
            database=DATABASE,
            ssl="disable",
        )

    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        asyncio.run(plain())


@pytest.mark.parametrize("query", ["sslmode=require", "ssl=require", "ssl=true"])
async def test_one_url_migrates_and_serves_over_tls(
    tls_postgres: TlsPostgres,
    query: str,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    secrets: dict[str, str],
) -> None:
    """Either spelling: Alembic (psycopg2) upgrades to head and back, rest_service (asyncpg)
    answers real API calls, both over TLS."""
    database = f"tls_{uuid.uuid4().hex[:8]}"
    conn = tls_postgres.admin()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database} OWNER {ROLE}")
    conn.close()
    url = tls_postgres.url(query, database=database)
    infra.ensure_database(url)
    infra.migrate(url)
    assert _ssl_in_use(url)
    async with rest_app(monkeypatch, app_env(url, redis_url, secrets)) as (app, http):
        assert await user_round(http, secrets["SERVICE_API_TOKEN"]) == [201, 200, 201, 200]
        state: AppState = app.state.app_state
        async with state.engine.connect() as db:
            row = await db.execute(
                text("SELECT ssl, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
            assert tuple(row.one()) == (True, ROLE)
        health = await http.get("/health")
        assert health.status_code == 200, health.text
    infra.migrate(url, "downgrade", "base")


async def test_verify_full_with_the_test_ca(
    tls_postgres: TlsPostgres,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    secrets: dict[str, str],
) -> None:
    root = tls_postgres.authority.cert_path
    url = tls_postgres.url(f"sslmode=verify-full&sslrootcert={root}")
    infra.migrate(url)
    async with rest_app(monkeypatch, app_env(url, redis_url, secrets)) as (_app, http):
        assert await user_round(http, secrets["SERVICE_API_TOKEN"]) == [201, 200, 201, 200]


@pytest.mark.parametrize(("mode", "passes"), [("verify-full", False), ("verify-ca", True)])
async def test_verify_full_checks_the_host_name_verify_ca_does_not(
    tls_postgres: TlsPostgres, mode: str, passes: bool
) -> None:
    """127.0.0.2 reaches the same server, but its certificate names only localhost/127.0.0.1."""
    root = tls_postgres.authority.cert_path
    url = tls_postgres.url(f"sslmode={mode}&sslrootcert={root}", host="127.0.0.2")
    settings = Settings(_env_file=None, environment="test", async_database_url=url)
    engine = create_engine(settings)
    try:
        if passes:
            async with engine.connect() as db:
                assert (await db.execute(text("SELECT 1"))).scalar() == 1
            assert _ssl_in_use(url)
        else:
            with pytest.raises(Exception, match=r"(?i)hostname|IP address mismatch"):
                async with engine.connect() as db:
                    await db.execute(text("SELECT 1"))
            with pytest.raises(psycopg2.OperationalError, match="does not match"):
                psycopg2.connect(libpq_dsn(url))
    finally:
        await engine.dispose()


def test_an_unknown_authority_is_refused(tls_postgres: TlsPostgres, tmp_path: Path) -> None:
    other = Authority(tmp_path)
    url = tls_postgres.url(f"sslmode=verify-ca&sslrootcert={other.cert_path}")
    with pytest.raises(infra.InfraError, match=r"SSL error|certificate verify failed"):
        infra.migrate(url)


# -- (c) start-up without the postgres database --------------------------------------------


def test_ensure_database_needs_no_postgres_database_when_the_target_exists(
    tls_postgres: TlsPostgres,
) -> None:
    url = tls_postgres.url("sslmode=require")
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(infra.admin_dsn(url, "postgres"))  # what the old start-up needed
    infra.ensure_database(url)


def test_a_missing_database_the_role_cannot_create_is_one_clear_line(
    tls_postgres: TlsPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = tls_postgres.url("sslmode=require", database="not_there")
    tried: list[str] = []
    connect = psycopg2.connect

    def recorded(dsn: str, **kwargs: Any) -> Any:
        tried.append(psycopg2.extensions.parse_dsn(dsn)["dbname"])
        return connect(dsn, **kwargs)

    monkeypatch.setattr(psycopg2, "connect", recorded)
    with pytest.raises(infra.InfraError) as caught:
        infra.ensure_database(url)
    message = str(caught.value)
    assert "\n" not in message
    assert "'not_there' does not exist" in message
    assert "permission denied for database" in message
    assert "CREATEDB" in message
    assert PASSWORD not in message
    assert tried == ["not_there", "postgres"]  # each refusal taken at once, none retried


def test_a_missing_database_is_created_when_the_role_may(tls_postgres: TlsPostgres) -> None:
    conn = tls_postgres.admin()
    with conn.cursor() as cur:
        cur.execute("CREATE ROLE creator LOGIN CREATEDB PASSWORD 'creator-pw'")
        cur.execute("GRANT CONNECT ON DATABASE postgres TO creator")
    conn.close()
    name = f"made_{uuid.uuid4().hex[:8]}"
    port = tls_postgres.port
    url = f"postgresql+asyncpg://creator:creator-pw@127.0.0.1:{port}"  # secret-scan: example
    url += f"/{name}?ssl=require"
    infra.ensure_database(url)
    psycopg2.connect(libpq_dsn(url)).close()


# -- (b) PgBouncer in transaction mode ------------------------------------------------------


@pytest.fixture(scope="module")
def pgbouncer(server_dir: Path, postgres_server: infra.DatabaseServer) -> Iterator[PgBouncer]:
    """Transaction pooling with few server connections, so clients' transactions keep landing
    on server connections other clients prepared statements on."""
    program = require_program("pgbouncer", "pgbouncer", *CANDIDATES)
    root = owned_dir(server_dir / "pgbouncer")
    bouncer = start_pgbouncer(
        program, root, postgres_server.server_url, pool_mode="transaction", pool_size=4
    )
    try:
        yield bouncer
    finally:
        bouncer.stop()


async def concurrent_rounds(http: httpx.AsyncClient, token: str, count: int) -> list[int]:
    rounds = await asyncio.gather(*(user_round(http, token) for _ in range(count)))
    return [code for codes in rounds for code in codes]


async def test_statement_cache_off_works_behind_pgbouncer_in_transaction_mode(
    pgbouncer: PgBouncer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    secrets: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = pgbouncer.through(database_url)
    # As many rounds at once as the pool has connections: five clients to each of
    # PgBouncer's server connections, and none waiting on the pool's 5 s checkout timeout
    # (on a loaded machine 50 at once did, which is not what this test is about).
    pool = 20
    env = app_env(url, redis_url, secrets, DB_STATEMENT_CACHE_SIZE="0", DB_POOL_SIZE=str(pool))
    async with rest_app(monkeypatch, env) as (_app, http):
        for _ in range(8):
            codes = await concurrent_rounds(http, secrets["SERVICE_API_TOKEN"], pool)
            assert codes == [201, 200, 201, 200] * pool, sorted(set(codes))
    assert "prepared statement" not in caplog.text


async def test_the_default_statement_cache_breaks_behind_pgbouncer(
    pgbouncer: PgBouncer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    secrets: dict[str, str],
) -> None:
    """Why DB_STATEMENT_CACHE_SIZE=0 exists: with asyncpg's cache on, named statements
    prepared on one server connection are looked for on another."""
    url = pgbouncer.through(database_url)
    async with rest_app(monkeypatch, app_env(url, redis_url, secrets)) as (_app, http):
        codes = await concurrent_rounds(http, secrets["SERVICE_API_TOKEN"], 50)
    assert any(code >= 500 for code in codes), sorted(set(codes))


async def test_behind_pgbouncer_the_statement_cache_error_names_the_setting_that_fixes_it(
    pgbouncer: PgBouncer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    secrets: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same failures, as an operator meets them: the log line and `/readyz` say what
    they are and which setting fixes them, not a bare ProgrammingError or DatabaseDown."""
    url = pgbouncer.through(database_url)
    async with rest_app(monkeypatch, app_env(url, redis_url, secrets)) as (_app, http):
        unready: list[dict[str, Any]] = []
        for _ in range(10):  # until a probe lands on a server connection it did not prepare on
            load = concurrent_rounds(http, secrets["SERVICE_API_TOKEN"], 50)
            answers: list[Any] = await asyncio.gather(
                *(http.get("/readyz") for _ in range(20)), load
            )
            # A probe whose check outlived its time on a loaded machine met no error yet.
            unready += [
                body
                for a in answers[:-1]
                if a.status_code == 503
                and not (body := a.json())["checks"]["postgres"]["error"].startswith(
                    "no answer within"
                )
            ]
            if unready:
                break
    assert unready, "no probe met the error"
    for body in unready:
        error = body["checks"]["postgres"]["error"]
        assert error.startswith("StatementCacheBehindPooler: ") and FIX in error, error
    lines = capsys.readouterr().err.splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    named = [e for e in events if e.get("event") == "database_statement_cache_behind_pooler"]
    assert named and all(e["fix"] == FIX for e in named), events[-3:]
    assert not [e for e in events if e.get("event") == "unhandled_error"]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("sslmode=maybe", "expected one of"),
        ("sslmode=verify-full&sslrootcert=/no/such/ca.pem", "/no/such/ca.pem"),
        ("channel_binding=require", "asyncpg cannot"),
    ],
)
def test_a_url_a_driver_cannot_use_stops_rest_service_at_start_up(query: str, words: str) -> None:
    url = f"postgresql+asyncpg://app@db.example.com/app?{query}"
    with pytest.raises(ValidationError, match=words):
        Settings(_env_file=None, environment="test", async_database_url=url)
