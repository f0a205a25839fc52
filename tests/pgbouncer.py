"""PgBouncer for the tests: the managed-Postgres tests' pooler in transaction mode, and the
session-mode pool the harness puts between the in-process tests and their worker's database
(`tests/harness.py`, `pooled_database_url`), so a test's new engine finds a Postgres backend
already started and already holding the tables, instead of starting one: a fresh backend
costs Postgres about 6 ms of CPU, and opening every table once about 11 ms more.

PgBouncer, like initdb and pg_ctl, refuses to run as root: the tests run it as `postgres`
then, from a folder that user owns."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ops import infra
from tests.waiting import NotInTime, until_sync

#: Where Debian puts it (off PATH for a user without /usr/sbin on theirs).
CANDIDATES = ("/usr/sbin/pgbouncer",)


class PgBouncerFailed(RuntimeError):
    """PgBouncer did not start; the message carries its log."""


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def as_postgres(args: list[str]) -> None:
    """Runs a Postgres tool as `postgres` when the tests run as root; fails with its output."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(prefix + args, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}{done.stderr}")


def owned_dir(path: Path) -> Path:
    """`path`, made private to the user the Postgres tools run as."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    give(path)
    return path


def give(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class PgBouncer:
    root: Path
    port: int

    def through(self, database_url: str) -> str:
        """The same database, user and options, reached through this PgBouncer."""
        parts = urlsplit(database_url)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{self.port}" if user else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text() if path.exists() else "(no log)"

    def stop(self) -> None:
        pid = self.root / "pgbouncer.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), signal.SIGTERM)
        try:
            until_sync(lambda: not infra.port_answers("127.0.0.1", self.port), 10, "pgbouncer gone")
        except NotInTime:
            raise PgBouncerFailed(f"pgbouncer did not stop: {self.log()}") from None


def start_pgbouncer(
    program: str,
    root: Path,
    server_url: str,
    *,
    pool_mode: str,
    pool_size: int,
    idle_seconds: int = 600,
) -> PgBouncer:
    """A PgBouncer in `root` (owned by the user it runs as) in front of `server_url`'s server,
    for any database on it, as `postgres` or the URL's user (PgBouncer lets in only the users
    its file lists, even trusting them; the tests' servers trust them)."""
    port = infra.free_port()
    server = urlsplit(server_url)
    users = sorted({"postgres", server.username or "postgres"})
    (root / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    (root / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={server.hostname} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {root / 'users.txt'}\n"
        f"pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\n"
        f"server_idle_timeout = {idle_seconds}\n"
        f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n"
    )
    for name in ("users.txt", "pgbouncer.ini"):
        give(root / name)
    as_postgres([program, "-d", str(root / "pgbouncer.ini")])
    bouncer = PgBouncer(root, port)
    try:
        until_sync(lambda: infra.port_answers("127.0.0.1", port), 20, "pgbouncer answers")
    except NotInTime:
        raise PgBouncerFailed(f"pgbouncer did not start: {bouncer.log()}") from None
    return bouncer
