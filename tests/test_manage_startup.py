"""`up` starts fast: no Alembic or seed on a database at head with a configuration,
and the services started together, waited for together."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from ops import cli
from ops.infra import ALEMBIC_INI, free_port, migrate
from ops.processes import ServiceError, wait_all_healthy
from ops.services import ROOT
from tests.waiting import until_sync

pytestmark = pytest.mark.e2e


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    alembic_heads = set(ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads())
    assert cli.script_heads() == alembic_heads


def test_a_merge_revision_is_the_one_head(tmp_path: Path) -> None:
    scripts = {
        "a.py": "revision = 'a'\ndown_revision = None\n",
        "b.py": "revision: str = \"b\"\ndown_revision: str | None = 'a'\n",
        "c.py": "revision = 'c'\ndown_revision = 'a'\n",
        "m.py": "revision = 'm'\ndown_revision = ('b', 'c')\n",
        "helpers.py": "def shared():\n    return 'not a revision'\n",  # read past
    }
    for name, text in scripts.items():
        (tmp_path / name).write_text(text)
    assert cli.script_heads(tmp_path) == {"m"}


_watching: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if event == "subprocess.Popen" and _watching:
        _watching[-1].append(str(args[1]))


sys.addaudithook(_audit)


@contextlib.contextmanager
def started_processes() -> Iterator[list[str]]:
    """The command lines of every process started inside (Python's subprocess audit event)."""
    started: list[str] = []
    _watching.append(started)
    try:
        yield started
    finally:
        _watching.remove(started)


@pytest.fixture
def env_of(service_env: dict[str, str]) -> Callable[[str], dict[str, str]]:
    """A service environment on another database (what `up` gives the seed)."""
    return lambda url: {**service_env, "PATH": "/usr/bin:/bin", "ASYNC_DATABASE_URL": url}


@pytest.mark.timeout(300)
def test_up_migrates_and_seeds_a_new_database_and_then_leaves_it_be(
    empty_database: str,
    env_of: Callable[[str], dict[str, str]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    with started_processes() as migrating:
        cli.prepare_database(env_of(empty_database), seed_if_empty=True)
    assert migrating, "Alembic and the seed run in interpreters of their own"
    first = capfd.readouterr().err
    assert "database migrated to head" in first and "default configuration imported" in first
    state = cli.database_state(empty_database)
    assert state.revisions == cli.script_heads() and state.has_assistants

    with started_processes() as started:
        cli.prepare_database(env_of(empty_database), seed_if_empty=True)
    second = capfd.readouterr().err
    assert "no migration needed" in second
    assert "alembic" not in second and "migrated" not in second and "imported" not in second
    assert started == [], "one query, no interpreter started"


@pytest.mark.timeout(300)
def test_a_database_behind_head_is_upgraded(
    empty_database: str,
    env_of: Callable[[str], dict[str, str]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    (head,) = cli.script_heads()
    previous = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_revision(head)
    assert previous is not None and isinstance(previous.down_revision, str)
    migrate(empty_database, "upgrade", previous.down_revision)
    assert cli.database_state(empty_database).revisions == {previous.down_revision}
    cli.prepare_database(env_of(empty_database), seed_if_empty=False)
    assert "database migrated to head" in capfd.readouterr().err
    assert cli.database_state(empty_database).revisions == {head}


@pytest.mark.timeout(300)
def test_a_migrated_database_without_configuration_is_seeded_without_migrating(
    empty_database: str,
    env_of: Callable[[str], dict[str, str]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    migrate(empty_database)
    assert not cli.database_state(empty_database).has_assistants
    cli.prepare_database(env_of(empty_database), seed_if_empty=True)
    err = capfd.readouterr().err
    assert "no migration needed" in err and "default configuration imported" in err
    assert cli.database_state(empty_database).has_assistants


def _late_server(port: int, delay: float) -> subprocess.Popen[bytes]:
    """A stand-in service whose /health answers after `delay` seconds (as an import would)."""
    code = textwrap.dedent(
        f"""
        import time, http.server
        time.sleep({delay})
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
            def log_message(self, *a): pass
        http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
        """
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


def _gated_server(port: int, gate: Path) -> subprocess.Popen[bytes]:
    """A stand-in service whose /health answers 503 until the test creates `gate`, then 200;
    a 200 it gave leaves `gate`.answered behind (who asked it, and when, is the waiter's)."""
    code = textwrap.dedent(
        f"""
        import http.server, pathlib
        gate = pathlib.Path({str(gate)!r})
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ready = gate.exists()
                if ready:
                    gate.with_suffix(".answered").touch()
                self.send_response(200 if ready else 503); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(("127.0.0.1", {port}), H).serve_forever()
        """
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


@pytest.mark.timeout(90)
def test_services_are_waited_for_together_not_one_after_another(tmp_path: Path) -> None:
    """The last service gets ready first, the first last: each is seen healthy while the
    ones before it still are not, which a waiter taking them one after another never does."""
    ports = [free_port() for _ in range(3)]
    gates = [tmp_path / f"s{port}" for port in ports]
    procs = [_gated_server(port, gate) for port, gate in zip(ports, gates, strict=True)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    starting = {g.name: pair for g, pair in zip(gates, zip(urls, procs, strict=True), strict=True)}
    outcome: list[dict[str, float] | BaseException] = []

    def wait() -> None:
        try:
            outcome.append(wait_all_healthy(starting, lambda name: "", timeout=60))
        except BaseException as exc:  # handed to the test, which raises it
            outcome.append(exc)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    try:
        for gate in reversed(gates):
            gate.touch()
            answered = gate.with_suffix(".answered")
            until_sync(answered.exists, message=f"{gate.name} seen healthy while others wait")
        waiter.join(timeout=30)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    (took,) = outcome
    assert isinstance(took, dict), took
    assert list(took) == [gate.name for gate in reversed(gates)]


@pytest.mark.timeout(60)
def test_a_service_that_exits_while_the_others_start_is_named_at_once() -> None:
    slow = _late_server(free_port(), 3600)  # never healthy while the test runs
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        # The exit is named, not the slow one's 30 s timeout ("did not become healthy").
        with pytest.raises(ServiceError, match="broken exited with 3"):
            wait_all_healthy(
                {
                    "slow": (f"http://127.0.0.1:{free_port()}", slow),
                    "broken": (f"http://127.0.0.1:{free_port()}", dead),
                },
                lambda name: f"{name}'s last lines",
                timeout=30,
            )
    finally:
        slow.kill()
        slow.wait()


@pytest.mark.timeout(300)
def test_a_key_set_after_the_first_start_reaches_the_provider_row(
    empty_database: str,
    env_of: Callable[[str], dict[str, str]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The assistant reads keys only from the provider rows, so `up` stores a key added to
    .env later (encrypted, by the safe seed) and then, with the key in, leaves the row be."""
    keyless = {**env_of(empty_database), "OPENAI_API_KEY": ""}
    cli.prepare_database(keyless, seed_if_empty=True)
    assert cli.database_state(empty_database).keyless_default_provider
    capfd.readouterr()

    keyed = {**keyless, "OPENAI_API_KEY": "sk-later-" + "k" * 24}
    cli.prepare_database(keyed, seed_if_empty=True)
    assert "OPENAI_API_KEY (encrypted)" in capfd.readouterr().out
    assert not cli.database_state(empty_database).keyless_default_provider

    cli.prepare_database(keyed, seed_if_empty=True)
    assert "imported" not in capfd.readouterr().err
