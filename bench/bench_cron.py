"""Benchmark (not a test): N reminders due at the same moment through one cron_service.

Starts rest_service and cron_service as processes on a database and Redis prefix of their own
(the local servers, or TEST_DATABASE_URL / TEST_REDIS_URL). The users are made over the REST
API; the N one-off reminders, all due at the same second (the worst case of "due in the same
minute"), are inserted into Postgres in one statement, since what is measured is
cron_service, not how fast rest_service takes 10 000 POSTs. It reports:

* how long cron_service's start-up sync of the N jobs took;
* lateness of each fire: the time its message was added to `queue:to_telegram` (the stream
  entry id) minus the scheduled time: p50, p99, max;
* how long until every fire was recorded in rest_service (runs, job state, conversation);
* cron_service's memory (RSS) idle, with the jobs loaded, and its peak.

    .venv/bin/python bench/bench_cron.py [--count 10000] [--users 100] [--lead 45]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import redis.asyncio as aioredis
from psycopg2.extras import execute_values

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import bench_environment
from common.infrastructure.postgres_url import sync_url
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from ops.processes import ServiceProcess, Stack


def memory_mb(process: ServiceProcess) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MiB."""
    assert process.proc is not None
    found = {}
    for line in Path(f"/proc/{process.proc.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0]) / 1024
    return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def make_users(rest: RestClient, count: int) -> list[User]:
    return [
        (await rest.get_or_create_user(10**9 + n, first_name=f"bench{n}"))[0] for n in range(count)
    ]


def insert_reminders(database: str, users: list[User], count: int, due: datetime) -> float:
    """N active one-off reminders, as rest_service would store them, in one statement."""
    rows = [
        (str(uuid.uuid4()), f"bench {n}", "reminder", str(users[n % len(users)].id),
         users[n % len(users)].telegram_id, f"bench reminder {n}", due, "Europe/Berlin",
         "active", due, n)
        for n in range(count)
    ]  # fmt: skip
    started = time.monotonic()
    conn = psycopg2.connect(sync_url(database).replace("+psycopg2", ""))
    with conn, conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO cron_jobs (id, name, type, user_id, chat_id, text, run_at, timezone,"
            " status, next_run_at, created_at, updated_at) VALUES %s",
            rows,
            # created one after the other, as over the API (list pages are ordered by it)
            template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " now() + %s * interval '1 microsecond', now())",
            page_size=1000,
        )
    conn.close()
    return time.monotonic() - started


async def scheduled_jobs(cron: ServiceProcess) -> int:
    async with RestClient(cron.url, "unused") as http:
        text = (await http.request("GET", "/metrics")).content.decode()
    for line in text.splitlines():
        if line.startswith("smart_assistant_cron_scheduled_jobs "):
            return int(float(line.split()[1]))
    return 0


async def wait_until(
    check: Callable[[], Awaitable[bool]], timeout: float, every: float = 0.2
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(every)
    return False


async def run(args: argparse.Namespace, stack: Stack, names: Names, redis_url: str) -> None:
    stack.start("rest_service")
    token = stack.env["SERVICE_API_TOKEN"]
    redis = aioredis.Redis.from_url(redis_url)
    async with RestClient(stack.url("rest_service"), token, timeout=60) as rest:
        users = await make_users(rest, args.users)
        due = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(second=0, microsecond=0)
        due += timedelta(minutes=1)
        took = insert_reminders(stack.env["ASYNC_DATABASE_URL"], users, args.count, due)
        print(f"inserted {args.count} reminders for {args.users} users in {took:.1f}s, "
              f"all due at {due:%H:%M:%S} UTC")  # fmt: skip

        started = time.monotonic()
        cron = stack.start("cron_service", env={"CRON_RECORD_CONCURRENCY": str(args.record)})
        idle = memory_mb(cron)

        async def all_scheduled() -> bool:
            return await scheduled_jobs(cron) == args.count

        synced = await wait_until(all_scheduled, (due - datetime.now(UTC)).total_seconds() - 5)
        sync_took = time.monotonic() - started
        loaded = memory_mb(cron)
        left = (due - datetime.now(UTC)).total_seconds()
        print(f"cron_service started and scheduled {await scheduled_jobs(cron)} jobs in "
              f"{sync_took:.1f}s (all: {synced}); {left:.0f}s before the due time")  # fmt: skip
        if left < 0:
            raise SystemExit("the start-up sync took longer than --lead: raise it")

        async def all_fired() -> bool:
            return int(await redis.xlen(names.to_telegram)) >= args.count

        async def all_recorded() -> bool:
            return int(await redis.hlen(names.cron_unrecorded_of(TO_TELEGRAM))) == 0

        await wait_until(all_fired, left + args.timeout)
        fired_mem = memory_mb(cron)
        entries = await redis.xrange(names.to_telegram)
        lateness = [int(entry_id.decode().split("-")[0]) / 1000 - due.timestamp()
                    for entry_id, _fields in entries]  # fmt: skip
        print(f"fired {len(entries)} of {args.count}")
        await wait_until(all_recorded, args.timeout, every=1.0)
        recorded_after = (datetime.now(UTC) - due).total_seconds()
        runs = await rest.request("GET", "/api/cron-job-runs/", params={"limit": 1})
        end = memory_mb(cron)
    await redis.aclose()

    print()
    print(f"lateness (stream entry time - scheduled time), {len(lateness)} fires:")
    print(f"  p50 {percentile(lateness, 50) * 1000:8.0f} ms")
    print(f"  p99 {percentile(lateness, 99) * 1000:8.0f} ms")
    print(
        f"  max {max(lateness) * 1000:8.0f} ms   (mean {statistics.mean(lateness) * 1000:.0f} ms)"
    )
    print(f"recorded in rest_service: {runs.headers.get('X-Total-Count')} runs, the last "
          f"{recorded_after:.0f}s after the due time")  # fmt: skip
    print("cron_service memory (RSS):")
    print(f"  started            {idle['VmRSS']:7.1f} MiB")
    print(f"  {args.count} jobs loaded {loaded['VmRSS']:7.1f} MiB")
    print(f"  all fired          {fired_mem['VmRSS']:7.1f} MiB")
    print(f"  all recorded       {end['VmRSS']:7.1f} MiB   (peak {end['VmHWM']:.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--lead", type=int, default=45, help="seconds before the due minute")
    parser.add_argument("--record", type=int, default=16, help="CRON_RECORD_CONCURRENCY")
    parser.add_argument("--timeout", type=float, default=1200.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on a plain kill too

    with (
        bench_environment("cron") as bench,
        tempfile.TemporaryDirectory(prefix="bench-cron-") as workdir,
    ):
        stack = Stack(bench.env, Path(workdir))
        try:
            asyncio.run(run(args, stack, bench.names, bench.redis_url))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
