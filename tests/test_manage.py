"""manage.py as an engineer runs it: up (embedded), .env on first run, start/status/stop, dlq."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis as syncredis

from common.infrastructure.queue import ConsumerConfig, StreamConsumer
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from ops.infra import port_answers
from ops.processes import COVERAGE_VARIABLE
from ops.services import NAMES, ROOT
from tests.streams import raw
from tests.waiting import NotInTime, until, until_sync

pytestmark = pytest.mark.e2e

MANAGE = [sys.executable, str(ROOT / "manage.py")]


def free_base_port() -> int:
    for _ in range(50):
        # below Linux's ephemeral range (32768+): an outgoing connection's local port there
        # took a service's port between this check and its bind
        base = random.randrange(20_000, 32_700, 10)
        if not any(port_answers("127.0.0.1", base + i) for i in range(len(NAMES))):
            return base
    raise RuntimeError("no free ports in a row, one per service")


@contextlib.contextmanager
def busy_port(offset: int = 0, bases: Iterator[int] | None = None) -> Iterator[int]:
    """A free base port (`free_base_port`) whose `base + offset` this test listens on while
    the block runs. A port an earlier test's service left in TIME_WAIT answers nothing yet
    refuses the bind: then another base is tried."""
    for base in bases or (free_base_port() for _ in range(20)):
        with socket.socket() as busy:
            try:
                busy.bind(("127.0.0.1", base + offset))
            except OSError:
                continue
            busy.listen()
            yield base
            return
    raise RuntimeError("no base port whose port could be held")


def bare_env(**extra: str) -> dict[str, str]:
    """An empty environment, as on a fresh machine: only PATH and HOME (and, inside a
    container image, the switch that keeps manage.py from building a .venv; in a run under
    `--coverage`, coverage.py's configuration, so manage.py and its services are measured)."""
    kept = ("SMART_ASSISTANT_NO_BOOTSTRAP", COVERAGE_VARIABLE)
    keep = {k: os.environ[k] for k in kept if k in os.environ}
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **keep, **extra}


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MANAGE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def wait_for_line(path: Path, pattern: str, proc: subprocess.Popen, timeout: float) -> str:
    """The first match of `pattern` in the file at `path`; fails at once if `proc` exits."""

    def text() -> str:
        return path.read_text(errors="replace") if path.exists() else ""

    with contextlib.suppress(NotInTime):
        until_sync(lambda: re.search(pattern, text()) or proc.poll() is not None, timeout)
    if found := re.search(pattern, text()):
        return found.group(0)
    if proc.poll() is not None:
        raise AssertionError(f"manage.py exited {proc.returncode}:\n{text()[-3000:]}")
    raise AssertionError(f"no line matching {pattern!r} in {timeout}s:\n{text()[-3000:]}")


@pytest.mark.timeout(240)
def test_up_embedded_from_nothing_runs_every_service_and_stops_on_sigint(
    tmp_path, embedded_data_dir
) -> None:
    env_file, data_dir, out = tmp_path / ".env", embedded_data_dir, tmp_path / "up.log"
    base = free_base_port()
    telegram_port = free_base_port()
    telegram = subprocess.Popen(
        [sys.executable, "-m", "sandbox.telegram_api", "--port", str(telegram_port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = bare_env(
        TELEGRAM_TOKEN="123456:TEST-token",
        TELEGRAM_API_BASE=f"http://127.0.0.1:{telegram_port}",
    )
    with out.open("w") as log:
        proc = subprocess.Popen(
            [
                *MANAGE,
                "--data-dir",
                str(data_dir),
                "--env-file",
                str(env_file),
                "--base-port",
                str(base),
                "up",
                "--embedded",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        wait_for_line(out, r"manage.py: up: .*", proc, timeout=180)
        text = out.read_text()
        assert "Postgres: embedded" in text and "Redis: embedded" in text
        assert f"wrote {env_file}" in text
        for offset in range(len(NAMES)):
            assert httpx.get(f"http://127.0.0.1:{base + offset}/health").status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        telegram.terminate()
        telegram.wait(10)
    assert "manage.py: stopped" in out.read_text()
    assert not any(port_answers("127.0.0.1", base + i) for i in range(len(NAMES)))
    assert not (data_dir / "postgres" / "postmaster.pid").exists()


def test_tg_bot_is_left_out_with_a_reason_while_there_is_no_token(capsys) -> None:
    from ops.cli import runnable
    from ops.processes import specs

    chosen = runnable(specs(None), {"TELEGRAM_TOKEN": ""})
    assert [s.name for s in chosen] == [
        "rest_service", "google_calendar_service", "assistant", "cron_service", "channels",
    ]  # fmt: skip
    assert "tg_bot not started: TELEGRAM_TOKEN is empty" in capsys.readouterr().err


def test_env_file_is_written_once_with_fresh_secrets(tmp_path) -> None:
    from ops.envfile import read_env_file, write_env_file

    first = tmp_path / "a.env"
    write_env_file(ROOT / ".env.example", first)
    values = read_env_file(first)
    assert len(values["ADMIN_API_TOKEN"]) >= 32 and len(values["SERVICE_API_TOKEN"]) >= 32
    assert values["ADMIN_API_TOKEN"] != values["SERVICE_API_TOKEN"]
    second = tmp_path / "b.env"
    write_env_file(ROOT / ".env.example", second)
    assert read_env_file(second)["LLM_MODEL_DECRYPT_KEY"] != values["LLM_MODEL_DECRYPT_KEY"]
    assert oct(first.stat().st_mode)[-3:] == "600"


def test_an_existing_env_file_keeps_its_values_and_gets_the_secrets_it_lacks(
    tmp_path, capsys
) -> None:
    from ops.cli import Context, ensure_env_file
    from ops.envfile import read_env_file

    env_file = tmp_path / ".env"
    env_file.write_text("ADMIN_API_TOKEN=mine\nSERVICE_API_TOKEN=\nDEFAULT_TIMEZONE=Europe/Paris\n")
    ensure_env_file(Context(tmp_path / "data", env_file, None))
    values = read_env_file(env_file)
    assert values["ADMIN_API_TOKEN"] == "mine" and values["DEFAULT_TIMEZONE"] == "Europe/Paris"
    assert len(values["SERVICE_API_TOKEN"]) >= 32 and len(values["LLM_MODEL_DECRYPT_KEY"]) == 44
    said = capsys.readouterr().err
    assert "added fresh SERVICE_API_TOKEN, " in said and "ADMIN_API_TOKEN" not in said
    before = env_file.read_text()
    ensure_env_file(Context(tmp_path / "data", env_file, None))  # complete now: untouched
    assert env_file.read_text() == before and "added" not in capsys.readouterr().err


@pytest.mark.timeout(180)
def test_start_status_stop_round_trip(tmp_path, service_env) -> None:
    base = free_base_port()
    env = bare_env(**service_env)
    common = [
        "--data-dir",
        str(tmp_path / "data"),
        "--env-file",
        str(tmp_path / ".env"),
        "--base-port",
        str(base),
    ]
    started = manage(
        *common, "start", "--service", "rest_service", "--service", "assistant", env=env
    )
    assert started.returncode == 0, started.stderr
    status = manage(*common, "status", env=env).stdout
    assert re.search(rf"rest_service\s+running\s+\d+\s+{base}\s+ok", status), status
    assert re.search(rf"assistant\s+running\s+\d+\s+{base + 2}\s+ok", status), status
    assert re.search(r"tg_bot\s+stopped", status), status
    again = manage(*common, "start", "--service", "assistant", env=env)
    assert "assistant already running" in again.stderr
    before = re.search(r"assistant\s+running\s+(\d+)", status)
    restarted = manage(*common, "restart", "--service", "assistant", env=env)
    assert restarted.returncode == 0, restarted.stderr
    assert "assistant stopped" in restarted.stderr and "healthy: assistant" in restarted.stderr
    status = manage(*common, "status", env=env).stdout
    after = re.search(rf"assistant\s+running\s+(\d+)\s+{base + 2}\s+ok", status)
    assert before and after and after.group(1) != before.group(1), status
    assert re.search(rf"rest_service\s+running\s+\d+\s+{base}\s+ok", status), status
    stopped = manage(*common, "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    status = manage(*common, "status", env=env).stdout
    assert re.search(r"rest_service\s+stopped", status) and re.search(
        r"assistant\s+stopped", status
    )
    assert not port_answers("127.0.0.1", base)


#: A parent that never reaps: its child, once it exits, stays a zombie (as under an init
#: that reaps late or never, the parent of a service whose `start` has returned).
NEGLECTFUL_PARENT = textwrap.dedent(
    """
    import signal, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    print(child.pid, flush=True)
    signal.pause()
    """
)


def test_stop_is_done_when_the_service_exits_though_no_one_reaps_it(tmp_path: Path) -> None:
    from ops.processes import Background
    from ops.stack import pid_alive

    parent = subprocess.Popen(
        [sys.executable, "-c", NEGLECTFUL_PARENT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        background = Background(tmp_path / "run", tmp_path / "logs")
        background.pid_file("assistant").write_text(str(pid))
        stopped = threading.Event()

        def stop() -> None:
            background.stop("assistant", timeout=3600)  # SIGKILL only after an hour
            stopped.set()

        threading.Thread(target=stop, daemon=True).start()
        assert stopped.wait(60), "stop waited for the zombie to be reaped"
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state == "Z" and not pid_alive(pid)  # exited, and still not reaped
        assert not background.pid_file("assistant").exists()
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_busy_port_passes_over_a_port_left_in_time_wait() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        left = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", left))
        accepted, _ = server.accept()
        accepted.close()  # the server's side closes first: the port stays in TIME_WAIT
        client.close()
    assert not port_answers("127.0.0.1", left)
    with busy_port(bases=iter([left, free_base_port()])) as base:
        assert base != left
        assert port_answers("127.0.0.1", base)


def test_start_reports_a_port_in_use(tmp_path, service_env) -> None:
    with busy_port() as base:
        result = manage(
            "--data-dir",
            str(tmp_path / "data"),
            "--env-file",
            str(tmp_path / ".env"),
            "--base-port",
            str(base),
            "start",
            "--service",
            "rest_service",
            env=bare_env(**service_env),
        )
    assert result.returncode == 1
    assert f"port in use: rest_service ({base})" in result.stderr


async def test_dlq_lists_shows_and_replays_a_dead_entry_which_is_then_handled(
    tmp_path, service_env, redis, names: Names
) -> None:
    message = OutgoingMessage(message_id=uuid.uuid4(), chat_id=9, text="second chance")
    client = syncredis.Redis.from_url(service_env["REDIS_URL"])
    dead_id = raw(
        client.xadd(
            names.dead("queue:to_telegram"),
            {
                "data": message.to_json(),
                "error": "TelegramError: 502",
                "stream": "queue:to_telegram",
                "group": "tg_bot",
                "entry_id": "1-0",
                "attempts": "5",
                "failed_at": "2026-11-22T00:00:00",
            },
        )
    ).decode()
    env = bare_env(**service_env)
    common = ["--data-dir", str(tmp_path / "data"), "--env-file", str(tmp_path / ".env")]

    listed = manage(*common, "dlq", "list", env=env)
    assert dead_id in listed.stdout and "TelegramError: 502" in listed.stdout
    shown = json.loads(manage(*common, "dlq", "show", dead_id, env=env).stdout)
    assert shown["message_id"] == str(message.message_id) and shown["attempts"] == "5"
    replayed = manage(*common, "dlq", "replay", dead_id, env=env)
    assert replayed.returncode == 0, replayed.stderr
    assert client.xlen(names.dead("queue:to_telegram")) == 0

    handled: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        handled.append(msg.text)

    consumer = StreamConsumer(
        redis,
        names,
        "queue:to_telegram",
        "tg_bot",
        OutgoingMessage,
        handle,
        config=ConsumerConfig(block_ms=100),
    )
    task = asyncio.create_task(consumer.run())
    with contextlib.suppress(NotInTime):
        await until(lambda: handled, 5, "the entry handled")
    consumer.stop()
    await task
    assert handled == ["second chance"]
    assert manage(*common, "dlq", "purge", env=env).returncode == 1  # needs --yes
    client.close()


def test_dlq_lists_and_shows_a_dead_entry_nested_too_deep_to_parse(
    tmp_path, service_env, names: Names
) -> None:
    client = syncredis.Redis.from_url(service_env["REDIS_URL"])
    deep = '{"message_id": ' + "[" * 100_000 + "]" * 100_000 + "}"
    dead_id = raw(
        client.xadd(
            names.dead("queue:to_secretary"),
            {"data": deep, "error": "malformed: too deep", "stream": "queue:to_secretary"},
        )
    ).decode()
    env = bare_env(**service_env)
    common = ["--data-dir", str(tmp_path / "data"), "--env-file", str(tmp_path / ".env")]
    listed = manage(*common, "dlq", "list", env=env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert dead_id in listed.stdout and "malformed: too deep" in listed.stdout
    shown = manage(*common, "dlq", "show", dead_id, env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    entry = json.loads(shown.stdout)
    assert entry["error"] == "malformed: too deep" and entry["data"].startswith('{"message_id"')
    client.delete(names.dead("queue:to_secretary"))
    client.close()


def _embedded_running(data_dir: Path) -> list[str]:
    """The embedded servers of `data_dir` still alive, read from their own pid files."""
    alive = []
    for name, pidfile in (("postgres", "postgres/postmaster.pid"), ("redis", "redis/redis.pid")):
        path = data_dir / pidfile
        if path.exists() and path.read_text().strip():
            try:
                os.kill(int(path.read_text().split()[0]), 0)
            except (OSError, ValueError):
                continue
            alive.append(name)
    return alive


@pytest.mark.timeout(240)
def test_a_start_that_fails_stops_the_services_and_servers_it_started(
    tmp_path, embedded_data_dir
) -> None:
    data_dir = embedded_data_dir
    common = ["--data-dir", str(data_dir), "--env-file", str(tmp_path / ".env")]
    with busy_port(2) as base:  # the assistant's port: its start is what fails
        result = manage(
            *common, "--base-port", str(base), "start", "--embedded",
            "--service", "rest_service", "--service", "assistant",
            env=bare_env(), timeout=200,
        )  # fmt: skip
    try:
        assert result.returncode == 1, result.stderr[-3000:]
        assert "rest_service started" in result.stderr, result.stderr[-3000:]
        assert f"port in use: assistant ({base + 2})" in result.stderr
        assert not port_answers("127.0.0.1", base), "rest_service was left running"
        assert _embedded_running(data_dir) == [], result.stderr[-3000:]
        assert not (data_dir / "run" / "state.json").exists()
    finally:
        manage(*common, "stop", env=bare_env())


@pytest.mark.timeout(180)
def test_up_stops_the_stack_when_a_service_dies_and_exits_non_zero(tmp_path, service_env) -> None:
    data_dir, out, base = tmp_path / "data", tmp_path / "up.log", free_base_port()
    with out.open("w") as log:
        proc = subprocess.Popen(
            [*MANAGE, "--data-dir", str(data_dir), "--env-file", str(tmp_path / ".env"),
             "--base-port", str(base), "up", "--service", "rest_service", "--no-seed"],
            env=bare_env(**service_env), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        wait_for_line(out, r"manage.py: up: .*", proc, timeout=150)
        state = json.loads((data_dir / "run" / "state.json").read_text())
        os.kill(state["pids"]["rest_service"], signal.SIGKILL)
        assert proc.wait(60) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.read_text()
    assert "manage.py: rest_service exited; stopping the others" in text
    assert "manage.py: stopped" in text
    assert not (data_dir / "run" / "state.json").exists()
