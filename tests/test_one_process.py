"""All services in one process (ops/one_process.py): one service's failure is its own (it is
started again after a backoff while the others answer), and manage.py's start, status,
restart and stop act on the one pid."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.processes import Stack, healthy
from ops.services import NAMES, ROOT
from tests.test_manage import MANAGE, bare_env, free_base_port, manage
from tests.waiting import until_sync

pytestmark = pytest.mark.e2e


@pytest.fixture
def taken_ports() -> Iterator[dict[str, socket.socket]]:
    """Listening sockets that hold ports a service wants (closed at the end)."""
    held: dict[str, socket.socket] = {}
    yield held
    for sock in held.values():
        sock.close()


def take_port(held: dict[str, socket.socket], name: str) -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    held[name] = sock
    return int(sock.getsockname()[1])


def test_a_service_that_cannot_start_is_started_again_while_the_others_answer(
    stack: Stack, taken_ports: dict[str, socket.socket]
) -> None:
    """A worker (cron_service: its health server raises) and an app (channels: uvicorn exits)
    fail on ports held by someone else; each is retried, the others serve, and each comes up
    once its port is free."""
    held = {name: take_port(taken_ports, name) for name in ("cron_service", "channels")}
    own = {name: {"HTTP_PORT": str(port)} for name, port in held.items()}
    stack.launch_one_process({name: own.get(name, {}) for name in NAMES if name != "tg_bot"})
    others = ["rest_service", "google_calendar_service", "assistant"]
    stack.wait_healthy(others)

    def events(event: str) -> list[str]:
        lines = stack["rest_service"].logs().splitlines()
        found = (json.loads(line) for line in lines if line.startswith("{"))
        return [line["service"] for line in found if line.get("event") == event]

    def retried_twice() -> bool:
        return all(events("service_restarting").count(name) >= 2 for name in held)

    until_sync(retried_twice, 60, "two restarts of each")
    assert set(events("service_failed")) == set(held)
    assert all(healthy(stack.url(name)) for name in others)
    assert stack["rest_service"].running

    for sock in taken_ports.values():
        sock.close()
    stack.wait_healthy(held)
    assert all(healthy(stack.url(name)) for name in others)
    with urllib.request.urlopen(f"{stack.url('channels')}/livez", timeout=5) as live:
        assert live.status == 200
    # SIGTERM stops every service, each as in its own process, and the process ends with 0;
    # each has its own grace (SHUTDOWN_GRACE_SECONDS, 10 s: a request to Google in its retries
    # holds google_calendar_service that long), so the whole stop is given more than one.
    assert stack["channels"].stop(timeout=60) == 0, stack["channels"].logs(30)
    assert all(not stack[name].running for name in NAMES if name != "tg_bot")


def test_start_status_restart_and_stop_act_on_the_one_process(
    tmp_path: Path, database_url: str, redis_url: str, key_prefix: str
) -> None:
    data_dir, env_file, base = tmp_path / "data", tmp_path / "one.env", free_base_port()
    env_file.write_text(
        textwrap.dedent(f"""\
        ASYNC_DATABASE_URL={database_url}
        REDIS_URL={redis_url}
        REDIS_KEY_PREFIX="{key_prefix}"
        OPENAI_API_KEY=sk-one-process
        """)
    )
    where = ["--data-dir", str(data_dir), "--env-file", str(env_file), "--base-port", str(base)]
    try:
        started = manage(*where, "start", "--one-process", env=bare_env(), timeout=240)
        assert started.returncode == 0, started.stderr[-3000:]
        assert "one process started: pid" in started.stderr

        pids = running_pids(manage(*where, "status", env=bare_env()).stdout)
        assert set(NAMES) - {"tg_bot"} <= set(pids) and len(set(pids.values())) == 1
        twice = manage(*where, "start", "--one-process", env=bare_env())
        assert twice.returncode == 0 and "the one process is already running" in twice.stderr

        refused = manage(*where, "stop", "--service", "assistant", env=bare_env())
        assert refused.returncode == 1 and "share one process" in refused.stderr

        again = manage(*where, "restart", env=bare_env(), timeout=240)
        assert again.returncode == 0, again.stderr[-3000:]
        after = running_pids(manage(*where, "status", env=bare_env()).stdout)
        assert len(set(after.values())) == 1 and set(after.values()) != set(pids.values())
    finally:
        stopped = manage(*where, "stop", env=bare_env(), timeout=120)
    assert stopped.returncode == 0 and "the one process stopped" in stopped.stderr
    assert running_pids(manage(*where, "status", env=bare_env()).stdout) == {}


def test_up_runs_the_chosen_services_in_one_process_until_stopped(
    tmp_path: Path, database_url: str, redis_url: str, key_prefix: str
) -> None:
    """`up --one-process` in the foreground: one pid for the services chosen, each on its
    port; `stop` ends it."""
    data_dir, env_file, base = tmp_path / "data", tmp_path / "up.env", free_base_port()
    env_file.write_text(
        f"ASYNC_DATABASE_URL={database_url}\nREDIS_URL={redis_url}\n"
        f'REDIS_KEY_PREFIX="{key_prefix}"\nOPENAI_API_KEY=sk-one-process\n'
    )
    where = ["--data-dir", str(data_dir), "--env-file", str(env_file), "--base-port", str(base)]
    chosen = ("rest_service", "cron_service")
    with (tmp_path / "up.log").open("wb") as log:
        up = subprocess.Popen(
            [*MANAGE, *where, "up", "--one-process",
             *(arg for name in chosen for arg in ("--service", name))],
            env=bare_env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:

        def all_running() -> dict[str, int] | None:
            pids = running_pids(manage(*where, "status", env=bare_env()).stdout)
            ports = [base + NAMES.index(name) for name in chosen]
            answering = all(healthy(f"http://127.0.0.1:{port}") for port in ports)
            return pids if set(pids) == set(chosen) and answering else None

        pids = until_sync(all_running, 180, "both services healthy in one process")
        assert len(set(pids.values())) == 1 and up.pid not in pids.values()
        stopped = manage(*where, "stop", env=bare_env(), timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.wait(60)
    assert "Traceback" not in (tmp_path / "up.log").read_text()


def running_pids(status: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"(\w+)\s+running\s+(\d+)", status)}
