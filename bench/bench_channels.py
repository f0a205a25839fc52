"""Channels mixed in one run: Telegram users through the Telegram stand-in and tg_bot, web
chat visitors through the channels service, all answered by the same assistant at once.

Run with `.venv/bin/python -m bench.bench_channels [--messages N] [--users N]`. Half the
messages are Telegram's, half the web chat's, sent as a backlog at once; it prints one JSON
line with each channel's answered count, throughput and latency (message in → answer in the
channel: Telegram's stand-in stamps its send, the web chat's answer event carries the
millisecond it was written), and writes `bench/results/channels-<time>.json`.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from bench.pipeline import RESULTS, Pipeline, Scenario, _percentiles, machine
from common.infrastructure.redis_keys import Names

WEB_CHAT_SECRET = uuid.uuid4().hex


async def _visitor(client: httpx.AsyncClient) -> str:
    """A new visitor (their page opened): their cookie's visitor id."""
    page = await client.get("/chat")
    page.raise_for_status()
    return str(page.cookies["sa_chat"]).rsplit(".", 2)[0]


async def run(messages: int, users: int) -> dict[str, object]:
    half_users = max(1, users // 2)
    scenario = Scenario("mixed", messages // 2, half_users, "hello there")
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = Pipeline(Path(tmp), extra_env={"WEB_CHAT_SECRET": WEB_CHAT_SECRET})
        await pipeline.start(scenario)
        try:
            return await _mixed(pipeline, messages, half_users)
        finally:
            await pipeline.stop()


async def _mixed(pipeline: Pipeline, messages: int, users: int) -> dict[str, object]:
    assert pipeline.stack is not None
    names = Names(pipeline.env["REDIS_KEY_PREFIX"])
    redis = aioredis.Redis.from_url(pipeline.env["REDIS_URL"])
    telegram_users = [8_000_000 + i for i in range(users)]
    injected: dict[int, list[float]] = {u: [] for u in telegram_users}
    clients = [
        httpx.AsyncClient(base_url=pipeline.stack.url("channels"), timeout=30) for _ in range(users)
    ]
    try:
        visitors = await asyncio.gather(*(_visitor(c) for c in clients))
        posted: dict[str, list[float]] = {v: [] for v in visitors}
        per_channel = messages // 2
        pipeline.telegram.sent.clear()
        started = time.monotonic()

        async def post(i: int) -> None:
            client, visitor = clients[i % users], visitors[i % users]
            posted[visitor].append(time.time())
            body = {"text": f"hello there [{i}]", "id": uuid.uuid4().hex}
            (await client.post("/chat/messages", json=body)).raise_for_status()

        for i in range(per_channel):
            pipeline._inject(telegram_users[i % users], f"hello there [{i}]", injected)
        await asyncio.gather(*(post(i) for i in range(per_channel)))
        web_latencies = await _web_answers(redis, names, posted, per_channel)
        await pipeline.telegram.wait_sent(per_channel, timeout=max(120.0, messages / 5))
        seconds = time.monotonic() - started
        telegram_latencies = pipeline._latencies(injected)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
        await redis.aclose()
    return {
        "messages": messages,
        "users": users * 2,
        "seconds": round(seconds, 2),
        "throughput": round(messages / seconds, 1),
        "telegram": {"answered": len(pipeline.telegram.sent), **_percentiles(telegram_latencies)},
        "web": {"answered": len(web_latencies), **_percentiles(web_latencies)},
    }


async def _web_answers(
    redis: aioredis.Redis, names: Names, posted: dict[str, list[float]], wanted: int
) -> list[float]:
    """Each visitor's answers, in order, paired with their messages: ms from the POST to the
    answer event's own time (its stream id)."""
    deadline = time.monotonic() + max(120.0, wanted / 5)
    while True:
        latencies: list[float] = []
        for visitor, times in posted.items():
            entries = await redis.xrange(names.web_chat(visitor))
            answered = [
                int(e[0].decode().split("-")[0]) for e in entries if e[1][b"kind"] == b"answer"
            ]
            latencies += [ms - 1000 * t for t, ms in zip(times, answered, strict=False)]
        if len(latencies) >= wanted or time.monotonic() > deadline:
            return latencies
        await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args(argv)
    started = machine()
    result = asyncio.run(run(args.messages, args.users))
    print(json.dumps(result), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
    out = RESULTS / f"channels-{stamp}.json"
    out.write_text(json.dumps({"machine": started, "result": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
