"""What `up` and `start` started, recorded in the data folder (`run/state.json`), so that
`chat`, `dlq`, `status`, `stop` and the database commands act on that stack: its Redis and
Postgres, its ports, its env file and its processes."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.infrastructure.clock import utcnow
from ops.infra import Infra

STATE_FILE = "state.json"


@dataclass
class StackState:
    #: "up" (one foreground manage.py owns the services) or "start" (detached, pid files).
    mode: str
    infra: Infra
    env_file: str
    base_port: int | None
    ports: dict[str, int]
    redis_key_prefix: str = ""
    #: All services in one process (ops/one_process.py): `pids` holds its pid for each.
    one_process: bool = False
    #: The `up` process itself: stopping the stack is signalling it.
    manager_pid: int | None = None
    #: Service pids (`up`; `start` keeps its pid files).
    pids: dict[str, int] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: utcnow().isoformat())

    @property
    def redis_url(self) -> str:
        return self.infra.redis_url

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def manager_alive(self) -> bool:
        return self.manager_pid is not None and pid_alive(self.manager_pid)

    def service_pid(self, service: str) -> int | None:
        pid = self.pids.get(service)
        return pid if pid is not None and pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    """Running: it exists and is not a zombie (exited, waiting for its parent to reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal check is all there is
    return state != "Z"


def state_path(run_dir: Path) -> Path:
    return run_dir / STATE_FILE


def save(state: StackState, run_dir: Path) -> None:
    """Written whole to a temporary file, then renamed: a reader never sees half of it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = asdict(state)
    temporary = state_path(run_dir).with_suffix(".tmp")
    temporary.write_text(json.dumps(record, indent=2))
    temporary.replace(state_path(run_dir))


def load(run_dir: Path) -> StackState | None:
    """The recorded stack; None when there is none or the record is unreadable."""
    try:
        record = json.loads(state_path(run_dir).read_text())
        record["infra"] = Infra(**record["infra"])
        return StackState(**record)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def forget(run_dir: Path) -> None:
    state_path(run_dir).unlink(missing_ok=True)
