"""`./manage.py test` on a machine with no Postgres or Redis server: it starts the embedded
ones (ops.infra.suite_servers), runs the tests on them and stops them after. Shown in a
network namespace of its own, where nothing listens on 127.0.0.1, as on a new laptop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops import infra
from ops.services import ROOT
from tests.programs import require_program, skip_or_fail

#: A few fast tests that need both servers: Redis (common) and Postgres (rest_service).
SUBSET = (
    "common/tests/test_redis_lock.py::test_one_holder_at_a_time_with_its_token_and_ttl",
    "rest_service/tests/test_users.py::TestGetOrCreate::test_concurrent_calls_make_one_row",
)
#: The whole run: two embedded servers started and stopped, and the two tests.
RUN_TIMEOUT_S = 90
#: What would point the run at a server outside the namespace.
SERVER_SETTINGS = ("TEST_DATABASE_URL", "TEST_REDIS_URL", "ASYNC_DATABASE_URL", "REDIS_URL")

pytestmark = [pytest.mark.timeout(RUN_TIMEOUT_S + 30), pytest.mark.e2e]


def test_given_servers_are_used_as_they_are() -> None:
    """TEST_DATABASE_URL and TEST_REDIS_URL given: `./manage.py test` starts nothing."""
    given = {"TEST_DATABASE_URL": "postgresql+asyncpg://u@db:1/x", "TEST_REDIS_URL": "redis://r"}
    with infra.suite_servers(given) as servers:
        assert servers.env == given and servers.started == {} and servers.folder is None


def test_pytest_options_after_the_separator_reach_pytest() -> None:
    """`./manage.py test --service S -- -q -k X`: `--` ends manage.py's options only."""
    one = "test_a_ttl_below_one_millisecond_is_one"
    done = subprocess.run(
        [sys.executable, "manage.py", "test", "--service", "common", "--", "--co", "-q", "-k", one],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"common/tests/test_redis_lock.py::{one}" in done.stdout


def test_random_order_shuffles_and_the_quick_loop_leaves_out_the_process_tests(capfd) -> None:
    """`test --random-order` and `test --fast`, run in this process (pytest runs as a child,
    collecting one file)."""
    from ops.cli import main

    one = "common/tests/test_redis_lock.py::test_a_ttl_below_one_millisecond_is_one"
    assert main(["test", "--random-order", "--", one, "--co"]) == 0
    out = capfd.readouterr().out
    assert "Using --randomly-seed=" in out and "1 test collected" in out
    e2e = "common/tests/test_redis_sentinel.py::" + (
        "test_a_handled_entry_is_not_handled_again_when_redis_is_away_at_its_finish"
    )
    # `-n 0` given: the quick loop's own `-n` is not added (one process, this test)
    assert main(["test", "--fast", "--", e2e, "-n", "0", "--co", "-q"]) == 5  # none collected
    out = capfd.readouterr().out
    assert "no tests collected" in out and "Using --randomly-seed" not in out


@pytest.fixture
def unshare() -> str:
    """unshare(1), allowed to make a network namespace (root, or a capable container)."""
    if os.geteuid() != 0:
        skip_or_fail("a network namespace needs root (unshare -n)")
    found = require_program("unshare", "util-linux")
    require_program("ip", "iproute2")
    tried = subprocess.run([found, "-n", "true"], capture_output=True, text=True, timeout=30)
    if tried.returncode != 0:
        skip_or_fail(f"unshare -n is not permitted here: {tried.stderr.strip()}")
    return found


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The run's TMPDIR (where the embedded servers live); whatever still runs from it
    afterwards is killed, after the test has looked."""
    folder = Path(tempfile.mkdtemp(prefix="sa-bare-"))
    try:
        yield folder
    finally:
        for pid in running_from(folder):
            os.kill(pid, signal.SIGKILL)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def running_from(folder: Path) -> list[int]:
    """Processes whose working directory is inside `folder` (Postgres runs in its data
    folder, redis-server in its --dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd.is_relative_to(folder):
            found.append(int(entry.name))
    return found


EMBEDDED = re.compile(r"no Postgres or Redis found: the tests use embedded ones \((.*)\)")


def without_servers(
    unshare: str, scratch: Path, tests: tuple[str, ...] = SUBSET
) -> subprocess.Popen[str]:
    """`./manage.py test` on `tests` in a network namespace of its own (only loopback up),
    with no server settings and `scratch` as its TMPDIR."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SERVER_SETTINGS and not name.startswith("PYTEST_")
    }
    env["TMPDIR"] = str(scratch)
    inner = [sys.executable, "manage.py", "test", "--", *tests, "-q", "-p", "no:cacheprovider"]
    command = [unshare, "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *inner]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def assert_nothing_left(scratch: Path) -> None:
    assert running_from(scratch) == [], "an embedded server outlived the run"
    assert list(scratch.glob("sa-test-servers-*")) == [], "their folder is left behind"


def test_manage_test_passes_on_a_machine_without_servers(unshare: str, scratch: Path) -> None:
    run = without_servers(unshare, scratch)
    try:
        out, err = run.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)  # manage.py stops its servers on the way out
        out, err = run.communicate(timeout=20)
        pytest.fail(f"not done in {RUN_TIMEOUT_S} s:\n{out[-3000:]}\n{err[-3000:]}")
    assert run.returncode == 0, f"{out[-3000:]}\n{err[-3000:]}"
    said = EMBEDDED.search(err)
    assert said, err[-3000:]
    postgres, redis = said.group(1).split(", ")
    assert postgres.startswith("postgresql+asyncpg://postgres@127.0.0.1:"), postgres
    assert redis.startswith("redis://127.0.0.1:") and ":6379/" not in redis, redis
    assert f"{len(SUBSET)} passed" in out, out[-3000:]
    assert_nothing_left(scratch)


#: A test that runs until its run is stopped, so the signal always lands mid-run (the two
#: quick tests of SUBSET could finish first on a starved machine, and the run pass).
UNTIL_STOPPED = """
import threading

def test_runs_until_the_run_is_stopped():
    threading.Event().wait(300)
    raise AssertionError("the run was not stopped")
"""


def test_a_stopped_run_stops_its_embedded_servers(unshare: str, scratch: Path) -> None:
    """SIGTERM while the tests run (a CI job cancelled): the servers go with manage.py."""
    waiting = scratch / "test_until_stopped.py"
    waiting.write_text(UNTIL_STOPPED)
    run = without_servers(unshare, scratch, (str(waiting),))
    assert run.stderr is not None
    seen = []
    for line in run.stderr:  # the servers are up once it says so
        seen.append(line)
        if EMBEDDED.search(line):
            break
    else:
        pytest.fail("".join(seen)[-3000:])
    run.send_signal(signal.SIGTERM)
    try:
        run.communicate(timeout=60)
    finally:  # a run that outlived the wait goes, and its pipes with it (no warning later)
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode != 0
    assert_nothing_left(scratch)


def test_a_sigterm_while_pytest_starts_kills_it_and_ends_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The signal lands inside `Popen`, after the child began: the child is killed and the run
    ends with 128 + 15. (Raised from the handler there, it left pytest running, unowned, with
    the run's output open: a loaded CI waited a minute for a run already stopped.)"""
    from ops import cli

    started: list[subprocess.Popen[bytes]] = []

    class SignalledWhileStarting(subprocess.Popen[bytes]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(cli.subprocess, "Popen", SignalledWhileStarting)  # type: ignore[attr-defined]  # the module ops.cli runs pytest through
    waiting = tmp_path / "test_until_stopped.py"
    waiting.write_text(UNTIL_STOPPED)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["test", "--", str(waiting), "-q", "-p", "no:cacheprovider"]) == 128 + 15
    (child,) = started
    assert child.returncode == -signal.SIGKILL
    assert signal.getsignal(signal.SIGTERM) == before
