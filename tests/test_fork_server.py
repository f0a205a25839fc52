"""The fork server the suite starts its services from (ops/fork_server.py): a child is what
`python -m <module>` in its folder, with its environment and output, would be, ends by its
signals as a Popen child does, and nothing outlives the run that asked for it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.infrastructure import collector
from ops import fork_server
from ops.fork_server import ForkServer
from ops.infra import free_port
from ops.processes import ServiceProcess, measured
from ops.services import ROOT

pytestmark = pytest.mark.e2e

SAYS_WHERE_IT_IS = """\
import json, os, sys
print(json.dumps({"name": __name__, "argv": sys.argv[1:], "cwd": os.getcwd(),
                  "path0": sys.path[0], "setting": os.environ.get("A_SETTING"),
                  "home": os.environ.get("HOME"), "stdin": sys.stdin.read()}), flush=True)
raise SystemExit(7)
"""


@pytest.fixture
def forks() -> Iterator[ForkServer]:
    """A server that imports nothing before it forks (the suite's imports the services)."""
    env = measured({"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    server = ForkServer(env, ROOT, preloaded=())
    yield server
    server.close()


@pytest.fixture
def programs(tmp_path: Path) -> Path:
    folder = tmp_path / "programs"
    folder.mkdir()
    (folder / "where.py").write_text(SAYS_WHERE_IT_IS)
    (folder / "idle.py").write_text("import signal\nsignal.pause()\n")
    return folder


def _start(forks: ForkServer, module: str, cwd: Path, log: Path, **env: str) -> Any:
    with log.open("ab") as output:
        return forks.spawn(module, measured(env), cwd, output.fileno(), ("one", "two"))


def test_a_child_is_what_python_dash_m_in_its_folder_would_be(
    forks: ForkServer, programs: Path, tmp_path: Path
) -> None:
    log = tmp_path / "where.log"
    child = _start(forks, "where", programs, log, A_SETTING="given")
    assert child.wait(60) == 7 and child.returncode == 7 and child.poll() == 7
    said = json.loads(log.read_text())
    assert said == {
        "name": "__main__",
        "argv": ["one", "two"],
        "cwd": str(programs),
        "path0": str(programs),
        "setting": "given",
        "home": None,  # only the environment given, nothing of the server's or the test's
        "stdin": "",  # not the server's control pipe
    }


def test_a_signal_ends_a_child_as_it_ends_a_popen_child(
    forks: ForkServer, programs: Path, tmp_path: Path
) -> None:
    child = _start(forks, "idle", programs, tmp_path / "idle.log")
    other = _start(forks, "where", programs, tmp_path / "where.log")  # forked beside it
    assert other.wait(60) == 7 and child.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(0.05)
    child.terminate()
    assert child.wait(30) == -signal.SIGTERM
    child.kill()  # ended: no signal reaches a pid the kernel may have given to another


def test_what_the_owner_leaves_running_is_killed_when_it_closes(
    forks: ForkServer, programs: Path, tmp_path: Path
) -> None:
    child = _start(forks, "idle", programs, tmp_path / "idle.log")
    forks.close()
    assert not Path(f"/proc/{child.pid}").exists()  # killed and reaped before close returned
    with pytest.raises(fork_server.ForkServerError, match="went away"):
        child.poll()


def test_a_start_it_cannot_read_is_refused_and_it_serves_the_next(
    forks: ForkServer, programs: Path, tmp_path: Path
) -> None:
    _start(forks, "where", programs, tmp_path / "first.log").wait(60)
    for garbage in (b"not json\n", json.dumps({"module": "where"}).encode() + b"\n", b'{"mod'):
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(forks.path)
            with (tmp_path / "x.log").open("ab") as output:
                socket.send_fds(connection, [garbage], [output.fileno()])
            connection.shutdown(socket.SHUT_WR)
            assert connection.recv(64) == b""  # closed, no child
    with socket.socket(socket.AF_UNIX) as connection:  # no output descriptor
        connection.connect(forks.path)
        connection.sendall(
            json.dumps({"module": "where", "args": [], "env": {}, "cwd": "/"}).encode() + b"\n"
        )
        assert connection.recv(64) == b""
    assert _start(forks, "where", programs, tmp_path / "last.log").wait(60) == 7


def test_a_unit_test_cannot_start_a_child_through_it(
    forks: ForkServer, programs: Path, tmp_path: Path
) -> None:
    from tests import tiers

    tiers._guarded.append("unit")
    try:
        with pytest.raises(RuntimeError, match="a unit test started a process"):
            _start(forks, "where", programs, tmp_path / "where.log")
    finally:
        tiers._guarded.pop()
    assert not (tmp_path / "where.log").read_bytes()


def test_the_suite_starts_its_services_from_its_fork_server(tmp_path: Path) -> None:
    """Under the suite's own harness (tests/harness.py), unless TEST_FORK_SERVER=0."""
    if os.environ.get("TEST_FORK_SERVER") == "0":
        pytest.skip("TEST_FORK_SERVER=0: services start as fresh interpreters")
    forks = fork_server.current()
    assert forks is not None
    quitter = tmp_path / "quitter.py"
    quitter.write_text("import os\nprint(os.getppid(), flush=True)\nraise SystemExit(3)\n")
    service = ServiceProcess("quitter", "quitter", free_port(), {}, tmp_path / "q.log")
    service.launch(tmp_path)
    assert service.proc is not None and service.proc.wait(60) == 3
    parent = int(service.logs().strip())
    assert parent != os.getpid()
    assert Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")[1:3] == [
        b"-m",
        b"ops.fork_server",
    ]


def test_a_child_of_the_suite_has_no_fork_server_of_its_own() -> None:
    """`manage.py` run by a test inherits the test's environment, not its fork server."""
    code = "from ops import fork_server; print(fork_server.current())"
    said = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert said.stdout.strip() == "None"
    pid = os.fork()
    if pid == 0:  # pragma: no cover  (the forked test process: its exit code is the answer)
        os._exit(0 if fork_server.current() is None else 1)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


RECORDS_ENVIRONMENT_READS = """\
import json, os, sys
from collections.abc import MutableMapping
from pathlib import Path

root = Path(sys.argv[1])
ours = []

class Recording(MutableMapping):
    def __init__(self, wrapped):
        self._wrapped = wrapped
    def _note(self, key):
        caller = sys._getframe(2)
        while caller and caller.f_code.co_filename.endswith(("os>", "_collections_abc>", "os.py")):
            caller = caller.f_back
        name = caller.f_code.co_filename if caller else ""
        if name.startswith(str(root)) and "/.venv/" not in name:
            ours.append(f"{key} in {name}:{caller.f_lineno}")
    def __getitem__(self, key):
        self._note(key)
        return self._wrapped[key]
    def __contains__(self, key):
        self._note(key)
        return key in self._wrapped
    def __setitem__(self, key, value):
        self._wrapped[key] = value
    def __delitem__(self, key):
        del self._wrapped[key]
    def __iter__(self):
        return iter(self._wrapped)
    def __len__(self):
        return len(self._wrapped)
    def copy(self):
        return dict(self._wrapped)

os.environ = Recording(os.environ)
from ops.fork_server import PRELOADED
for name in PRELOADED:
    __import__(name)
print(json.dumps(ours))
"""


def test_nothing_of_ours_reads_the_environment_when_the_fork_server_imports_it() -> None:
    """A fork shares what the server's imports made: a value read from the environment then
    would be the server's, not the child's."""
    said = subprocess.run(
        [sys.executable, "-c", RECORDS_ENVIRONMENT_READS, str(ROOT)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(said.stdout) == []


def test_a_server_that_cannot_import_what_it_preloads_is_named_and_not_used(
    programs: Path, tmp_path: Path
) -> None:
    env = measured({"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    broken = ForkServer(env, ROOT, preloaded=("no_such_module_here",))
    try:
        with pytest.raises(fork_server.ForkServerError, match="did not start"):
            _start(broken, "where", programs, tmp_path / "where.log")
        with pytest.raises(fork_server.ForkServerError, match="exited with 1"):
            _start(broken, "where", programs, tmp_path / "where.log")
    finally:
        broken.close()


def test_a_start_longer_than_one_read_is_read_whole(
    forks: ForkServer, programs: Path, tmp_path: Path
) -> None:
    log = tmp_path / "where.log"
    child = _start(forks, "where", programs, log, A_SETTING="x" * 200_000)
    assert child.wait(60) == 7
    assert json.loads(log.read_text())["setting"] == "x" * 200_000


def test_a_child_starts_with_what_the_server_imported_frozen_and_the_usual_collector(
    programs: Path, tmp_path: Path
) -> None:
    """Frozen before the fork, the server's objects are never written by a child's collections
    (no copy of the shared pages); the child's thresholds are CPython's usual ones."""
    (programs / "collector_state.py").write_text(
        "import gc, json\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'threshold': gc.get_threshold()}))\n"
    )
    env = measured({"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)})
    server = ForkServer(env, ROOT, preloaded=("email.message",))
    try:
        log = tmp_path / "collector.log"
        assert _start(server, "collector_state", programs, log).wait(60) == 0, log.read_text()
    finally:
        server.close()
    said = json.loads(log.read_text())
    assert said["frozen"] > 1_000
    assert tuple(said["threshold"]) == collector.USUAL
