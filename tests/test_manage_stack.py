"""manage.py finds its own stack: `up` on a base port with an env file of
its own, then `status`, `chat`, `dlq list` and `stop` from another shell act on that stack;
services read only the env file they are given; python-dotenv parses env files; missing
secrets are filled; readable logs in a terminal; one-line errors; the bootstrap's choices
(extras per command, a pinned uv, Python 3.11)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pty
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import redis as syncredis

from common.infrastructure.redis_keys import Names
from ops.infra import free_port, port_answers
from ops.services import ROOT
from sandbox.llm_server import LlmStandIn
from tests.private_servers import PrivateRedis
from tests.streams import raw
from tests.test_manage import MANAGE, bare_env, free_base_port, manage
from tests.waiting import NotInTime, until_sync

pytestmark = pytest.mark.e2e

# -- a stack started with `up`, found by the other commands ---------------------------------


class Terminal:
    """A pseudo-terminal as `up`'s stdout and stderr, read into `text` as it comes."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    @property
    def text(self) -> str:
        return b"".join(self._chunks).decode(errors="replace").replace("\r\n", "\n")

    def wait_for(self, pattern: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
        """Until `pattern` is printed; fails at once if `proc` exits first."""
        with contextlib.suppress(NotInTime):
            until_sync(lambda: re.search(pattern, self.text) or proc.poll() is not None, timeout)
        if not re.search(pattern, self.text):
            raise AssertionError(f"no {pattern!r} (exit {proc.poll()}):\n{self.text[-4000:]}")

    def close(self) -> None:
        os.close(self.slave)
        self._reader.join(5)
        os.close(self.master)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """Not the machine's Redis on 6379: a command that guessed would find nothing here."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def llm() -> Iterator[LlmStandIn]:
    with LlmStandIn() as server:
        yield server


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode().partition("=") for item in raw if item)
    return {name: value for name, _, value in pairs}


@pytest.mark.timeout(300)
def test_a_stack_started_with_up_on_a_base_port_is_found_by_status_chat_dlq_and_stop(
    tmp_path: Path, empty_database: str, private_redis: PrivateRedis, key_prefix: str, llm
) -> None:
    data_dir, env_file, base = tmp_path / "data", tmp_path / "stack.env", free_base_port()
    # No secrets (up adds them), an inline comment, and ports that --base-port must beat.
    env_file.write_text(
        textwrap.dedent(f"""\
        ASYNC_DATABASE_URL={empty_database}
        REDIS_URL={private_redis.url}
        REDIS_KEY_PREFIX="{key_prefix}"
        DEFAULT_TIMEZONE=Asia/Tokyo  # where the operator lives
        REST_SERVICE_URL=http://127.0.0.1:8000
        GOOGLE_REDIRECT_URI=http://127.0.0.1:8001/auth/callback
        OPENAI_API_KEY=sk-stack-env-file
        OPENAI_BASE_URL={llm.base_url}
        """)
    )
    terminal = Terminal()
    up = subprocess.Popen(
        [*MANAGE, "--data-dir", str(data_dir), "--env-file", str(env_file),
         "--base-port", str(base), "up", "--service", "rest_service",
         "--service", "google_calendar_service", "--service", "assistant"],
        env=bare_env(), stdout=terminal.slave, stderr=terminal.slave, cwd=ROOT,
    )  # fmt: skip
    # Elsewhere: no base port, and an env file that does not exist.
    other = ["--data-dir", str(data_dir), "--env-file", str(tmp_path / "absent.env")]
    try:
        terminal.wait_for(r"manage\.py: up: ", up, timeout=180)
        assert "added fresh ADMIN_API_TOKEN, SERVICE_API_TOKEN" in terminal.text
        assert "tracebacks" not in terminal.text and "Traceback" not in terminal.text

        status = manage(*other, "status", env=bare_env())
        assert status.returncode == 0, status.stderr
        for offset, name in enumerate(("rest_service", "google_calendar_service", "assistant")):
            assert re.search(rf"{name}\s+running\s+\d+\s+{base + offset}\s+ok", status.stdout)
        assert re.search(rf"cron_service\s+stopped\s+-\s+{base + 3}", status.stdout)
        assert f"Redis: configured ({private_redis.url})" in status.stderr

        chat = manage(*other, "chat", "-m", "hello there", "--timeout", "60", env=bare_env())
        assert chat.returncode == 0, chat.stderr[-3000:]
        assert chat.stdout.strip() == "You said: hello there"

        client = syncredis.Redis.from_url(private_redis.url)
        dead_id = raw(
            client.xadd(
                Names(key_prefix).dead("queue:to_telegram"),
                {"data": "{}", "error": "found-on-the-stack", "stream": "queue:to_telegram"},
            )
        ).decode()
        client.close()
        listed = manage(*other, "dlq", "list", env=bare_env())
        assert dead_id in listed.stdout and "found-on-the-stack" in listed.stdout, listed.stderr
        assert "1 dead letter(s)" in listed.stdout

        # What the services were given: the stack's ports and file, no env file of their own.
        pids = {
            name: int(pid) for name, pid in re.findall(r"(\w+)\s+running\s+(\d+)", status.stdout)
        }
        calendar = environ_of(pids["google_calendar_service"])
        assert calendar["GOOGLE_REDIRECT_URI"] == f"http://127.0.0.1:{base + 1}/auth/callback"
        assert calendar["REST_SERVICE_URL"] == f"http://127.0.0.1:{base}"
        assert calendar["SMART_ASSISTANT_ENV_FILE"] == ""
        assert calendar["DEFAULT_TIMEZONE"] == "Asia/Tokyo"
        assert calendar["LOG_FORMAT"] == "console"  # a terminal: readable lines
        rest_lines = [
            line.split("|", 1)[1].strip()
            for line in terminal.text.splitlines()
            if line.lstrip().startswith(("rest_service", "\x1b[36mrest_service")) and "|" in line
        ]
        assert rest_lines and not any(line.startswith("{") for line in rest_lines)

        again = manage(*other, "up", env=bare_env(), timeout=60)
        assert again.returncode == 1
        assert f"a stack from {data_dir} is running already (`up` (pid {up.pid}))" in again.stderr

        stopped = manage(*other, "stop", env=bare_env(), timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        assert f"stopped the stack of `up` (pid {up.pid})" in stopped.stderr
        assert up.wait(30) == 0
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)
            up.wait(60)
        terminal.close()
    assert not any(port_answers("127.0.0.1", base + i) for i in range(3))
    assert not (data_dir / "run" / "state.json").exists()
    after = manage(*other, "status", env=bare_env())
    assert re.search(r"rest_service\s+stopped\s+-", after.stdout), after.stdout
    gone = manage(*other, "dlq", "list", env=bare_env())
    assert gone.returncode == 1 and "no stack is running from" in gone.stderr


# -- one env file, read as the services read it ---------------------------------------------


def settings_in(cwd: Path, **env: str) -> str:
    """DEFAULT_TIMEZONE as a service's settings see it, started in `cwd`."""
    code = (
        "from common.infrastructure.settings import ServiceSettings;"
        "print(ServiceSettings(environment='test').default_timezone)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_services_settings_read_only_the_env_file_they_are_given(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_TIMEZONE=Asia/Tokyo\n")
    (tmp_path / "given.env").write_text("DEFAULT_TIMEZONE=Europe/Paris\n")
    # By hand, as before: ./.env of the working directory.
    assert settings_in(tmp_path) == "Asia/Tokyo"
    # The file manage.py names, and nothing of ./.env.
    given = str(tmp_path / "given.env")
    assert settings_in(tmp_path, SMART_ASSISTANT_ENV_FILE=given) == "Europe/Paris"
    # Set but empty: no env file at all.
    assert settings_in(tmp_path, SMART_ASSISTANT_ENV_FILE="") == "UTC"


def test_service_env_tells_services_to_read_no_env_file_and_base_port_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ops.cli import Context, service_env
    from ops.infra import Infra

    for name in ("SMART_ASSISTANT_ENV_FILE", "REST_SERVICE_URL", "GOOGLE_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "a.env"
    env_file.write_text(
        "REST_SERVICE_URL=http://127.0.0.1:8000\n"
        "GOOGLE_REDIRECT_URI=http://localhost:8001/auth/callback\n"
    )
    found = Infra("postgresql+asyncpg://p@h/db", "redis://h:1/0", "configured", "configured")
    env = service_env(Context(tmp_path, env_file, 21000), found)
    assert env["SMART_ASSISTANT_ENV_FILE"] == ""
    assert env["REST_SERVICE_URL"] == "http://127.0.0.1:21000"
    assert env["GOOGLE_CALENDAR_SERVICE_URL"] == "http://127.0.0.1:21001"
    assert env["GOOGLE_REDIRECT_URI"] == "http://localhost:21001/auth/callback"
    # A public callback (a tunnel, a proxy) is not this machine's port: left alone.
    env_file.write_text("GOOGLE_REDIRECT_URI=https://assistant.example.org/auth/callback\n")
    env = service_env(Context(tmp_path, env_file, 21000), found)
    assert env["GOOGLE_REDIRECT_URI"] == "https://assistant.example.org/auth/callback"
    # None configured: the service's default callback, on the stack's port.
    env_file.write_text("")
    env = service_env(Context(tmp_path, env_file, 21000), found)
    assert env["GOOGLE_REDIRECT_URI"] == "http://127.0.0.1:21001/auth/callback"


def test_env_files_mean_to_manage_py_what_they_mean_to_the_services(tmp_path: Path) -> None:
    from common.infrastructure.settings import ServiceSettings
    from ops.envfile import read_env_file

    path = tmp_path / "x.env"
    path.write_text(
        "DEFAULT_TIMEZONE=Europe/Paris  # inline comment\n"
        "REDIS_KEY_PREFIX='a # b:'\n"
        'REST_SERVICE_URL="http://127.0.0.1:9\\x"\n'
        "export LOG_LEVEL=DEBUG\n"
        "REDIS_URL=redis://127.0.0.1:${PORT_OF_REDIS}/0\n"
        "PORT_OF_REDIS=1\n"
    )
    values = read_env_file(path)
    settings = ServiceSettings(_env_file=path, environment="test")  # type: ignore[call-arg]
    assert values["DEFAULT_TIMEZONE"] == settings.default_timezone == "Europe/Paris"
    assert values["REDIS_KEY_PREFIX"] == settings.redis_key_prefix == "a # b:"
    assert values["REST_SERVICE_URL"] == settings.rest_service_url
    assert values["LOG_LEVEL"] == settings.log_level == "DEBUG"
    assert values["REDIS_URL"] == settings.redis_url


def test_an_env_file_that_cannot_be_parsed_is_one_line_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("REDIS_URL=redis://127.0.0.1:1/0\nthis is not a setting\n")
    result = manage("--env-file", str(bad), "--data-dir", str(tmp_path), "dlq", "list",
                    env=bare_env())  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"manage.py: error: {bad} line 2: cannot parse 'this is not a setting' "
        "(expected NAME=value)"
    )


def test_a_fresh_env_file_gets_a_postgres_password_for_compose(tmp_path: Path) -> None:
    from ops.envfile import read_env_file, write_env_file

    target = tmp_path / ".env"
    assert "POSTGRES_PASSWORD" in write_env_file(ROOT / ".env.example", target)
    assert len(read_env_file(target)["POSTGRES_PASSWORD"]) >= 32


# -- one-line errors --------------------------------------------------------------------------


def test_without_a_stack_or_redis_url_dlq_and_chat_say_so(tmp_path: Path) -> None:
    common = ["--data-dir", str(tmp_path / "data"), "--env-file", str(tmp_path / "none.env")]
    listed = manage(*common, "dlq", "list", env=bare_env())
    assert listed.returncode == 1
    assert listed.stderr.strip() == (
        f"manage.py: error: no stack is running from {tmp_path / 'data'} "
        "(start one with ./manage.py up) and REDIS_URL is not set"
    )
    chat = manage(*common, "chat", "-m", "hi", env=bare_env(SERVICE_API_TOKEN="t" * 40))
    assert chat.returncode == 1 and "no stack is running from" in chat.stderr


def test_an_unreachable_redis_or_postgres_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    common = ["--data-dir", str(tmp_path / "data"), "--env-file", str(tmp_path / "none.env")]
    nobody = free_port()
    listed = manage(*common, "dlq", "list", env=bare_env(REDIS_URL=f"redis://127.0.0.1:{nobody}/0"))
    assert listed.returncode == 1
    [line] = listed.stderr.strip().splitlines()
    assert line.startswith("manage.py: error: Redis does not answer: ")
    chat = manage(
        *common, "chat", "-m", "hi", "--timeout", "5",
        env=bare_env(
            REDIS_URL=f"redis://127.0.0.1:{nobody}/0",
            REST_SERVICE_URL=f"http://127.0.0.1:{nobody}",
            SERVICE_API_TOKEN="t" * 40,
        ),
    )  # fmt: skip
    assert chat.returncode == 1
    [line] = chat.stderr.strip().splitlines()
    # the first to fail (the user is looked up before anything is sent), not the clean-up's
    assert line.startswith("manage.py: error: rest_service does not answer: "), line
    upgrade = manage(
        *common, "upgrade",
        env=bare_env(
            ASYNC_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{nobody}/x",
            REDIS_URL=f"redis://127.0.0.1:{nobody}/0",
            # a few tries, not the 30 s a Postgres that is starting gets
            SMART_ASSISTANT_POSTGRES_WAIT_S="1",
        ),
        timeout=120,
    )  # fmt: skip
    assert upgrade.returncode == 1
    [line] = upgrade.stderr.strip().splitlines()
    assert line.startswith("manage.py: error: Postgres "), line


# -- console logs ------------------------------------------------------------------------------


def test_up_in_a_terminal_asks_for_console_logs_unless_told_otherwise() -> None:
    from ops.cli import console_logs

    assert console_logs({}, terminal=True) == {"LOG_FORMAT": "console"}
    assert console_logs({"LOG_FORMAT": "json"}, terminal=True) == {}
    assert console_logs({}, terminal=False) == {}


# -- rebuild -------------------------------------------------------------------------------------


def test_rebuild_builds_then_restarts_the_rebuilt_services_that_run(tmp_path: Path) -> None:
    """A stand-in `docker` (the engine is not here) records what manage.py asks of it."""
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'case "$*" in *"ps --services"*) printf "postgres\\nrest_service\\nassistant\\n";; esac\n'
    )
    fake.chmod(0o755)
    env = bare_env(PATH=f"{fake.parent}:{os.environ['PATH']}")
    result = manage("rebuild", "--service", "rest_service", "--service", "tg_bot", env=env)
    assert result.returncode == 0, result.stderr
    assert calls.read_text().splitlines() == [
        "compose build rest_service tg_bot",
        "compose ps --services --status running",
        "compose up -d --no-deps rest_service",
    ]
    assert "rebuilt and restarted rest_service" in result.stderr


def test_rebuild_says_which_step_failed_and_when_nothing_needed_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In this process, with a stand-in `docker` that fails the step named in $FAIL."""
    from ops.cli import main

    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert main(["rebuild"]) == 1
    assert (
        "error: docker is not installed; rebuild needs `docker compose`" in capsys.readouterr().err
    )

    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *"ps --services"*) printf "postgres\\n$RUNNING\\n"; exit 0;; esac\n'
        'case "$2" in "$FAIL") exit 1;; esac\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAIL", "build")
    assert main(["rebuild"]) == 1
    assert "error: docker compose build failed; see above" in capsys.readouterr().err
    monkeypatch.setenv("FAIL", "none")
    monkeypatch.setenv("RUNNING", "")
    assert main(["rebuild", "--service", "assistant"]) == 0
    assert "none of those services is running, so nothing restarted" in capsys.readouterr().err
    monkeypatch.setenv("FAIL", "up")
    monkeypatch.setenv("RUNNING", "assistant")
    assert main(["rebuild"]) == 1
    assert "error: docker compose up failed; see above" in capsys.readouterr().err


# -- the bootstrap -----------------------------------------------------------------------------


@pytest.fixture
def bootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """manage.py as a module, its .venv moved to a scratch folder."""
    spec = importlib.util.spec_from_file_location("manage_under_test", ROOT / "manage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    monkeypatch.setattr(module, "VENV", venv)
    monkeypatch.setattr(module, "VENV_PYTHON", venv / "bin" / "python")
    monkeypatch.setattr(module, "LEGACY_STAMP", venv / ".smart-assistant-lock")
    return module


def test_up_installs_the_runtime_extras_and_test_adds_dev(bootstrap: ModuleType) -> None:
    assert bootstrap.command_of(["--base-port", "9000", "--env-file", "x", "up", "-h"]) == "up"
    wanted, flags = bootstrap.extra_set("up")
    assert wanted == "runtime" and "dev" not in flags and "--all-extras" not in flags
    # every extra but dev: the services', the embedded servers and tracing (decision 0069)
    assert set(flags[1::2]) == {*("rest_service", "assistant", "google_calendar_service"),
                                *("cron_service", "tg_bot", "channels"),
                                *("embedded", "tracing")}  # fmt: skip
    assert bootstrap.extra_set("test") == ("dev", ["--all-extras"])
    assert bootstrap.command_of(["--data-dir", "x", "-h"]) is None  # `manage.py -h`: runtime
    assert bootstrap.extra_set(None)[0] == "runtime"
    assert bootstrap.extra_set("chat")[0] == "runtime"


def test_a_stamp_per_extra_set_so_switching_reinstalls_only_when_needed(
    bootstrap: ModuleType,
) -> None:
    assert not bootstrap.satisfied("runtime", "d1")
    bootstrap.stamp("dev").write_text("d1")
    assert bootstrap.satisfied("dev", "d1") and bootstrap.satisfied("runtime", "d1")
    assert not bootstrap.satisfied("dev", "d2"), "a changed lock installs again"
    bootstrap.stamp("dev").unlink()
    bootstrap.stamp("runtime").write_text("d1")
    assert bootstrap.satisfied("runtime", "d1") and not bootstrap.satisfied("dev", "d1")
    bootstrap.stamp("runtime").unlink()
    bootstrap.LEGACY_STAMP.write_text("d1")  # the one stamp of earlier versions: all extras
    assert bootstrap.satisfied("dev", "d1")


def test_the_install_compiles_bytecode_so_the_first_start_is_not_the_slow_one(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without it the five services compiled their imports at the first `up`, all at once:
    start-up 5.3 s against 2.3 s on the runs after."""
    uv = fake_uv(tmp_path / "bin", bootstrap.UV_VERSION)
    calls = tmp_path / "uv-calls"
    uv.write_text(uv.read_text().replace("exit 0\n", f'echo "$*" >> {calls}; exit 0\n', 1))
    monkeypatch.setenv("PATH", f"{uv.parent}:/usr/bin:/bin")
    monkeypatch.delenv("SMART_ASSISTANT_NO_BOOTSTRAP", raising=False)
    monkeypatch.setattr(bootstrap.os, "execv", lambda *args: None)  # stay in this process
    for command in ("up", "test"):
        calls.unlink(missing_ok=True)
        for old in ("runtime", "dev"):
            bootstrap.stamp(old).unlink(missing_ok=True)
        bootstrap.ensure_environment([command])
        [sync] = [line for line in calls.read_text().splitlines() if line.startswith("sync")]
        assert "--compile-bytecode" in sync.split(), sync


def fake_uv(folder: Path, version: str, python_found: str | None = None) -> Path:
    """A stand-in `uv`: its version, and whether it finds (or can install) a Python."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "uv"
    find = f'echo "{python_found}"; exit 0' if python_found else "exit 2"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "uv {version} (fake 2026-01-01)"; exit 0; fi\n'
        f'if [ "$1 $2" = "python find" ]; then {find}; fi\n'
        'if [ "$1 $2" = "python install" ]; then echo "no network" >&2; exit 1; fi\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    return script


def test_the_pinned_uv_is_used_unless_the_machines_is_as_new(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert bootstrap.parse_uv_version("uv 0.13.9 (d3a7d2f 2025-10-01)") == (0, 13, 9)
    assert bootstrap.parse_uv_version("something else") is None
    assert bootstrap.uv_compatible((0, 13, 9)) and bootstrap.uv_compatible((1, 0, 0))
    assert not bootstrap.uv_compatible((0, 4, 30)) and not bootstrap.uv_compatible(None)
    tools = tmp_path / "tools"
    pinned = fake_uv(tools / "bin", bootstrap.UV_VERSION)
    monkeypatch.setattr(bootstrap, "TOOLS", tools)
    newer = fake_uv(tmp_path / "newer", "0.99.0")
    monkeypatch.setenv("PATH", f"{newer.parent}:/usr/bin:/bin")
    assert bootstrap._uv() == str(newer)
    older = fake_uv(tmp_path / "older", "0.4.0")
    monkeypatch.setenv("PATH", f"{older.parent}:/usr/bin:/bin")
    assert bootstrap._uv() == str(pinned)  # already in .tools at the pinned version: no pip
    said = capsys.readouterr().err
    assert f"the machine's uv 0.4.0 is older than {bootstrap.UV_VERSION}" in said


def test_another_python_gets_a_managed_311_or_a_clear_message(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bootstrap.python_for_sync("unused") == sys.executable  # this is 3.11
    monkeypatch.setattr(bootstrap, "PYTHON_VERSION", (3, 99))  # as if this were not
    found = fake_uv(tmp_path / "finds", "0.13.9", python_found="/opt/uv/python3.99/bin/python")
    assert bootstrap.python_for_sync(str(found)) == "/opt/uv/python3.99/bin/python"
    offline = fake_uv(tmp_path / "offline", "0.13.9")
    with pytest.raises(bootstrap.BootstrapError) as raised:
        bootstrap.python_for_sync(str(offline))
    message = str(raised.value)
    assert message.startswith("Smart Assistant needs Python 3.99 and this machine has 3.11")
    assert "uv python install 3.99" in message and "\n" not in message


def test_without_a_usable_uv_the_pinned_one_is_installed_and_offline_that_is_one_error(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    garbled = tmp_path / "garbled" / "uv"
    garbled.parent.mkdir()
    garbled.write_text('#!/bin/sh\necho "uv (a build of its own)"\n')
    garbled.chmod(0o755)
    monkeypatch.setenv("PATH", f"{garbled.parent}:/usr/bin:/bin")
    monkeypatch.setattr(bootstrap, "TOOLS", tmp_path / "tools")  # no uv there either
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # offline: pip finds no uv to install
    with pytest.raises(bootstrap.BootstrapError) as raised:
        bootstrap._uv()
    assert str(raised.value) == (
        f"installing uv {bootstrap.UV_VERSION} (pip needs PyPI once) failed (exit code 1); "
        "see above"
    )
    said = capsys.readouterr().err
    assert "the machine's uv of unknown version is older than" in said
    assert f"installing uv {bootstrap.UV_VERSION} into .tools/ (once)" in said
    assert (tmp_path / "tools" / "bin" / "python").exists()  # .tools was made for it


def test_a_python_uv_installs_is_the_one_synced_with(
    bootstrap: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    installed = tmp_path / "installed"
    uv = tmp_path / "bin" / "uv"
    uv.parent.mkdir()
    uv.write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "python install" ]; then touch {installed}; exit 0; fi\n'
        f'if [ "$1 $2" = "python find" ] && [ -e {installed} ]; then echo /opt/py3.99; exit 0; fi\n'
        "exit 2\n"
    )
    uv.chmod(0o755)
    monkeypatch.setattr(bootstrap, "PYTHON_VERSION", (3, 99))
    assert bootstrap.python_for_sync(str(uv)) == "/opt/py3.99"
    assert "installing a uv-managed Python 3.99 (once)" in capsys.readouterr().err


def test_a_run_that_asks_for_no_bootstrap_touches_no_environment(
    bootstrap: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside the images: their environment is made at build time, and stays as it is."""
    monkeypatch.setenv("SMART_ASSISTANT_NO_BOOTSTRAP", "1")
    monkeypatch.setenv("PATH", "/nonexistent")  # no uv would be found
    restarted: list[object] = []
    monkeypatch.setattr(bootstrap.os, "execv", lambda *args: restarted.append(args))
    bootstrap.ensure_environment(["up"])
    assert restarted == [] and not bootstrap.stamp("runtime").exists()


def test_a_failed_bootstrap_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """manage.py run by a Python whose environment cannot be made (its uv fails)."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("manage.py", "pyproject.toml", "uv.lock"):
        (copy / name).write_bytes((ROOT / name).read_bytes())
    failing = tmp_path / "bin" / "uv"
    failing.parent.mkdir()
    failing.write_text(
        '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "uv 9.0.0"; exit 0; fi\nexit 3\n'
    )
    failing.chmod(0o755)
    env = {"PATH": f"{failing.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(copy / "manage.py"), "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "manage.py: error: uv sync failed (exit code 3); see above"
    )
    assert "Traceback" not in result.stderr


def test_dlq_lists_dead_letters_whose_payload_has_no_message_id_or_is_not_json(
    redis_url: str, names: Names
) -> None:
    from ops import dlq

    client = syncredis.Redis.from_url(redis_url)
    try:
        for data in ("{}", "not json", "[1, 2]"):
            client.xadd(names.dead("queue:to_secretary"), {"data": data, "error": "odd"})
        rows = dlq.list_dead(client, names)
        assert [row["data"] for row in rows] == ["{}", "not json", "[1, 2]"]
        assert all("message_id" not in row and row["error"] == "odd" for row in rows)
    finally:
        client.delete(names.dead("queue:to_secretary"))
        client.close()


def test_the_images_install_the_uv_manage_py_pins(bootstrap: ModuleType) -> None:
    for dockerfile in ("Dockerfile", "Dockerfile.test"):
        pins = re.findall(r"uv==(\S+)", (ROOT / dockerfile).read_text())
        assert pins == [bootstrap.UV_VERSION], dockerfile
