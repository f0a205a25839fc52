"""The test harness every service's tests share (loaded by the root conftest.py).

Each test session (each pytest-xdist worker) gets its own Postgres database (copied from the
server's template for the current migrations, dropped after) and each test its own
REDIS_KEY_PREFIX, so two runs, or two workers of one run, sharing
one server never hear each other. `stack` starts chosen services as real processes on free
ports (ops/processes.py, the one supervisor) and stops them afterwards.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
import redis.asyncio as aioredis
import structlog

from common.infrastructure.redis_keys import Names
from ops import fork_server
from ops.infra import DatabaseServer, admin_dsn, find_postgres, find_redis
from ops.processes import Stack, measured
from ops.run_env import base_env, forget_prefix, fresh_secrets
from ops.services import ROOT
from tests.pgbouncer import find_pgbouncer, owned_dir, start_pgbouncer
from tests.programs import require_program

# Code a test runs without a service's `configure_logging` logs through structlog's defaults,
# which render an exception with rich, highlighting each frame's source: the quick tests'
# expected failures spent about 1.5 % of their CPU on it. Plain tracebacks say the same.
structlog.configure(
    processors=[
        *structlog.get_config()["processors"][:-1],
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ]
)

#: Settings that would let a developer's .env or shell leak into a test run.
_ISOLATED = (
    "TELEGRAM_TOKEN",
    "TELEGRAM_API_BASE",
    "ALLOWED_TELEGRAM_IDS",
    "PAIRING",
    "ALLOWED_GROUPS",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "LOG_FILE",
)


#: pytest run directly starts no server; `./manage.py test` starts embedded ones when needed.
NO_SERVER = (
    "no {kind}: run the tests with ./manage.py test (it starts an embedded one), "
    "set {url}, or start one on 127.0.0.1:{port}"
)


#: `TEST_FORK_SERVER=0` starts each service as a fresh interpreter instead.
FORK_SERVER_VARIABLE = "TEST_FORK_SERVER"


def pytest_configure(config: pytest.Config) -> None:
    """The services this run (this xdist worker) starts are forked from one process that
    imported them once (ops/fork_server.py), unless `TEST_FORK_SERVER=0`."""
    if os.environ.get(FORK_SERVER_VARIABLE, "1") != "0":
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        config.stash[_FORKS] = fork_server.enable(measured(env), ROOT)


def pytest_unconfigure(config: pytest.Config) -> None:
    if (forks := config.stash.get(_FORKS, None)) is not None:
        forks.close()


_FORKS = pytest.StashKey[fork_server.ForkServer]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the imports and the collection made lives as long as the run: frozen out of the
    garbage collector, each full collection walks only what tests make (as a service's start,
    common/infrastructure/collector.py). About 8 % off rest_service's tests here."""
    gc.freeze()
    FROZEN_AT_COLLECTION.append(gc.get_freeze_count())


#: What `pytest_collection_finish` froze (`common/tests/test_collector.py` reads it).
FROZEN_AT_COLLECTION: list[int] = []


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """Every test leaves the root logger as it found it. One that configures logging in its
    own process (a service's main, a manage.py command) adds a handler writing to that test's
    captured stderr, which pytest closes after it; a later test's log line on that handler
    then printed "--- Logging error ... I/O operation on closed file" into its own stderr."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_server() -> DatabaseServer:
    found = find_postgres(os.environ.get("TEST_DATABASE_URL"))
    if found is None:
        pytest.exit(NO_SERVER.format(kind="Postgres", url="TEST_DATABASE_URL", port=5432), 3)
    return DatabaseServer(found.url)


def worker() -> str:
    """This pytest-xdist worker's id (`gw0`, ...), `main` outside xdist: a part of the names of
    the session's database and key prefix, so parallel workers never share either."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


#: Every statement planned as a long-lived process plans it after a few runs: generic, its
#: parameters unknown. A statement only right with its values in view (an ON CONFLICT whose
#: partial index's predicate is a parameter) then fails at the first run, not the sixth.
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}


class MigratedDatabases:
    """New databases at the migrations' head, each a copy of the server's template for
    these migrations (`DatabaseServer.migrated_template`): Postgres copies a template in
    about 0.1 s, where Alembic takes 3 to 5 s (more under coverage), which every module that
    starts a whole system paid, and then every xdist worker."""

    def __init__(self, server: DatabaseServer, template: str) -> None:
        self.server = server
        self._template = template

    def create(self) -> str:
        name = f"sa_test_{worker()}_{uuid.uuid4().hex[:10]}"
        return self.server.create(name, template=self._template, settings=GENERIC_PLANS)

    def drop(self, url: str) -> None:
        self.server.drop(url)


@pytest.fixture(scope="session")
def migrated_databases(postgres_server: DatabaseServer) -> MigratedDatabases:
    return MigratedDatabases(postgres_server, postgres_server.migrated_template())


@pytest.fixture(scope="session")
def database_url(migrated_databases: MigratedDatabases) -> Iterator[str]:
    """This session's (under xdist: this worker's) own database, migrated to head."""
    url = migrated_databases.create()
    try:
        yield url
    finally:
        migrated_databases.drop(url)


@pytest.fixture(scope="session")
def pooled_database_url(database_url: str) -> Iterator[str]:
    """This worker's database through a PgBouncer of its own in session mode, for what the
    tests build in this process (`settings_env`): a test's new engine then gets a Postgres
    backend an earlier test started and warmed, where each new backend cost Postgres about
    17 ms of CPU (start, then every table opened once by the app's emptying). The services a
    test starts as processes connect directly. Without PgBouncer (tests/pgbouncer.py), with a
    password in the URL, on a Unix socket (the embedded server), or with TEST_PGBOUNCER=0, it
    is the database's own URL."""
    program = find_pgbouncer()
    if program is None or os.environ.get("TEST_PGBOUNCER") == "0" or not _poolable(database_url):
        yield database_url
        return
    root = owned_dir(Path(tempfile.mkdtemp(prefix="sa_pgbouncer_")))
    # A connection back in the pool is reset (DISCARD ALL); one idle for 10 s is closed, so
    # the pool holds at most what the tests use at once, not the most they ever did.
    bouncer = start_pgbouncer(
        program, root, database_url, pool_mode="session", pool_size=40, idle_seconds=10
    )
    try:
        yield bouncer.through(database_url)
    finally:
        bouncer.stop()
        shutil.rmtree(root, ignore_errors=True)


def _poolable(url: str) -> bool:
    """Over TCP and trusted: what the tests' PgBouncer can reach as the URL does."""
    parts = urlsplit(url)
    return parts.password is None and parts.hostname is not None and "host=" not in parts.query


@pytest.fixture
def empty_database(postgres_server: DatabaseServer) -> Iterator[str]:
    """A database of this test's own, not migrated."""
    url = postgres_server.create()
    try:
        yield url
    finally:
        postgres_server.drop(url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    found = find_redis(os.environ.get("TEST_REDIS_URL"))
    if found is None:
        pytest.exit(NO_SERVER.format(kind="Redis", url="TEST_REDIS_URL", port=6379), 3)
    return found.url


@pytest.fixture(scope="session")
def session_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"test:{worker()}:{uuid.uuid4().hex[:8]}:"
    yield prefix
    forget_prefix(redis_url, prefix)


@pytest.fixture
def key_prefix(session_prefix: str) -> str:
    """This test's own REDIS_KEY_PREFIX."""
    return f"{session_prefix}{uuid.uuid4().hex[:6]}:"


@pytest.fixture
def names(key_prefix: str) -> Names:
    return Names(key_prefix)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def secrets() -> dict[str, str]:
    return {**fresh_secrets(), "TELEGRAM_TOKEN": "123456:TEST-token"}


@pytest.fixture
def service_env(
    database_url: str, redis_url: str, key_prefix: str, secrets: dict[str, str]
) -> dict[str, str]:
    """The environment a service of this test runs with."""
    return {**base_env(database_url, redis_url, key_prefix, secrets), **SERVICE_POOL}


#: The pool of each rest_service a test starts: at most 2 idle connections kept (production
#: keeps 20), the same 30 at once. A worker keeps several services for a module or the whole
#: session, and their idle connections counted against the server's `max_connections` for
#: every worker (ops/cli.py `CONNECTIONS_A_WORKER`).
SERVICE_POOL = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "28"}


#: rest_service's background loops, off in an app a test runs in its own process: their units
#: of work join the test's connection and race its queries, and the delivery worker's client
#: session and subscription cost each test about a tenth of a second. The tests of a loop
#: turn it on with settings of their own.
REST_LOOPS_OFF = {
    "HISTORY_RETENTION_DAYS": "0",
    "WEBHOOK_RETENTION_DAYS": "0",
    "WEBHOOK_DELIVERY_ENABLED": "false",
    "HANDOFF_SWEEP_SECONDS": "0",
}


@pytest.fixture
def settings_env(
    monkeypatch: pytest.MonkeyPatch, service_env: dict[str, str], pooled_database_url: str
) -> dict[str, str]:
    """Puts `service_env` into os.environ for settings built in this process, the database
    reached through the worker's pool (`pooled_database_url`)."""
    env = {**service_env, "ASYNC_DATABASE_URL": pooled_database_url}
    for name in _ISOLATED:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def secretary_config(
    *,
    provider: str,
    base_url: str,
    api_key: str,
    model: str,
    secretary: str,
    tools: list[dict[str, Any]],
) -> dict[str, Any]:
    """A config document: one provider and its default model, a brief secretary with `tools`."""
    return {
        "providers": [{"name": provider, "base_url": base_url, "api_key": api_key}],
        "models": [{"provider": provider, "provider_model_name": model, "is_default": True}],
        "assistants": [{"name": secretary, "is_secretary": True, "instructions": "Be brief."}],
        "tools": tools,
        "links": [{"assistant": secretary, "tool": tool["name"]} for tool in tools],
    }


@pytest.fixture(scope="module")
def module_rest_service(
    request: pytest.FixtureRequest,
    database_url: str,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """rest_service on the session's database, started once for a module whose tests share
    it (starting it was most of each test's time), under a key prefix of the module's own.
    Processes a test adds to the stack are stopped with it, all at once, at the module's end;
    no test may stop rest_service. The module starts with no cron jobs: a cron_service it
    starts would fire all that earlier modules left due (485 in a whole run), and that burst
    held rest_service's connections past a readiness probe's timeout on a loaded machine."""
    forget_cron_jobs(database_url)
    label = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    prefix = f"{session_prefix}{label}-{uuid.uuid4().hex[:6]}:"
    running = Stack(
        base_env(database_url, redis_url, prefix, secrets), tmp_path_factory.mktemp(label)
    )
    try:
        running.start("rest_service")
        yield running
    finally:
        running.stop_all(together=True)


def query(database_url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Raw SQL on the database, committed; the rows it returns (none for a statement that
    returns none)."""
    conn = psycopg2.connect(admin_dsn(database_url))
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def forget_cron_jobs(database_url: str) -> None:
    """Deletes every cron job (their runs and acknowledgements go with them) on the database."""
    query(database_url, "DELETE FROM cron_jobs")


@pytest.fixture
def stack(service_env: dict[str, str], tmp_path: Path) -> Iterator[Stack]:
    workdir = tmp_path / "stack"
    workdir.mkdir()
    running = Stack(dict(service_env), workdir)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium for the browser tests (CHROMIUM_PATH names another)."""
    return require_program(os.environ.get("CHROMIUM_PATH", "chromium"), "chromium")
