"""Start-up as `./manage.py up` does it, timed: the database check (`prepare_database`: at
head, so no Alembic, no seed), all five services launched at once (or, as `up --one-process`,
one process of them all), until every one answers `/health`. `measure_empty` does the same
on a database made empty for it, as a first start is: Alembic's migrations and the seed's
import come first. The code is ops/'s, called, not copied, so a faster `up` is a faster
figure."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

from common.infrastructure.settings import ENV_FILE_VARIABLE
from ops.infra import DatabaseServer, free_port
from ops.processes import Foreground, ServiceError, check_ports_free, peer_urls, specs
from ops.run_env import forget_prefix
from ops.services import ROOT

#: A service that is not healthy by then is a failed start, not a slow one.
TIMEOUT_S = 60.0


class _Timed(Foreground):
    """`up`'s runner, each pump closing its service's pipe at the end of the output."""

    def _pump(self, name: str, proc: subprocess.Popen[bytes], color: str) -> None:
        try:
            super()._pump(name, proc, color)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def _base_port() -> int:
    """Five consecutive free ports (specs() puts the services on base..base+4)."""
    for _ in range(20):
        base = free_port()
        try:
            check_ports_free(specs(base))
        except ServiceError:
            continue
        if base + 4 < 65536:
            return base
    raise ServiceError("no five consecutive free ports")


def measure(env: dict[str, str], *, one_process: bool = False) -> dict[str, float]:
    """Seconds from the start of `up`'s work to all five healthy, on `env`'s database (at
    head and seeded, unless `measure_empty` made it); the services are stopped again
    afterwards."""
    from ops.cli import prepare_database  # manage.py's module: loaded only when measuring

    chosen = specs(_base_port())
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        ENV_FILE_VARIABLE: "",
        **env,
        **peer_urls({s.name: s.url for s in chosen}),
        # Its lines go to the bench's output: only errors (a worker waiting for rest_service
        # warns while they all start together).
        "LOG_LEVEL": "ERROR",
    }
    runner = _Timed(full_env, ROOT)
    started = time.perf_counter()
    try:
        prepare_database(full_env, seed_if_empty=True)
        checked = time.perf_counter()
        if one_process:
            runner.launch_one(chosen)
        else:
            for spec in chosen:
                runner.launch(spec)
        each = runner.wait_healthy(chosen, timeout=TIMEOUT_S)
        healthy = time.perf_counter()
        processes = len(set(runner.pids().values()))
    finally:
        runner.stop_all()
    return {
        "seconds": round(healthy - started, 2),
        "database_check_s": round(checked - started, 2),
        "launch_to_healthy_s": round(healthy - checked, 2),
        "processes": processes,
        **{f"healthy_s_{name}": seconds for name, seconds in each.items()},
    }


def measure_empty(env: dict[str, str], *, one_process: bool = False) -> dict[str, float]:
    """`measure` on a new, empty database beside `env`'s (and a Redis prefix of its own):
    `up`'s first start, which migrates the database and imports the seed. Both are dropped
    afterwards."""
    server = DatabaseServer(env["ASYNC_DATABASE_URL"])
    tag = uuid.uuid4().hex[:8]
    url = server.create(f"bench_empty_{tag}")
    prefix = f"{env.get('REDIS_KEY_PREFIX', '')}empty-{tag}:"
    try:
        return measure(
            {**env, "ASYNC_DATABASE_URL": url, "REDIS_KEY_PREFIX": prefix}, one_process=one_process
        )
    finally:
        server.drop(url)
        forget_prefix(env["REDIS_URL"], prefix)
