"""CPU and memory of processes from /proc: the services', and the CPU the Postgres and Redis
servers spend for a benchmark (the servers are shared, so what is counted is written here)."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

#: The infra figures: Postgres backends connected to the bench database, the Postgres server's
#: own processes (postmaster, walwriter, checkpointer, ...: they serve every database on the
#: server, other runs' too), and the whole redis-server (shared with other runs' prefixes).
BENCH_BACKENDS = "postgres (bench database backends)"
PG_SERVER = "postgres (server processes, shared)"
REDIS = "redis-server (whole, shared)"
#: What the "≤ 2 ms in Postgres and Redis" target counts: the server processes are left out
#: (their work is mostly other databases' on a shared machine); they are reported beside it.
COUNTED = (BENCH_BACKENDS, REDIS)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int, field_name: str = "VmHWM") -> float:
    """Peak (VmHWM) or current (VmRSS) resident memory of a process."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: the process's private pages plus its share of the pages it
    shares (the interpreter, the C extensions), so five processes' figures add up to the
    memory they occupy together; VmRSS and VmHWM count each shared page in every process."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _infra_group(pid: int, database: str) -> str | None:
    """Which infra figure a process belongs to, if any."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    if comm.startswith("redis-server"):
        return REDIS
    if comm != "postgres" and not comm.startswith("postgres"):
        return None
    # A backend's title: "postgres: 15/main: <user> <database> <host>(<port>) <state>".
    if f" {database} " in cmdline:
        return BENCH_BACKENDS
    parts = cmdline.split()
    is_backend = len(parts) >= 5 and "(" in parts[4]
    return None if is_backend else PG_SERVER


@dataclass
class InfraCpu:
    """Samples the Postgres and Redis processes' CPU; `sample()` during a run keeps the last
    figure of backends that exit before the end (a pool may close connections)."""

    database: str
    _start: dict[int, float] = field(default_factory=dict)
    _last: dict[int, tuple[str, float]] = field(default_factory=dict)

    def _scan(self) -> dict[int, tuple[str, float]]:
        found: dict[int, tuple[str, float]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (group := _infra_group(int(entry), self.database)):
                found[int(entry)] = (group, cpu_seconds(int(entry)))
        return found

    def start(self) -> None:
        self._last = self._scan()
        self._start = {pid: cpu for pid, (_, cpu) in self._last.items()}

    def sample(self) -> None:
        self._last.update(self._scan())

    def seconds(self) -> dict[str, float]:
        """CPU seconds per group since `start()` (a pid new since then: all of its CPU)."""
        self.sample()
        out = {BENCH_BACKENDS: 0.0, PG_SERVER: 0.0, REDIS: 0.0}
        for pid, (group, cpu) in self._last.items():
            out[group] += cpu - self._start.get(pid, 0.0)
        return {group: round(value, 2) for group, value in out.items()}
