"""The supervisor of ops/processes.py with small programs as the services: a detached service
that ignores SIGTERM is killed after the grace time, a stale pid file is no running service,
and one that never answers `/health` or exits at once is named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ops.infra import free_port
from ops.processes import (
    Background,
    ServiceError,
    ServiceProcess,
    ServiceSpec,
    Stack,
    specs,
    wait_healthy,
)
from tests.waiting import until_sync

pytestmark = pytest.mark.e2e

#: A service that answers /health and ignores SIGTERM (stopped only by SIGKILL).
STUBBORN = """\
import os, signal
from http.server import BaseHTTPRequestHandler, HTTPServer

signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


print("stubborn: serving", flush=True)
HTTPServer(("127.0.0.1", int(os.environ["HTTP_PORT"])), Health).serve_forever()
"""


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    """A folder with the programs, run as `python -m NAME` from it."""
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    (tmp_path / "quitter.py").write_text(
        "print('quitter: giving up', flush=True)\nraise SystemExit(3)\n"
    )
    (tmp_path / "silent.py").write_text("import signal\nsignal.pause()\n")  # idles
    return tmp_path


def env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"]}


def test_an_unknown_service_is_named_with_the_known_ones() -> None:
    with pytest.raises(ServiceError, match=r"unknown service nope; one of \('rest_service'"):
        specs(None, ["rest_service", "nope"])


def test_a_detached_service_that_ignores_sigterm_is_killed_and_forgotten(
    programs: Path, tmp_path: Path
) -> None:
    """As `stop` meets it: a service another `manage.py start` left, known by its pid file."""
    port = free_port()
    service = subprocess.Popen(
        [sys.executable, "-m", "stubborn"], cwd=programs, env={**env(), "HTTP_PORT": str(port)},
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert service.stdout is not None and service.stdout.readline() == b"stubborn: serving\n"
        bg = Background(tmp_path / "run", tmp_path / "logs")
        bg.pid_file("stubborn").write_text(str(service.pid))
        assert bg.pid("stubborn") == service.pid
        with pytest.raises(ServiceError, match=f"stubborn is already running \\(pid {service.pid}"):
            bg.launch(ServiceSpec("stubborn", port), env(), programs)
        assert bg.stop("stubborn", timeout=0.5) is True  # SIGTERM ignored: SIGKILL
        assert service.wait(10) == -signal.SIGKILL
        assert bg.pid("stubborn") is None and not bg.pid_file("stubborn").exists()
        assert bg.stop("stubborn") is False  # nothing left to stop
    finally:
        service.kill()
        service.wait()
        if service.stdout is not None:
            service.stdout.close()
    bg.log_file("stubborn").write_text("one\ntwo\nthree\n")
    assert bg.tail("stubborn", lines=2) == "two\nthree"
    assert bg.tail("never-started") == ""


def test_a_pid_file_whose_process_is_gone_is_no_running_service(tmp_path: Path) -> None:
    bg = Background(tmp_path / "run", tmp_path / "logs")
    bg.pid_file("assistant").write_text("999999999")  # beyond any pid the kernel gives
    assert bg.pid("assistant") is None
    assert not bg.pid_file("assistant").exists()


def test_a_service_that_never_answers_or_exits_at_once_is_named_with_its_log(
    programs: Path, tmp_path: Path
) -> None:
    silent = ServiceProcess("silent", "silent", free_port(), env(), tmp_path / "silent.log")
    assert silent.logs() == "" and silent.stop() is None  # never started
    with pytest.raises(ServiceError, match="silent did not become healthy in 1s"):
        silent.start(programs, timeout=1)
    assert silent.running
    assert silent.stop(timeout=5) is not None and not silent.running

    quitter = ServiceProcess("quitter", "quitter", free_port(), env(), tmp_path / "quitter.log")
    with pytest.raises(ServiceError, match="quitter exited with 3:\nquitter: giving up"):
        quitter.start(programs, timeout=30)
    assert quitter.logs(last=1) == "quitter: giving up"
    assert quitter.proc is not None
    with pytest.raises(ServiceError, match="quitter exited with 3"):
        wait_healthy("quitter", quitter.url, quitter.proc, lambda: "", 30)


def test_a_pid_is_alive_while_its_process_runs_not_once_it_exited_unreaped() -> None:
    """What `status` and `stop` ask of a recorded pid: an exited child that its parent has
    not reaped yet (a zombie) no longer runs."""
    from ops.stack import pid_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        until_sync(lambda: _state(child.pid) == "Z", 30, "the child exited, not reaped")
        assert pid_alive(child.pid) is False
    finally:
        child.wait()
    assert pid_alive(os.getpid()) is True
    assert pid_alive(999_999_999) is False  # no such process


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_services_waited_for_together_that_stay_silent_are_named_with_their_logs(
    programs: Path,
) -> None:
    from ops.processes import wait_all_healthy

    quiet = subprocess.Popen([sys.executable, "-m", "silent"], cwd=programs, env=env())
    try:
        with pytest.raises(ServiceError) as raised:
            wait_all_healthy(
                {"silent": (f"http://127.0.0.1:{free_port()}", quiet)},
                lambda name: f"{name}'s last lines",
                timeout=0.5,
            )
        assert str(raised.value) == (
            "silent did not become healthy in 0s:\nsilent:\nsilent's last lines"
        )
    finally:
        quiet.kill()
        quiet.wait()


def test_a_stack_service_that_ignores_sigterm_is_killed_and_is_not_started_twice(
    programs: Path,
) -> None:
    """As a test's `stack` meets it: a second start of a running one is refused (two on one
    name would leave the first unstoppable), and a stop it ignores ends in SIGKILL."""
    stack = Stack(env(), programs)
    service = stack.start("stubborn", timeout=30)
    try:
        with pytest.raises(RuntimeError, match="stubborn is already running"):
            stack.start("stubborn")
        assert stack["stubborn"] is service and service.running

        assert service.stop(timeout=0.5) == -signal.SIGKILL

        assert not service.running
        assert "stubborn: serving" in service.logs()
    finally:
        service.kill()
