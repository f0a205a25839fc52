"""Benchmark (not a test): rest_service's two hottest paths, through one uvicorn worker.

Starts `python -m rest_service` (one process, one worker) on a database and Redis prefix of
its own (the local servers, or TEST_DATABASE_URL / TEST_REDIS_URL), imports the seed
configuration, then measures, with `--concurrency` clients on keep-alive connections:

* `GET /api/config` served from the cache (the version is still checked in Postgres);
* `POST /api/threads/{thread_id}/messages` appending one message (with a dedup key, as the
  assistant does);
* `GET /admin/login`, an admin page: its template's links and assets are each a
  `url_for("admin:…")` over the app's routes;

and prints requests per second and p50 / p99 latency of each.

    .venv/bin/python bench/bench_rest.py [--requests 3000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import bench_environment
from ops.processes import Stack
from ops.services import ROOT


async def measure(
    name: str, total: int, concurrency: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> None:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            response = await call(i)
            latencies.append(time.perf_counter() - started)
            assert response.status_code in (200, 201), response.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<42} {total / elapsed:8.0f} req/s   "
        f"p50 {cuts[49] * 1000:6.2f} ms   p99 {cuts[98] * 1000:6.2f} ms"
    )


async def run(url: str, service: str, total: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        as_service = {"Authorization": f"Bearer {service}"}
        config = (await http.get("/api/config", headers=as_service)).json()
        secretary = config["secretary"]["id"]
        user = (
            await http.post("/api/users/", json={"telegram_id": 777}, headers=as_service)
        ).json()
        thread = await http.post(
            "/api/threads/",
            json={"user_id": user["id"], "assistant_id": secretary},
            headers=as_service,
        )
        path = f"/api/threads/{thread.json()['thread_id']}/messages"
        for _ in range(200):  # warm up: connections, caches, prepared statements
            await http.get("/api/config", headers=as_service)
        run_id = uuid.uuid4().hex[:8]
        await measure(
            "GET /api/config (cached)",
            total,
            concurrency,
            lambda _i: http.get("/api/config", headers=as_service),
        )
        await measure(
            "POST /api/threads/{id}/messages (one)",
            total,
            concurrency,
            lambda i: http.post(
                path,
                json={
                    "role": "user",
                    "content": f"message {i}: remind me to buy milk",
                    "dedup_key": f"bench-{run_id}-{i}",
                    "user_id": user["id"],
                },
                headers=as_service,
            ),
        )
        await http.get("/admin/login")  # the admin is built on its first request
        await measure(
            "GET /admin/login (a page)", total, concurrency, lambda _i: http.get("/admin/login")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with bench_environment("rest") as bench, tempfile.TemporaryDirectory() as workdir:
        stack = Stack(bench.env, Path(workdir))
        try:
            seed_env = {**os.environ, **bench.env, "PYTHONPATH": str(ROOT)}
            subprocess.run(
                [sys.executable, "-m", "rest_service.seed"],
                env=seed_env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            process = stack.start("rest_service")
            print(
                f"rest_service: one uvicorn worker, {args.concurrency} concurrent clients, "
                f"{args.requests} requests each, on {os.cpu_count()} CPUs"
            )
            service = bench.env["SERVICE_API_TOKEN"]
            asyncio.run(run(process.url, service, args.requests, args.concurrency))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
