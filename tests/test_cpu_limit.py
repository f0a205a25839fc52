"""The benchmarks' CPU limit (bench/cpu_limit.py) holds a process to its quota, as a
Kubernetes CPU limit holds a pod: the cron replicas' scale-out is measured with it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.cpu_limit import CpuLimitUnavailable, cpu_limited
from bench.procstat import cpu_seconds

pytestmark = pytest.mark.e2e


def test_a_busy_process_gets_no_more_than_its_quota() -> None:
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        try:
            limit = cpu_limited(busy.pid, 0.2)
            group = limit.__enter__()
        except CpuLimitUnavailable as exc:
            pytest.skip(f"no writable cgroup CPU controller here: {exc}")
        try:
            before, started = cpu_seconds(busy.pid), time.monotonic()
            time.sleep(2.0)
            used = cpu_seconds(busy.pid) - before
            wall = time.monotonic() - started
            assert str(busy.pid) in (group / "cgroup.procs").read_text().split()
        finally:
            limit.__exit__(None, None, None)
        assert used <= 0.2 * wall + 0.15, f"{used:.2f} CPU s in {wall:.2f} s"
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
