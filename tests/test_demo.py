"""`./manage.py demo` as a person runs it: every service as a process, the stand-ins for the
outside world, the terminal as a Telegram chat (and a web chat visitor, a WhatsApp and a Slack
user). Each test gives the demo a database and
a Redis key prefix of its own, and checks that no service process outlives it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops.infra import DatabaseServer, with_database
from ops.services import NAMES, ROOT
from sandbox.mail_servers import missing as mail_servers_missing
from tests.programs import tools_required
from tests.test_manage import MANAGE, bare_env, free_base_port
from tests.waiting import until_sync

pytestmark = pytest.mark.e2e

SCRIPT = """\
# the demo's tour, as a script
what time is it in Tokyo
weather in Paris
remind me in 3 seconds to stretch
/wait stretch 60
what's on my calendar
/click
what's on my calendar
/group what's the weather in Berlin?
/web what time is it in Tokyo
/whatsapp what time is it in Tokyo
/slack weather in Paris
/email what time is it in Tokyo
"""


@dataclass
class DemoRun:
    """How one test runs the demo: its data folder, database and key prefix."""

    tmp_path: Path
    database: str
    prefix: str
    env: dict[str, str]

    def command(self, *args: str) -> list[str]:
        return [
            *MANAGE,
            "--data-dir", str(self.tmp_path / "data"),
            "--env-file", str(self.tmp_path / "none.env"),
            "--base-port", str(free_base_port()),  # not 8100: another run may be there
            "demo", "--db-name", self.database, "--key-prefix", self.prefix, *args,
        ]  # fmt: skip

    def services_left(self) -> list[str]:
        """Our services still running: processes whose environment has our key prefix."""
        return [f"{pid}: {cmdline}" for pid, cmdline in self._ours()]

    def kill_leftovers(self) -> None:
        """After a failed test: nothing of ours may outlive it."""
        for pid, _cmdline in self._ours():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _ours(self) -> list[tuple[int, str]]:
        marker = f"REDIS_KEY_PREFIX={self.prefix}".encode()
        left = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if marker in environ:
                left.append((int(pid), cmdline.decode(errors="replace")))
        return left


@pytest.fixture
def demo(
    tmp_path: Path, postgres_server: DatabaseServer, redis_url: str, key_prefix: str
) -> Iterator[DemoRun]:
    database = f"smart_assistant_demo_{uuid.uuid4().hex[:8]}"
    env = bare_env(ASYNC_DATABASE_URL=postgres_server.server_url, REDIS_URL=redis_url)
    run = DemoRun(tmp_path, database, f"{key_prefix}demo:", env)
    try:
        yield run
    finally:
        run.kill_leftovers()
        postgres_server.drop(with_database(postgres_server.server_url, database))


@pytest.mark.timeout(150)
def test_the_scripted_tour_shows_time_weather_reminder_calendar_and_group(
    demo: DemoRun,
) -> None:
    (demo.tmp_path / "tour.txt").write_text(SCRIPT)
    result = subprocess.run(
        demo.command("--script", str(demo.tmp_path / "tour.txt")),
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=140,
        cwd=ROOT,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr + out

    assert re.search(r"bot> It is \d\d:\d\d on \w+, [\d-]+ in Asia/Tokyo \(UTC\+09:00\)", out)
    assert re.search(r"bot> Weather in Paris, .*°C", out)
    assert "bot> Done. Reminder set for " in out and "bot> ⏰ stretch" in out
    assert "Connect it here: http://127.0.0.1:" in out and "(/click 1 opens the link)" in out
    assert "browser> Confirm in Telegram" in out and "browser> Calendar connected" not in out
    assert "bot> Connect the Google account user@example.com to your assistant?" in out
    assert "you> /calendar confirm" in out
    assert "bot> ✅ Google Calendar connected as user@example.com" in out
    assert "bot> On your calendar (3):" in out and "Team stand-up" in out
    assert "Bob in Team> @smart_assistant_demo_bot what's the weather in Berlin?" in out
    assert re.search(r"bot in Team> Weather in Berlin, .*°C", out)
    assert "web visitor> what time is it in Tokyo" in out
    assert re.search(r"web> It is \d\d:\d\d on \w+, [\d-]+ in Asia/Tokyo", out)
    assert "you in whatsapp> what time is it in Tokyo" in out
    # in WhatsApp's and Slack's own marks (*bold*)
    assert re.search(r"whatsapp> It is \*\d\d:\d\d\* on \w+, [\d-]+ in Asia/Tokyo", out)
    assert "you in slack> weather in Paris" in out
    assert re.search(r"slack> Weather in \*Paris, .*°C", out)
    if mail_servers_missing() and not tools_required():
        # The demo says why its e-mail user is off (CI has the servers and root).
        assert f"/email is off here: {mail_servers_missing()}" in out
    else:
        assert "you by e-mail> what time is it in Tokyo" in out
        assert re.search(r"email> It is \d\d:\d\d on \w+, [\d-]+ in Asia/Tokyo", out)
    assert "(no answer" not in out and "(nothing with" not in out
    assert out.index("⏰ stretch") < out.index("you> what's on my calendar")
    assert "demo: stopped" in result.stderr
    assert demo.services_left() == []


def _own_terminal() -> None:
    """In the child: a session of its own with the pty as its terminal, so Ctrl-C typed
    there is a SIGINT for it, as at a real terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The demo at a terminal (a pseudo-terminal), as a person types into it."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.fd, child = pty.openpty()
        self.proc = subprocess.Popen(
            command,
            env={**env, "TERM": "dumb"},
            stdin=child,
            stdout=child,
            stderr=child,
            cwd=ROOT,
            preexec_fn=_own_terminal,
        )
        os.close(child)
        self.seen = ""

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (found := re.search(pattern, self.seen)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and not self._read(0)):
                raise AssertionError(f"no {pattern!r} in:\n{self.seen[-3000:]}")
            self._read(min(left, 0.5))
        return found

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.seen += chunk.decode(errors="replace")
        return bool(chunk)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.fd)


@pytest.mark.timeout(150)
def test_at_a_terminal_a_reminder_shows_while_the_prompt_waits_and_ctrl_c_stops_all(
    demo: DemoRun,
) -> None:
    terminal = Terminal(demo.command(), demo.env)
    try:
        terminal.expect(r"/help lists the demo", timeout=120)
        terminal.expect(r"you> ", timeout=10)
        terminal.type("/help\n")
        terminal.expect(r"/click \[N\]", timeout=10)
        terminal.type("remind me in 3 seconds to stretch\n")
        terminal.expect(r"bot> Done\. Reminder set", timeout=60)
        # the check below sees them while they run
        assert len(demo.services_left()) == len(NAMES)
        mark = len(terminal.seen)
        # Nothing typed: the reminder arrives on its own, above a fresh prompt.
        terminal.expect(r"bot> ⏰ stretch\s*\n\s*you> ", timeout=60)
        assert mark < terminal.seen.rindex("⏰ stretch")
        terminal.type("\x03")  # Ctrl-C
        assert terminal.proc.wait(60) == 0
        terminal.expect(r"demo: stopped", timeout=10)
    finally:
        terminal.close()
    assert demo.services_left() == []


def test_services_a_killed_demo_left_behind_are_stopped_by_the_next(tmp_path: Path) -> None:
    from ops.demo import stop_leftovers

    # Stand-ins for a leftover service, and for an unrelated process that reused a pid.
    leftover = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    # A leftover has run for a while: its command line is http.server's, not the forked
    # pytest worker's it has until its exec (a loaded machine took the check there first).
    until_sync(
        lambda: b"-m\0http.server" in Path(f"/proc/{leftover.pid}/cmdline").read_bytes(),
        30,
        "the leftover running http.server",
    )
    pid_file = tmp_path / "services.json"
    pid_file.write_text(json.dumps({"http.server": leftover.pid, "rest_service": unrelated.pid}))
    try:
        stop_leftovers(pid_file)
        assert leftover.wait(10) is not None
        assert unrelated.poll() is None
        assert not pid_file.exists()
    finally:
        for proc in (leftover, unrelated):
            proc.kill()
            proc.wait(10)


def test_the_demos_services_see_only_its_own_settings_and_the_basics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: the demo's services never see your settings, listed in .env.example or not."""
    from ops import demo as demo_module
    from ops.infra import Infra
    from ops.processes import specs

    caller = {
        "REDIS_SENTINELS": "127.0.0.1:26379",
        "REDIS_CLUSTER": "true",
        "TELEGRAM_WEBHOOK_SECRET": "a",
        "SOMETHING_NOBODY_LISTS": "x",
        "PYTHONWARNINGS": "error",
        "LC_ALL": "C.UTF-8",
        "HOME": "/home/someone",
    }
    callers = {**os.environ, **caller}
    world = demo_module.World()
    world.start()
    try:
        chosen = specs(free_base_port())

        def env_under(environ: dict[str, str]) -> dict[str, str]:
            monkeypatch.setattr(os, "environ", environ)
            return demo_module.service_env(
                demo_module.Isolation(tmp_path, "smart_assistant_demo_x", "demo:"),
                Infra("postgresql+asyncpg://127.0.0.1/d", "redis://127.0.0.1/0", "x", "x"),
                world,
                chosen,
                chosen[1].url,
            )

        own = env_under({})
        env = env_under(callers)
    finally:
        world.stop()
    passed = set(env) - set(own)
    assert passed <= demo_module.PASSED_THROUGH | {k for k in passed if k.startswith("LC_")}
    assert {"HOME", "LC_ALL"} <= passed and env["HOME"] == "/home/someone" and env["PATH"]
    assert not {k for k in caller if k in env and k not in ("LC_ALL", "HOME")}
    assert {k: env[k] for k in own} == own  # nothing of the caller's replaces the demo's


def test_a_leftover_that_ignores_sigterm_is_killed_and_a_failed_step_shows_its_error(
    tmp_path: Path,
) -> None:
    from ops.demo import DemoError, run_python, stop_leftovers

    (tmp_path / "stubborn_service.py").write_text(
        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\nsignal.pause()\n"
    )
    leftover = subprocess.Popen(
        [sys.executable, "-m", "stubborn_service"], cwd=tmp_path, stdout=subprocess.PIPE
    )
    try:
        assert leftover.stdout is not None and leftover.stdout.readline() == b"ready\n"
        pid_file = tmp_path / "services.json"
        pid_file.write_text(json.dumps({"stubborn_service": leftover.pid}))
        stop_leftovers(pid_file, timeout=0.5)
        assert leftover.wait(10) == -signal.SIGKILL and not pid_file.exists()
    finally:
        leftover.kill()
        leftover.wait(10)
        if leftover.stdout is not None:
            leftover.stdout.close()
    with pytest.raises(DemoError, match=r"`python -c .*` failed:\nthe seed went wrong"):
        run_python(["-c", "import sys; sys.exit('the seed went wrong')"], {}, tmp_path)
