"""Benchmark (not a test): N reminders due at one second, fired by 1 and by 3 cron_service
replicas (replicas share the due work).

For each replica count, on a database and Redis prefix of its own: rest_service, the N one-off
reminders inserted into Postgres in one statement (as `bench_cron.py` does), then the replicas,
started together; once every replica sees the others and the jobs are planned once over all
of them, the due second comes. It reports, per replica count:

* the start-up (each replica loads and plans only the jobs of its partitions);
* memory: the jobs each replica holds, and each replica's peak RSS;
* the burst: from the due second to the last fire on `queue:to_telegram` (stream entry
  times), the fires per second, lateness p50 / p99, each replica's share, the CPU seconds
  each used meanwhile, and how many fires were found already claimed (0 when the replicas
  agree on who owns what);
* recording in rest_service during the next `--record-window` seconds (the burst is out
  first; rest_service, one process, is what recording waits on);
* the speed-up of the burst over the first replica count.

    .venv/bin/python bench/bench_cron_replicas.py [--count 100000] [--replicas 1 3]
        [--cpu-limit 0.5]

`--cpu-limit` holds each replica to a CPU quota, as the Kubernetes manifests do (500m): on a
machine with fewer cores than replicas, uncapped replicas measure the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import procstat
from bench.bench_cron import insert_reminders, make_users, memory_mb, percentile, wait_until
from bench.cpu_limit import cpu_limited
from bench.environment import bench_environment
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from ops.processes import ServiceProcess, Stack


@dataclass
class Result:
    replicas: int
    startup_s: float
    burst_s: float
    p50_ms: float
    p99_ms: float
    shares: list[int]
    already_claimed: int
    recorded: int
    #: Each replica's peak resident memory (VmHWM) at the end.
    peak_rss_mib: list[float]
    #: The active jobs each replica held in memory once all had planned (its partitions').
    known: list[int]
    #: CPU seconds each replica used from just before the due second until all had fired.
    cpu_s: list[float]
    #: Full loads and targeted reloads over all replicas meanwhile (a full one mid-burst
    #: costs the burst's CPU).
    full_syncs: int = 0
    targeted_syncs: int = 0

    @property
    def rate(self) -> float:
        return sum(self.shares) / self.burst_s if self.burst_s > 0 else float("inf")


def cpu_seconds(process: ServiceProcess) -> float:
    """User + system CPU time the process has used so far."""
    assert process.proc is not None
    return procstat.cpu_seconds(process.proc.pid)


def _entry_id(entry_id: bytes | str | None) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def _millis(entry_id: bytes | str | None) -> int:
    """The time a stream entry was added (its id's first part)."""
    return int(_entry_id(entry_id).split("-")[0])


async def entry_times(redis: aioredis.Redis, names: Names) -> list[int]:
    """When each fire was added to `queue:to_telegram` (ms), read a page at a time."""
    times: list[int] = []
    start = "-"
    while True:
        page = await redis.xrange(names.to_telegram, min=start, count=1000) or []
        times += [_millis(entry_id) for entry_id, _ in page]
        if len(page) < 1000:
            return times
        last = _entry_id(page[-1][0])
        start = f"({last}"


async def metric(cron: ServiceProcess, prefix: str) -> float:
    async with RestClient(cron.url, "unused") as http:
        text = (await http.request("GET", "/metrics")).content.decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


async def syncs(cron: ServiceProcess) -> tuple[float, float]:
    """Full and targeted syncs so far."""
    name = "smart_assistant_cron_syncs_total"
    return (
        await metric(cron, f'{name}{{result="ok"}}'),
        await metric(cron, f'{name}{{result="targeted"}}'),
    )


async def run_one(
    args: argparse.Namespace, replicas: int, stack: Stack, names: Names, redis_url: str
) -> Result:
    with contextlib.ExitStack() as limits:
        return await _run_one(args, replicas, stack, names, redis_url, limits)


async def _run_one(
    args: argparse.Namespace,
    replicas: int,
    stack: Stack,
    names: Names,
    redis_url: str,
    limits: contextlib.ExitStack,
) -> Result:
    stack.start("rest_service")
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=60)
    async with RestClient(stack.url("rest_service"), stack.env["SERVICE_API_TOKEN"]) as rest:
        users = await make_users(rest, args.users)
        due = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(microsecond=0)
        took = insert_reminders(stack.env["ASYNC_DATABASE_URL"], users, args.count, due)
        print(f"[{replicas}] inserted {args.count} reminders in {took:.1f}s, due {due:%H:%M:%S}")

        started = time.monotonic()
        env = {
            "CRON_RECORD_CONCURRENCY": str(args.record),
            # one load at start; a resync during the burst would measure the load instead
            "CRON_RESYNC_INTERVAL": "3600",
            "CRON_REPLICA_HEARTBEAT": "1",
            "CRON_REPLICA_TTL": "5",
        }
        crons = await asyncio.gather(
            *(
                asyncio.to_thread(stack.start, "cron_service", name=f"cron_{n}", env=env)
                for n in range(replicas)
            )
        )
        if args.cpu_limit:
            for cron in crons:
                assert cron.proc is not None
                limits.enter_context(cpu_limited(cron.proc.pid, args.cpu_limit))

        async def planned_once() -> bool:
            seen = [await metric(c, "smart_assistant_cron_replicas ") for c in crons]
            jobs = [await metric(c, "smart_assistant_cron_scheduled_jobs ") for c in crons]
            return all(s == replicas for s in seen) and sum(jobs) == args.count

        settled = await wait_until(planned_once, (due - datetime.now(UTC)).total_seconds())
        startup = time.monotonic() - started
        left = (due - datetime.now(UTC)).total_seconds()
        print(f"[{replicas}] replicas planned the jobs in {startup:.1f}s ({left:.0f}s to spare)")
        known = [int(await metric(c, "smart_assistant_cron_known_jobs ")) for c in crons]
        if not settled or left < 0:
            raise SystemExit("the start-up took longer than --lead: raise it")

        # the syncs of the start-up (a second full one follows the subscription) are over
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 2))
        syncs_before = [await syncs(c) for c in crons]
        cpu_before = [cpu_seconds(c) for c in crons]

        async def all_fired() -> bool:
            return bool(int(await redis.xlen(names.to_telegram)) >= args.count)

        await wait_until(all_fired, left + args.timeout, every=0.5)
        cpu = [cpu_seconds(c) - before for c, before in zip(crons, cpu_before, strict=True)]
        syncs_after = [await syncs(c) for c in crons]
        full_syncs = sum(a[0] - b[0] for a, b in zip(syncs_after, syncs_before, strict=True))
        targeted = sum(a[1] - b[1] for a, b in zip(syncs_after, syncs_before, strict=True))
        lateness = [m / 1000 - due.timestamp() for m in await entry_times(redis, names)]
        shares = [int(await metric(c, "smart_assistant_cron_fires_total{")) for c in crons]
        claimed = int(
            sum(
                [
                    await metric(c, "smart_assistant_cron_fires_already_claimed_total ")
                    for c in crons
                ]
            )
        )
        await asyncio.sleep(args.record_window)
        runs = await rest.request("GET", "/api/cron-job-runs/", params={"limit": 1})
        recorded = int(runs.headers.get("X-Total-Count", "0"))
        peak = [memory_mb(c)["VmHWM"] for c in crons]
    await redis.aclose()
    return Result(
        replicas=replicas,
        startup_s=startup,
        burst_s=max(lateness),
        p50_ms=percentile(lateness, 50) * 1000,
        p99_ms=percentile(lateness, 99) * 1000,
        shares=shares,
        already_claimed=claimed,
        recorded=recorded,
        peak_rss_mib=peak,
        known=known,
        cpu_s=cpu,
        full_syncs=int(full_syncs),
        targeted_syncs=int(targeted),
    )


def scenario(args: argparse.Namespace, replicas: int) -> Result:
    with (
        bench_environment("cronr") as bench,
        tempfile.TemporaryDirectory(prefix="bench-cronr-") as workdir,
    ):
        stack = Stack(bench.env, Path(workdir))
        try:
            return asyncio.run(run_one(args, replicas, stack, bench.names, bench.redis_url))
        finally:
            stack.stop_all()


def report(results: list[Result], args: argparse.Namespace) -> None:
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print()
    print(f"{args.count} one-off reminders due at one second; machine: {os.cpu_count()} cores,")
    if args.cpu_limit:
        print(f"  each replica held to {args.cpu_limit:g} CPU (a cgroup CFS quota),")
    print(f"  {load}")
    base = results[0]
    print(
        f"{'replicas':>8} {'start-up':>9} {'burst':>8} {'fires/s':>8} {'speed-up':>8} "
        f"{'p50':>8} {'p99':>8} {'claimed twice':>13} {'recorded':>9}  shares (CPU s)"
    )
    for r in results:
        print(
            f"{r.replicas:>8} {r.startup_s:>8.1f}s {r.burst_s:>7.1f}s {r.rate:>8.0f} "
            f"{base.burst_s / r.burst_s:>7.2f}x {r.p50_ms:>6.0f}ms {r.p99_ms:>6.0f}ms "
            f"{r.already_claimed:>13} {r.recorded:>9}  "
            + ", ".join(f"{n} ({c:.1f})" for n, c in zip(r.shares, r.cpu_s, strict=True))
        )
    print(f"(recorded: runs in rest_service {args.record_window:.0f}s after the burst)")
    for r in results:
        print(f"({r.replicas} replicas: jobs held in memory "
              + ", ".join(str(k) for k in r.known) + "; peak RSS "
              + ", ".join(f"{m:.0f}" for m in r.peak_rss_mib) + " MiB)")  # fmt: skip
    for r in results:
        print(f"({r.replicas} replicas, during the burst: {r.full_syncs} full syncs, "
              f"{r.targeted_syncs} targeted reloads over all replicas)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--lead", type=int, default=120, help="seconds before the due second")
    parser.add_argument("--record", type=int, default=16, help="CRON_RECORD_CONCURRENCY")
    parser.add_argument("--record-window", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--cpu-limit",
        type=float,
        default=None,
        metavar="CORES",
        help="hold each replica to this many CPUs, as the Kubernetes limit does (0.5 there)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on a plain kill too

    results: list[Result] = []
    for replicas in args.replicas:  # the table so far after each: a cut-short run still tells
        results.append(scenario(args, replicas))
        report(results, args)


if __name__ == "__main__":
    main()
