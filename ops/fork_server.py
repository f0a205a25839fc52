"""A fork server for the services a test run starts: it imports the services once, then forks
a child per start, which runs `python -m <module>` as a fresh interpreter would (argv, cwd,
environment, output), so a start pays its own work but not the imports (1 to 3 s of CPU a
service, more under coverage). The run's processes are otherwise the same: each child is a
service process with its own pid, stopped by its signals, its exit status answered here.

Only `ServiceProcess` (ops/processes.py) uses it, and only in a process that called `enable()`
(the test suite's conftest); `manage.py`'s own commands always start real interpreters.

The protocol, one Unix connection a child: the client sends one JSON line (module, args, env,
cwd) with the output file's descriptor beside it (SCM_RIGHTS); the server answers the child's
pid as a line, and later its exit code (as `Popen.returncode` gives it: -N for signal N)."""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.infrastructure import collector

#: Imported once by the server, before any fork: what each service's `python -m` imports. None
#: of them reads the environment when imported (settings are read when a service starts):
#: `tests/test_fork_server.py` records what the imports read and fails on a read of ours.
PRELOADED = (
    "common.infrastructure.runner",
    "common.infrastructure.serve",
    "rest_service.app.main",
    "assistant.src.main",
    "tg_bot.src.main",
    "cron_service.app.main",
    "google_calendar_service.src.main",
    "channels.src.main",
    "ops.one_process",
)


@dataclass(frozen=True)
class Start:
    module: str
    args: tuple[str, ...]
    env: dict[str, str]
    cwd: str


class ForkServerError(RuntimeError):
    pass


# The server ---------------------------------------------------------------------------------


def serve(listener: socket.socket, control: int) -> tuple[Start, int] | None:
    """Accept starts until `control` (the owner's pipe) closes. In a child, answers its start
    and its output descriptor; in the server, None once the owner is gone."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(control, selectors.EVENT_READ, "control")
    # pidfd -> (pid, the client's connection)
    children: dict[int, tuple[int, socket.socket]] = {}
    while True:
        for key, _ in selector.select():
            if key.data == "control":  # the owner writes nothing: readable means closed
                _stop_children(children)
                return None
            if key.data == "child":
                _reap(key.fd, children, selector)
                continue
            connection, _ = listener.accept()
            request = _read_start(connection)
            if request is None:
                connection.close()
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            # The child: this frame began before coverage.py restarted in it, so unmeasured.
            if pid == 0:  # pragma: no cover  (measured from _leave_server on)
                return _leave_server(request, selector, listener, connection, children, control)
            os.close(request[1])
            pidfd = os.pidfd_open(pid)
            children[pidfd] = (pid, connection)
            selector.register(pidfd, selectors.EVENT_READ, "child")
            with contextlib.suppress(OSError):
                connection.sendall(f"{pid}\n".encode())


def _leave_server(
    request: tuple[Start, int],
    selector: selectors.BaseSelector,
    listener: socket.socket,
    connection: socket.socket,
    children: dict[int, tuple[int, socket.socket]],
    control: int,
) -> tuple[Start, int]:
    """In a new child: it keeps nothing of the server's but its imports."""
    selector.close()
    listener.close()
    connection.close()
    for pidfd, (_, other) in children.items():
        os.close(pidfd)
        other.close()
    # `control` is the server's stdin: run_child makes the child's /dev/null.
    return request


def _read_start(connection: socket.socket) -> tuple[Start, int] | None:
    """One start and its output descriptor; None for a request that could not be read."""
    connection.settimeout(10)  # a client that stops mid-start holds no other start for long
    fds: list[int] = []
    try:
        message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 1)
        while fds and not message.endswith(b"\n"):
            chunk = connection.recv(1 << 16)
            if not chunk:
                break
            message += chunk
        request: dict[str, Any] = json.loads(message)
        start = Start(request["module"], tuple(request["args"]), request["env"], request["cwd"])
    except (OSError, ValueError, KeyError, TypeError):
        for fd in fds:
            os.close(fd)
        return None
    finally:
        connection.settimeout(None)
    return (start, fds[0]) if fds else None


def _reap(
    pidfd: int,
    children: dict[int, tuple[int, socket.socket]],
    selector: selectors.BaseSelector,
) -> None:
    """A child ended: its exit code to its client, as `Popen.returncode` gives it."""
    pid, connection = children.pop(pidfd)
    selector.unregister(pidfd)
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    connection.close()


def _stop_children(children: dict[int, tuple[int, socket.socket]]) -> None:
    """The owner is gone: what it left running is killed and reaped, as its end would."""
    for pid, _ in children.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid, _ in children.values():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def run_child(start: Start, output: int) -> None:
    """Become `python -m <module> <args>` in `cwd` with `env`, writing to `output`."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(devnull)
    os.close(output)
    os.chdir(start.cwd)
    os.environ.clear()
    os.environ.update(start.env)
    sys.path[0] = start.cwd
    sys.argv = [start.module, *start.args]
    runpy.run_module(start.module, run_name="__main__", alter_sys=True)


def main() -> None:
    """`python -m ops.fork_server <socket path> <module>...`: stdin is the owner's pipe."""
    path, *preloaded = sys.argv[1:]
    collector.starting()
    for name in preloaded:
        __import__(name)
    # frozen before any fork: a child's collections then write to none of the pages it shares
    # with the server (each would be copied), as a service's own start freezes its imports
    collector.started()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    print("ready", flush=True)
    started = serve(listener, sys.stdin.fileno())
    if started is None:
        listener.close()
        return
    run_child(*started)  # pragma: no cover  (in the child, in a frame begun before its coverage)


# The client ---------------------------------------------------------------------------------


class ForkedProcess:
    """A child of the fork server, as much of `subprocess.Popen` as the harness uses."""

    def __init__(self, connection: socket.socket, pid: int, args: list[str]) -> None:
        self._connection = connection
        self._buffer = b""
        self._lock = threading.Lock()
        self.pid = pid
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self._wait(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._wait(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def _wait(self, timeout: float | None) -> int | None:
        with self._lock:
            if self.returncode is not None:
                return self.returncode
            self._connection.settimeout(timeout)
            try:
                while b"\n" not in self._buffer:
                    chunk = self._connection.recv(64)
                    if not chunk:
                        self._connection.close()
                        raise ForkServerError(f"the fork server went away before {self.pid}")
                    self._buffer += chunk
            except (TimeoutError, BlockingIOError):
                return None
            self.returncode = int(self._buffer.split(b"\n", 1)[0])
            self._connection.close()
            return self.returncode

    def __del__(self) -> None:
        # As a dropped Popen: the child runs on, the connection to its status is let go.
        self._connection.close()

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The server process of one owner, started when first asked for a child."""

    def __init__(
        self, env: dict[str, str], cwd: Path, preloaded: tuple[str, ...] = PRELOADED
    ) -> None:
        self._env = env
        self._cwd = cwd
        self._preloaded = preloaded
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder = tempfile.mkdtemp(prefix="fork-server-")
        self.path = os.path.join(self._folder, "socket")

    def _started(self) -> None:
        with self._lock:
            if self._proc is not None:
                if self._proc.poll() is None:
                    return
                raise ForkServerError(f"the fork server exited with {self._proc.returncode}")
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "ops.fork_server", self.path, *self._preloaded],
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert self._proc.stdout is not None
            with self._proc.stdout:  # it says nothing after this
                ready = self._proc.stdout.readline()
            if ready != b"ready\n":
                raise ForkServerError(f"the fork server did not start ({self._proc.wait()})")

    def spawn(
        self, module: str, env: dict[str, str], cwd: Path, output: int, args: tuple[str, ...]
    ) -> ForkedProcess:
        # What the test tiers' guard watches for (tests/tiers.py): this start is a process's.
        sys.audit("subprocess.Popen", sys.executable, ["-m", module], str(cwd), env)
        self._started()
        request = {"module": module, "args": list(args), "env": env, "cwd": str(cwd)}
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(self.path)
        socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], [output])
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = connection.recv(1)
            if not chunk:  # pragma: no cover  (the server died between its check and this start)
                raise ForkServerError(f"the fork server did not start {module}")
            reply += chunk
        return ForkedProcess(connection, int(reply), [sys.executable, "-m", module, *args])

    def close(self) -> None:
        """Close the owner's pipe: the server kills what is left, saves its coverage, exits."""
        with self._lock:
            if self._proc is not None:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
                try:
                    self._proc.wait(30)
                except subprocess.TimeoutExpired:  # pragma: no cover  (a server stuck 30 s)
                    self._proc.kill()
                    self._proc.wait()
                self._proc = None
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            with contextlib.suppress(OSError):
                os.rmdir(self._folder)


_SERVER: tuple[int, ForkServer] | None = None


def enable(env: dict[str, str], cwd: Path) -> ForkServer:
    """Start services of this process (not of its children) through a fork server, started
    with `env` in `cwd` when first needed."""
    global _SERVER
    server = ForkServer(env, cwd)
    _SERVER = (os.getpid(), server)
    return server


def current() -> ForkServer | None:
    """This process's fork server, if it enabled one (a forked or started child has none)."""
    if _SERVER is None or _SERVER[0] != os.getpid():
        return None
    return _SERVER[1]


if __name__ == "__main__":
    main()
