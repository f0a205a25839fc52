"""Benchmark (not a test): how fast one tg_bot process receives and sends.

Runs the Telegram stand-in in this process (no added latency), and rest_service and tg_bot
as processes on a database and Redis prefix of their own (the local servers, or
TEST_DATABASE_URL / TEST_REDIS_URL), with the send limits raised so that what is measured is
the bot, not Telegram's rules. It reports:

* receiving: updates per second from the moment N private messages (from U users) wait in
  getUpdates until all N are queued in `queue:to_secretary` (users got-or-created in
  rest_service on the way, each once thanks to the bot's short user cache);
* sending: answers per second from the moment M answers (Markdown, to C chats) are added to
  `queue:to_telegram` at once until Telegram accepted the last one, and when after that
  addition the answers were accepted (p50 / p99).

    .venv/bin/python bench/bench_tg_bot.py [--updates 5000] [--users 200]
                                           [--answers 5000] [--chats 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.environment import bench_environment
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TO_SECRETARY, TO_TELEGRAM, Names
from ops.processes import ServiceProcess, Stack
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn

ANSWER = (
    "**Tomorrow in Berlin**: mostly sunny, *up to 21 °C*.\n\n"
    "- morning: 12 °C, light wind\n- afternoon: 21 °C\n- evening: 16 °C & clear\n\n"
    "Take `sunglasses` — and see [the forecast](https://open-meteo.com/)."
)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float) -> float:
    """Seconds until `check` held."""
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"gave up after {timeout}s")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


def cpu_seconds(process: ServiceProcess) -> float:
    """User + system CPU time the process has used so far."""
    assert process.proc is not None
    fields = Path(f"/proc/{process.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def receiving(
    args: argparse.Namespace, telegram: TelegramStandIn, redis, names, bot: ServiceProcess
) -> None:
    cpu = cpu_seconds(bot)
    users = [build.user(10**8 + i, f"User{i}", language_code="en") for i in range(args.users)]
    for i in range(args.updates):
        telegram.inject(build.private_text(users[i % len(users)], f"message {i}"))
    stream = names.stream(TO_SECRETARY)

    async def all_queued() -> bool:
        return await redis.xlen(stream) >= args.updates

    took = await wait_until(all_queued, args.timeout)
    used = cpu_seconds(bot) - cpu
    print(f"receiving: {args.updates} updates from {args.users} users queued in {took:.2f} s")
    print(f"  {args.updates / took:,.0f} updates/s (getUpdates → user → queue:to_secretary)")
    print(f"  tg_bot CPU {used:.1f} s: {used / args.updates * 1000:.2f} ms an update, "
          f"{args.updates / used:,.0f} updates/s per busy core")  # fmt: skip


async def sending(
    args: argparse.Namespace, telegram: TelegramStandIn, redis, names, bot: ServiceProcess
) -> None:
    telegram.sent.clear()
    cpu = cpu_seconds(bot)
    chats = [10**9 + i for i in range(args.chats)]
    stream = names.stream(TO_TELEGRAM)
    started = time.monotonic()
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(args.answers):
            chat = chats[i % len(chats)]
            message = OutgoingMessage(message_id=uuid.uuid4(), chat_id=chat, text=f"{i}. {ANSWER}")
            pipe.xadd(stream, {"data": message.model_dump_json()})
        await pipe.execute()
    published = time.monotonic()

    async def all_sent() -> bool:
        return len(telegram.sent) >= args.answers

    await wait_until(all_sent, args.timeout)
    took = time.monotonic() - started
    used = cpu_seconds(bot) - cpu
    waited = [m.at - published for m in telegram.sent]
    print(f"sending: {args.answers} answers to {args.chats} chats delivered in {took:.2f} s")
    print(f"  {args.answers / took:,.0f} answers/s (queue:to_telegram → render → limiter → "
          f"sendMessage)")  # fmt: skip
    print(f"  all {args.answers} added at once; accepted after p50 {percentile(waited, 50):.2f} s, "
          f"p99 {percentile(waited, 99):.2f} s")  # fmt: skip
    print(f"  tg_bot CPU {used:.1f} s: {used / args.answers * 1000:.2f} ms an answer, "
          f"{args.answers / used:,.0f} answers/s per busy core")  # fmt: skip


async def run(args: argparse.Namespace, stack: Stack, names: Names, redis_url: str) -> None:
    redis = aioredis.Redis.from_url(redis_url)
    async with TelegramStandIn("424242:BENCH-token").running() as telegram:
        stack.env["REST_SERVICE_URL"] = (await asyncio.to_thread(stack.start, "rest_service")).url
        bot = await asyncio.to_thread(
            stack.start,
            "tg_bot",
            env={
                "TELEGRAM_TOKEN": telegram.token,
                "TELEGRAM_API_BASE": telegram.url,
                "SEND_LIMIT_OVERALL_PER_SECOND": "1000000",
                "SEND_LIMIT_CHAT_PER_SECOND": "1000000",
                "SEND_LIMIT_GROUP_PER_MINUTE": "1000000",
                "SEND_CONCURRENCY": str(args.concurrency),
                "USER_CACHE_SECONDS": "600",
                "TYPING_INTERVAL_SECONDS": "60",
            },
        )

        async def polling() -> bool:
            return telegram.calls.get("getUpdates", 0) > 0

        await wait_until(polling, 60)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        await receiving(args, telegram, redis, names, bot)
        await sending(args, telegram, redis, names, bot)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--answers", type=int, default=5000)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64, help="SEND_CONCURRENCY")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on a plain kill too
    random.seed(1)

    with (
        bench_environment("tg") as bench,
        tempfile.TemporaryDirectory(prefix="bench-tg-") as workdir,
    ):
        stack = Stack(bench.env, Path(workdir))
        try:
            asyncio.run(run(args, stack, bench.names, bench.redis_url))
        finally:
            stack.stop_all()


if __name__ == "__main__":
    main()
