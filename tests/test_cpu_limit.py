"""The benchmarks' CPU limit (bench/cpu_limit.py) holds a process to its quota, as a
Kubernetes CPU limit holds a pod: the cron replicas' scale-out is measured with it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cpu_limit import PERIOD_US, CpuLimitUnavailable, cpu_limited
from bench.procstat import cpu_seconds

pytestmark = pytest.mark.e2e


def cfs_stat(group: Path) -> dict[str, int]:
    """The group's CFS bandwidth counters (cgroup v1 and v2 both name these two)."""
    pairs = (line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return {name: int(value) for name, value in pairs}


def test_a_busy_process_gets_no_more_than_its_quota() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        try:
            limit = cpu_limited(busy.pid, 0.2)
            group = limit.__enter__()
        except CpuLimitUnavailable as exc:
            pytest.skip(f"no writable cgroup CPU controller here: {exc}")
        try:
            before, periods_before = cpu_seconds(busy.pid), cfs_stat(group)["nr_periods"]
            time.sleep(2.0)
            used = cpu_seconds(busy.pid) - before
            stat = cfs_stat(group)
            assert str(busy.pid) in (group / "cgroup.procs").read_text().split()
        finally:
            limit.__exit__(None, None, None)
        # Judged on the kernel's own periods, not the wall: a loaded machine runs the child
        # less, never more, than the quota of each period it was runnable in.
        periods = stat["nr_periods"] - periods_before
        quota_s = 0.2 * PERIOD_US / 1_000_000
        assert used <= quota_s * periods + 0.15, f"{used:.2f} CPU s in {periods} periods"
        assert stat["nr_throttled"] > 0  # the kernel held it back: it wanted more
        assert not group.exists()  # removed, the process moved back to the root
        assert busy.poll() is None
    finally:
        busy.kill()
        busy.wait()


def test_on_cgroup_v2_the_quota_is_written_to_cpu_max(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (tmp_path / "cgroup.procs").write_text("")
    with cpu_limited(4242, 0.5, root=tmp_path) as group:
        assert (group / "cpu.max").read_text() == "50000 100000"
        assert (group / "cgroup.procs").read_text() == "4242"


def test_no_cpu_controller_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    with (
        pytest.raises(CpuLimitUnavailable, match="no cgroup CPU controller"),
        cpu_limited(1, 0.5, root=tmp_path),
    ):
        pass
