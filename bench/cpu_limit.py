"""A CPU limit on one process, as a Kubernetes `resources.limits.cpu` puts on a pod: a cgroup
of its own with a CFS quota (`cpu.cfs_quota_us` on cgroup v1, `cpu.max` on v2).

A scale-out benchmark on a machine with fewer cores than replicas measures the machine, not
the replicas: three uncapped replicas on two cores can at most double one. Capped alike (the
manifests give cron_service 500m), one replica and three get the same CPU each, so the burst
shows what the replicas themselves add. Needs write access to the cgroup file system (root in
a container that mounts it writable); `CpuLimitUnavailable` says why not otherwise.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The CFS period the quota is a share of (the kernel's default, as Kubernetes uses).
PERIOD_US = 100_000


class CpuLimitUnavailable(RuntimeError):
    """No writable cgroup CPU controller on this machine."""


def _v1_root(root: Path) -> Path | None:
    cpu = root / "cpu"
    return cpu if (cpu / "cpu.cfs_quota_us").exists() else None


def _v2_root(root: Path) -> Path | None:
    controllers = root / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return root
    return None


@contextlib.contextmanager
def cpu_limited(pid: int, cores: float, *, root: Path = CGROUP_ROOT) -> Iterator[Path]:
    """Hold process `pid` (all its threads) to `cores` CPUs until the block ends; yields the
    cgroup. The cgroup is removed afterwards (the process must have exited or is moved back
    to the root)."""
    if cores <= 0:
        raise ValueError("cores must be positive")
    quota = max(1000, round(cores * PERIOD_US))
    name = f"smart_assistant_bench_{uuid.uuid4().hex[:8]}"
    v1 = _v1_root(root)
    base = v1 or _v2_root(root)
    if base is None:
        raise CpuLimitUnavailable(f"no cgroup CPU controller under {root}")
    group = base / name
    try:
        group.mkdir()
        if v1 is not None:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        (group / "cgroup.procs").write_text(str(pid))
    except OSError as exc:
        with contextlib.suppress(OSError):
            group.rmdir()
        raise CpuLimitUnavailable(f"cannot limit CPU through {group}: {exc}") from exc
    try:
        yield group
    finally:
        _release(group, base)


def _release(group: Path, base: Path) -> None:
    """Move what is left back to the parent, then remove the group."""
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            with contextlib.suppress(OSError):
                (base / "cgroup.procs").write_text(pid)
    with contextlib.suppress(OSError):
        os.rmdir(group)
