"""ops/infra.py starting embedded servers on a busy machine: a pid file that exists before
it holds a pid is waited for, and a start that fails stops what it started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ops import infra
from ops.services import ROOT

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
