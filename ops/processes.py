"""The one supervisor: each service as a child process (`python -m <service>`) with its own
environment and log, waited for until `/health` answers, stopped with SIGTERM and, after a
grace time, SIGKILL. `manage.py` runs the six in the foreground (`up`) or detached (`start`,
`stop`, `status`); the test harness and the benchmarks run a `Stack` on free ports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from common.infrastructure.settings import ENV_FILE_VARIABLE, own_name
from ops import fork_server
from ops.infra import free_port, port_answers
from ops.services import BY_NAME, HTTP_SERVICES, NAMES, ROOT
from ops.stack import pid_alive

_COLORS = ("36", "35", "32", "33", "34")
#: How often a starting service's `/health` is asked.
_HEALTH_POLL_S = 0.05


class ServiceError(RuntimeError):
    pass


class ChildProcess(Protocol):
    """A started service: a `subprocess.Popen`, or a fork server's child (ops/fork_server.py)."""

    pid: int
    returncode: int | Any

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def specs(base_port: int | None, only: Iterable[str] | None = None) -> list[ServiceSpec]:
    chosen = set(only or NAMES)
    unknown = chosen - set(NAMES)
    if unknown:
        raise ServiceError(f"unknown service {', '.join(sorted(unknown))}; one of {NAMES}")
    return [
        ServiceSpec(name, (base_port + i) if base_port else BY_NAME[name].default_port)
        for i, name in enumerate(NAMES)
        if name in chosen
    ]


def peer_urls(urls: dict[str, str]) -> dict[str, str]:
    """The settings by which services find the HTTP services among `urls` (name -> URL)."""
    return {BY_NAME[name].url_setting: urls[name] for name in HTTP_SERVICES if name in urls}


#: How long a started service has to answer /health: 60 s, as `up` allows. On a machine as
#: busy as two test suites at once a service took over 30 s; one that exits fails at once.
STARTUP_SECONDS = 60.0


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


#: The one-process runner: its module, and its name where a process is named (a log file).
ONE_PROCESS_MODULE = "ops.one_process"
ONE_PROCESS = "one_process"


def _local(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def one_process_env(env: dict[str, str], chosen: list[ServiceSpec]) -> dict[str, str]:
    """`env`, with each of `chosen` told its own port (one HTTP_PORT cannot serve six)."""
    return {**env, **{own_name(s.name, "http_port"): str(s.port) for s in chosen}}


def check_ports_free(chosen: list[ServiceSpec]) -> None:
    busy = [f"{s.name} ({s.port})" for s in chosen if port_answers("127.0.0.1", s.port)]
    if busy:
        raise ServiceError(
            f"port in use: {', '.join(busy)}. Stop what listens there, "
            "or run with --base-port N to move all six services to N..N+5"
        )


#: coverage.py's configuration for a measured run (`./manage.py test --coverage`; its
#: patch = ["subprocess"] sets it): a child given an environment of its own gets it too, so
#: the services the tests start are measured.
COVERAGE_VARIABLE = "COVERAGE_PROCESS_CONFIG"


def measured(env: dict[str, str]) -> dict[str, str]:
    """`env`, plus coverage.py's configuration while this process is measured."""
    if COVERAGE_VARIABLE in os.environ and COVERAGE_VARIABLE not in env:
        return {**env, COVERAGE_VARIABLE: os.environ[COVERAGE_VARIABLE]}
    return env


def spawn(
    module: str,
    env: dict[str, str],
    cwd: Path,
    output: IO[bytes] | int,
    *,
    detached: bool,
    args: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """`python -m <module> <args>` (a service, or a stand-in); `detached` puts it in a session
    of its own (no terminal signal reaches it)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=measured(env),
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=detached,
    )


def wait_healthy(
    name: str,
    url: str,
    proc: ChildProcess,
    log_tail: Callable[[], str],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{name} exited with {proc.returncode}:\n{log_tail()}")
        if healthy(url):
            return
        time.sleep(_HEALTH_POLL_S)
    raise ServiceError(f"{name} did not become healthy in {timeout:.0f}s:\n{log_tail()}")


def wait_all_healthy(
    starting: Mapping[str, tuple[str, ChildProcess]],
    log_tail: Callable[[str], str],
    timeout: float,
) -> dict[str, float]:
    """Wait for several services at once (name -> (url, process)): the start takes as long
    as the slowest, not the sum. The first to exit, or the timeout, raises naming it.
    Answers the seconds each took to answer healthy (the bench's start-up breakdown)."""
    pending = dict(starting)
    started = time.monotonic()
    took: dict[str, float] = {}
    deadline = started + timeout
    while pending:
        for name, (url, proc) in list(pending.items()):
            if proc.poll() is not None:
                raise ServiceError(f"{name} exited with {proc.returncode}:\n{log_tail(name)}")
            if healthy(url, timeout=0.5):
                del pending[name]
                took[name] = round(time.monotonic() - started, 2)
        if not pending:
            break
        if time.monotonic() > deadline:
            late = ", ".join(pending)
            tails = "\n".join(f"{name}:\n{log_tail(name)}" for name in pending)
            raise ServiceError(f"{late} did not become healthy in {timeout:.0f}s:\n{tails}")
        time.sleep(_HEALTH_POLL_S)
    return took


def _wait_or_kill(proc: ChildProcess, timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class ServiceProcess:
    """One service as a child process, logging to `log_path`; it can be stopped, killed and
    started again on the same port and settings."""

    name: str
    service: str
    port: int
    env: dict[str, str]
    log_path: Path
    proc: ChildProcess | None = None
    #: Arguments after `python -m <service>` (the one-process runner: which services).
    args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def logs(self, last: int | None = None) -> str:
        if not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last:] if last else lines)

    def start(self, cwd: Path, timeout: float = STARTUP_SECONDS) -> None:
        self.launch(cwd)
        self.wait_healthy(timeout)

    def launch(self, cwd: Path) -> None:
        with self.log_path.open("ab") as log:
            forks = fork_server.current()
            if forks is None:
                self.proc = spawn(self.service, self.env, cwd, log, detached=False, args=self.args)
            else:
                env = measured(self.env)
                self.proc = forks.spawn(self.service, env, cwd, log.fileno(), self.args)

    def wait_healthy(self, timeout: float = STARTUP_SECONDS) -> None:
        assert self.proc is not None, f"{self.name} was never started"
        wait_healthy(self.name, self.url, self.proc, lambda: self.logs(40), timeout)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Signal the process and wait; SIGKILL after `timeout`. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            _wait_or_kill(self.proc, timeout)
        return self.proc.returncode

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@dataclass
class Stack:
    """Services of one test or benchmark run on free ports, each told where the HTTP services
    started before it are: `stack.start("rest_service")`."""

    env: dict[str, str]
    workdir: Path
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def start(
        self,
        service: str,
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = STARTUP_SECONDS,
    ) -> ServiceProcess:
        name = name or service
        if name in self.processes and self.processes[name].running:
            raise RuntimeError(f"{name} is already running")
        port = free_port()
        full_env = {
            **self._base_env(),
            **peer_urls({n: p.url for n, p in self.processes.items()}),
            "HTTP_PORT": str(port),
            **(env or {}),
        }
        process = ServiceProcess(name, service, port, full_env, self.workdir / f"{name}.log")
        self.processes[name] = process
        process.start(self.workdir, timeout)
        return process

    def _base_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            # No `.env` of the working tree: a stack gets exactly the settings given here.
            ENV_FILE_VARIABLE: "",
            **self.env,
        }

    def launch_one_process(self, services: dict[str, dict[str, str]]) -> None:
        """`services` (name -> its own settings) in one process (ops/one_process.py), each on
        a free port; `stack[name]` is each, all sharing the process (stopping one stops all).
        `wait_healthy` waits for them."""
        ports = {name: int(own.get("HTTP_PORT") or free_port()) for name, own in services.items()}
        env = {**self._base_env(), **peer_urls({n: _local(p) for n, p in ports.items()})}
        for name, own in services.items():
            env.update({own_name(name, key): value for key, value in own.items()})
            env[own_name(name, "http_port")] = str(ports[name])
        log_path = self.workdir / f"{ONE_PROCESS}.log"
        runner = ServiceProcess(
            ONE_PROCESS, ONE_PROCESS_MODULE, 0, env, log_path, args=tuple(ports)
        )
        runner.launch(self.workdir)
        for name, port in ports.items():
            self.processes[name] = ServiceProcess(
                name, ONE_PROCESS_MODULE, port, env, log_path, runner.proc, runner.args
            )

    def wait_healthy(self, names: Iterable[str], timeout: float = STARTUP_SECONDS) -> None:
        """Until each of `names` answers `/health` (the first to exit, or the timeout, raises)."""
        starting = {name: (self.url(name), self._proc(name)) for name in names}
        wait_all_healthy(starting, lambda name: self.processes[name].logs(40), timeout)

    def _proc(self, name: str) -> ChildProcess:
        proc = self.processes[name].proc
        assert proc is not None, f"{name} was never started"
        return proc

    def restart(self, name: str, timeout: float = STARTUP_SECONDS) -> ServiceProcess:
        """Start a stopped (or killed) process again, on the same port and settings."""
        process = self.processes[name]
        process.stop()
        process.start(self.workdir, timeout)
        return process

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def url(self, name: str) -> str:
        return self.processes[name].url

    def import_config(self, document: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/config/import` to this stack's rest_service, as the admin."""
        request = urllib.request.Request(
            f"{self.url('rest_service')}/api/config/import",
            data=json.dumps(document).encode(),
            headers={
                "Authorization": f"Bearer {self.env['ADMIN_API_TOKEN']}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # raises on non-2xx
            imported: dict[str, Any] = json.load(response)
        return imported

    def stop_all(self, *, together: bool = False) -> None:
        """In the reverse of the start order (the workers before the rest_service they talk
        to); `together`: all at once, where nothing is left to finish (a test's end)."""
        # Services sharing one process (launch_one_process) are stopped once.
        processes = list({id(p.proc): p for p in self.processes.values()}.values())
        if not together:
            for process in reversed(processes):
                process.stop()
            return
        threads = [threading.Thread(target=process.stop) for process in processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class Foreground:
    """`up`: every service a child process, its lines prefixed with its name."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self._env = env
        self._cwd = cwd
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._tails: dict[str, list[str]] = {}
        self._lock = threading.Lock()

        #: Which process serves each service (its own, or the one of `launch_one`).
        self._serving: dict[str, str] = {}

    def launch(self, spec: ServiceSpec) -> None:
        """Spawn the service and pump its lines; `wait_healthy` waits for it."""
        env = {**self._env, "HTTP_PORT": str(spec.port)}
        self._launch(spec.name, spec.name, env, ())
        self._serving[spec.name] = spec.name

    def launch_one(self, chosen: list[ServiceSpec]) -> None:
        """All of `chosen` in one process (ops/one_process.py); its lines name each service."""
        env = one_process_env(self._env, chosen)
        self._launch(ONE_PROCESS, ONE_PROCESS_MODULE, env, tuple(s.name for s in chosen))
        self._serving.update((s.name, ONE_PROCESS) for s in chosen)

    def _launch(self, name: str, module: str, env: dict[str, str], args: tuple[str, ...]) -> None:
        proc = spawn(module, env, self._cwd, subprocess.PIPE, detached=True, args=args)
        self._procs[name] = proc
        self._tails[name] = []
        color = _COLORS[(NAMES.index(name) if name in NAMES else len(NAMES)) % len(_COLORS)]
        threading.Thread(target=self._pump, args=(name, proc, color), daemon=True).start()

    def wait_healthy(
        self, launched: list[ServiceSpec], timeout: float = STARTUP_SECONDS
    ) -> dict[str, float]:
        """Until every one of `launched` answers `/health`, all polled together."""
        serving = {s.name: self._serving[s.name] for s in launched}
        starting = {s.name: (s.url, self._procs[serving[s.name]]) for s in launched}
        return wait_all_healthy(
            starting, lambda name: "\n".join(self._tails[serving[name]][-20:]), timeout
        )

    def _pump(self, name: str, proc: subprocess.Popen[bytes], color: str) -> None:
        assert proc.stdout is not None
        tty = sys.stdout.isatty()
        label = f"\033[{color}m{name:<24}|\033[0m" if tty else f"{name:<24}|"
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            tail = self._tails[name]
            tail.append(line)
            del tail[:-50]
            with self._lock:
                print(f"{label} {line}", flush=True)

    def pids(self) -> dict[str, int]:
        """The running children's pids, by service (recorded for `status` and `stop`)."""
        procs = {name: self._procs[owner] for name, owner in self._serving.items()}
        return {name: proc.pid for name, proc in procs.items() if proc.poll() is None}

    def wait(self) -> str | None:
        """Block until a child dies (returns its name) or a signal arrives (raises)."""
        while True:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    return name
            time.sleep(0.2)

    def stop_all(self, timeout: float = 10.0) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self._procs.values():
            _wait_or_kill(proc, max(0.1, deadline - time.monotonic()))


class Background:
    """`start`/`stop`/`status`: detached processes with pid files and log files."""

    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir
        self._launched: dict[str, subprocess.Popen[bytes]] = {}
        run_dir.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def pid(self, name: str) -> int | None:
        path = self.pid_file(name)
        if not path.exists():
            return None
        pid = int(path.read_text().strip())
        try:
            os.kill(pid, 0)
        except OSError:
            path.unlink(missing_ok=True)
            return None
        return pid

    def launch(self, spec: ServiceSpec, env: dict[str, str], cwd: Path) -> int:
        """Spawn the service detached, with its pid file; `wait_healthy` waits for it."""
        if self.pid(spec.name):
            raise ServiceError(f"{spec.name} is already running (pid {self.pid(spec.name)})")
        check_ports_free([spec])
        with self.log_file(spec.name).open("ab") as log:
            proc = spawn(spec.name, {**env, "HTTP_PORT": str(spec.port)}, cwd, log, detached=True)
        self.pid_file(spec.name).write_text(str(proc.pid))
        self._launched[spec.name] = proc
        return proc.pid

    def launch_one(self, chosen: list[ServiceSpec], env: dict[str, str], cwd: Path) -> int:
        """All of `chosen` in one detached process (ops/one_process.py), with one pid file
        (the caller has seen that none runs)."""
        check_ports_free(chosen)
        names = tuple(s.name for s in chosen)
        with self.log_file(ONE_PROCESS).open("ab") as log:
            proc = spawn(
                ONE_PROCESS_MODULE,
                one_process_env(env, chosen),
                cwd,
                log,
                detached=True,
                args=names,
            )
        self.pid_file(ONE_PROCESS).write_text(str(proc.pid))
        self._launched.update(dict.fromkeys(names, proc))
        return proc.pid

    def wait_healthy(self, launched: list[ServiceSpec], timeout: float) -> None:
        """Until every one of `launched` (by this object) answers `/health`, polled together."""
        starting = {s.name: (s.url, self._launched[s.name]) for s in launched}
        wait_all_healthy(starting, self._tail_of, timeout)

    def _tail_of(self, name: str) -> str:
        """The log of the process serving `name`: its own, or the one process's."""
        return self.tail(name if self.log_file(name).exists() else ONE_PROCESS)

    def stop(self, name: str, timeout: float = 10.0) -> bool:
        pid = self.pid(name)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            # An exit is the end even while the zombie waits for its parent (an init that
            # reaps late, or never): `start`'s manage.py is gone, so the parent is not us.
            if not pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        self.pid_file(name).unlink(missing_ok=True)
        return True

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.log_file(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
