"""The five services as processes: in the foreground with prefixed logs (`up`), or in the
background with pid and log files (`start`, `stop`, `status`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ops.infra import port_answers

SERVICES = ("rest_service", "google_calendar_service", "assistant", "cron_service", "tg_bot")
DEFAULT_PORTS = dict(zip(SERVICES, range(8000, 8005), strict=True))
_COLORS = ("36", "35", "32", "33", "34")


class ServiceError(RuntimeError):
    pass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def specs(base_port: int | None, only: Iterable[str] | None = None) -> list[ServiceSpec]:
    chosen = set(only or SERVICES)
    unknown = chosen - set(SERVICES)
    if unknown:
        raise ServiceError(f"unknown service {', '.join(sorted(unknown))}; one of {SERVICES}")
    return [
        ServiceSpec(name, (base_port + i) if base_port else DEFAULT_PORTS[name])
        for i, name in enumerate(SERVICES)
        if name in chosen
    ]


def peer_urls(all_specs: list[ServiceSpec]) -> dict[str, str]:
    by_name = {s.name: s for s in all_specs}
    return {
        "REST_SERVICE_URL": by_name["rest_service"].url,
        "GOOGLE_CALENDAR_SERVICE_URL": by_name["google_calendar_service"].url,
    }


def healthy(spec: ServiceSpec, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{spec.url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def check_ports_free(chosen: list[ServiceSpec]) -> None:
    busy = [f"{s.name} ({s.port})" for s in chosen if port_answers("127.0.0.1", s.port)]
    if busy:
        raise ServiceError(
            f"port in use: {', '.join(busy)}. Stop what listens there, "
            "or run with --base-port N to move all five services to N..N+4"
        )


def _command(spec: ServiceSpec) -> list[str]:
    return [sys.executable, "-m", spec.name]


def _wait_healthy(
    spec: ServiceSpec, proc: subprocess.Popen[bytes], log_tail: Callable[[], str], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{spec.name} exited with {proc.returncode}:\n{log_tail()}")
        if healthy(spec):
            return
        time.sleep(0.1)
    raise ServiceError(f"{spec.name} did not become healthy in {timeout:.0f}s:\n{log_tail()}")


class Foreground:
    """`up`: every service a child process, its lines prefixed with its name."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self._env = env
        self._cwd = cwd
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._tails: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def start(self, spec: ServiceSpec, timeout: float = 60.0) -> None:
        proc = subprocess.Popen(
            _command(spec),
            cwd=self._cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**self._env, "HTTP_PORT": str(spec.port)},
            start_new_session=True,
        )
        self._procs[spec.name] = proc
        self._tails[spec.name] = []
        color = _COLORS[SERVICES.index(spec.name) % len(_COLORS)]
        threading.Thread(target=self._pump, args=(spec.name, proc, color), daemon=True).start()
        _wait_healthy(spec, proc, lambda: "\n".join(self._tails[spec.name][-20:]), timeout)

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
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Background:
    """`start`/`stop`/`status`: detached processes with pid files and log files."""

    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir
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

    def start(self, spec: ServiceSpec, env: dict[str, str], cwd: Path, timeout: float) -> int:
        if self.pid(spec.name):
            raise ServiceError(f"{spec.name} is already running (pid {self.pid(spec.name)})")
        check_ports_free([spec])
        with self.log_file(spec.name).open("ab") as log:
            proc = subprocess.Popen(
                _command(spec),
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**env, "HTTP_PORT": str(spec.port)},
                start_new_session=True,
            )
        self.pid_file(spec.name).write_text(str(proc.pid))
        _wait_healthy(spec, proc, lambda: self.tail(spec.name), timeout)
        return proc.pid

    def stop(self, name: str, timeout: float = 10.0) -> bool:
        pid = self.pid(name)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            _reap(pid)
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
