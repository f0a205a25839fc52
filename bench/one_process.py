"""Memory and start-up of the two shapes side by side on this machine: every service in a
process of its own, and all in one process (ops/one_process.py). On a migrated database with
the seed imported, each shape is started `--runs` times: the seconds from launch to every
service answering `/health`, and VmHWM (peak resident memory) summed over its processes once
all answer. `python -m bench.one_process` (Postgres and Redis as the tests find them).

`--environment runtime` measures what `./manage.py up` installs (every extra but `dev`: no
schemathesis, so no rich or pygments, which httpx and structlog import when they are there):
it syncs that environment from uv.lock into `.data/bench/runtime-venv` and runs there. The
default measures the environment it is run in (the development one: about 5 MB more)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import manage
from ops.infra import DatabaseServer, find_postgres, find_redis, migrate
from ops.processes import Stack
from ops.run_env import base_env, fresh_secrets
from ops.services import NAMES


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def one_run(env: dict[str, str], one_process: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack(env, Path(workdir))
        began = time.monotonic()
        try:
            if one_process:
                stack.launch_one_process({name: {} for name in NAMES})
                stack.wait_healthy(NAMES)
            else:
                for name in NAMES:  # each told the URLs of those before it, as the tests do
                    stack.start(name)
            took = time.monotonic() - began
            pids = {p.proc.pid for p in stack.processes.values() if p.proc is not None}
            return took, sum(vm_hwm_mb(pid) for pid in pids)
        finally:
            stack.stop_all(together=True)


#: Where `--environment runtime` keeps the environment `./manage.py up` would install.
RUNTIME_VENV = manage.ROOT / ".data" / "bench" / "runtime-venv"


def runtime_python() -> Path:
    """The interpreter of the runtime environment (synced from uv.lock as `up` syncs it)."""
    uv = manage._uv()
    _, flags = manage.extra_set("up")
    command = [uv, "sync", "--frozen", "--compile-bytecode", "--quiet", *flags]
    subprocess.run(
        [*command, "--python", manage.python_for_sync(uv)],
        check=True,
        cwd=manage.ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(RUNTIME_VENV)},
    )
    return RUNTIME_VENV / "bin" / "python"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--environment", choices=("current", "runtime"), default="current")
    args = parser.parse_args()
    if args.environment == "runtime" and Path(sys.prefix).resolve() != RUNTIME_VENV.resolve():
        python = str(runtime_python())
        os.execv(python, [python, "-m", "bench.one_process", *sys.argv[1:]])
    print(f"environment: {sys.prefix}")
    postgres, redis = find_postgres(), find_redis()
    assert postgres and redis, "no Postgres or Redis"
    server = DatabaseServer(postgres.url)
    database = server.create(f"bench_one_{uuid.uuid4().hex[:6]}")
    try:
        migrate(database)
        secrets = {**fresh_secrets(), "TELEGRAM_TOKEN": "123456:BENCH-token"}
        env = base_env(database, redis.url, f"bench-one-{uuid.uuid4().hex[:6]}:", secrets)
        env |= {"LOG_LEVEL": "WARNING", "TELEGRAM_API_BASE": "http://127.0.0.1:9"}
        print(f"load average before: {os.getloadavg()}")
        for label, one in (("processes", False), ("one process", True)):
            results = [one_run(env, one) for _ in range(args.runs)]
            starts = [round(r[0], 2) for r in results]
            memory = [round(r[1]) for r in results]
            print(
                f"{label}: start to answering {starts} s (median "
                f"{statistics.median(starts)}), VmHWM summed {memory} MB "
                f"(median {statistics.median(memory)})"
            )
        print(f"load average after: {os.getloadavg()}")
    finally:
        server.drop(database)


if __name__ == "__main__":
    main()
