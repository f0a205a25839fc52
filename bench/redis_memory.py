"""What Redis holds per user, measured: the memory docs/deploy.md "Redis memory" sizes from.

    .venv/bin/python bench/redis_memory.py [--users 10000] [--messages-per-day 10]
        [--redis-url redis://127.0.0.1:6379/0] [--max-messages 20000]

Fills a real Redis, under a key prefix of its own (deleted at the end, whatever happens),
through the services' own code where they write:

- **messages** (kept 7 days): incoming messages go through `StreamConsumer` on
  `queue:to_secretary`, whose handler queues the answer as the assistant does
  (`AnswerOutbox.put`: the answer on `queue:to_telegram` and the answered mark); a second
  `StreamConsumer` there marks the sent part as tg_bot does. Left behind: the two `done:`
  records, the answered mark and the sent-part mark (the streams' entries are deleted once
  handled). At most `--max-messages` messages run; the rest of a week is scaled from them.
- **users** (a day or more): one message admitted by `MessageRateLimit` (the minute's window
  and the day's count), tokens added by `TokenBudget`, the recent language as tg_bot keeps it.
- **backlog**: an hour of the users' messages queued and not read (the assistant down), as
  `StreamPublisher` adds them.

Each phase reads `INFO memory` `used_memory` before and after (the whole server: other
clients' keys move it too) and sums `MEMORY USAGE` of the phase's own keys (exact for ours,
without the server's per-key bookkeeping). Prints the figures, then the sizing for 10 000
users.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import ConnectionError as RedisConnectionError
from redis import Redis as SyncRedis

from assistant.src.turn.outbox import AnswerOutbox
from common.features.limits import MessageRateLimit, TokenBudget
from common.infrastructure.queue import ConsumerConfig, StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import (
    ASSISTANT_GROUP,
    TG_BOT_GROUP,
    TO_SECRETARY,
    TO_TELEGRAM,
    Names,
)
from ops.infra import free_port
from tg_bot.src.domain.live_answers import part_id
from tg_bot.src.handlers.language import RECENT_LANGUAGE_TTL_S
from tg_bot.src.settings import Settings as TgBotSettings

#: How long a handled message's once-keys live (`ConsumerConfig.done_ttl_s`, the answered and
#: sent-part marks the same): what is in Redis at any time is this many days of messages.
KEPT_DAYS = ConsumerConfig().done_ttl_s // (24 * 3600)
#: A user's message and the assistant's answer, at the sizes docs/deploy.md assumes (a
#: 270-byte text message).
QUESTION = "Could you move my dentist appointment on Thursday to the afternoon, and remind me "
QUESTION = (QUESTION * 4)[:270]
ANSWER = (
    "Done: the dentist is now on Thursday at 15:00, and I will remind you an hour before. " * 5
)[:400]
SIZED_USERS = 10_000
#: A phase's used_memory above this many times its keys' own bytes is other clients' doing
#: (the key tables' own growth measured at most 1.5×).
NOISE = 2.5


@dataclass(frozen=True)
class Phase:
    """One phase's memory: `used` from INFO (the server), `own` from MEMORY USAGE (its keys)."""

    name: str
    count: int
    used: int
    own: int

    @property
    def clean(self) -> bool:
        """`used` is ours: other clients' writes meanwhile would put it far from `own`."""
        return self.own * 0.8 <= self.used <= self.own * NOISE

    @property
    def per_item(self) -> float:
        """Bytes an item adds: the server's figure (what `maxmemory` counts: its key tables
        too) when it is ours, else our keys' own."""
        return (self.used if self.clean else self.own) / self.count if self.count else 0.0


async def used_memory(redis: aioredis.Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


async def own_bytes(redis: aioredis.Redis, pattern: str) -> int:
    """The sum of MEMORY USAGE (every element counted) over the keys matching `pattern`."""
    keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
    total = 0
    for start in range(0, len(keys), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys[start : start + 1000]:
                pipe.memory_usage(key, samples=0)
            total += sum(int(size or 0) for size in await pipe.execute())
    return total


async def measured(
    redis: aioredis.Redis, name: str, count: int, pattern: str, fill: Callable[[], Awaitable[None]]
) -> Phase:
    before, before_own = await used_memory(redis), await own_bytes(redis, pattern)
    await fill()
    after, after_own = await used_memory(redis), await own_bytes(redis, pattern)
    return Phase(name, count, after - before, after_own - before_own)


def incoming(user: int, index: int) -> IncomingMessage:
    return IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=user,
        user_id=uuid.uuid5(uuid.NAMESPACE_OID, str(user)),
        telegram_user_id=user,
        first_name="Alex",
        language_code="en",
        text=QUESTION,
        telegram_message_id=index,
    )


async def run_messages(redis: aioredis.Redis, names: Names, users: int, total: int) -> None:
    """`total` messages of `users` users through both queues, as the services handle them."""
    outbox = AnswerOutbox(redis, names)
    sent_ttl = TgBotSettings.model_fields["sent_part_ttl_seconds"].default
    delivered = asyncio.Event()
    count = 0

    async def assistant(message: IncomingMessage) -> None:
        answer = OutgoingMessage(
            message_id=uuid.uuid5(message.message_id, "answer"),
            chat_id=message.chat_id,
            text=ANSWER,
            correlation_id=str(message.message_id),
            reply_to_telegram_message_id=message.telegram_message_id,
        )
        await outbox.put(message, answer)

    async def tg_bot(message: OutgoingMessage) -> None:
        nonlocal count
        sent = names.telegram_sent_part(str(part_id(message.message_id, 0)))
        await redis.set(sent, "1", ex=sent_ttl)
        count += 1
        if count == total:
            delivered.set()

    consumers: list[StreamConsumer[Any]] = [
        StreamConsumer(redis, names, TO_SECRETARY, ASSISTANT_GROUP, IncomingMessage, assistant),
        StreamConsumer(redis, names, TO_TELEGRAM, TG_BOT_GROUP, OutgoingMessage, tg_bot),
    ]
    for consumer in consumers:
        await consumer.ensure_group()
    tasks = [asyncio.create_task(consumer.run()) for consumer in consumers]
    try:
        publisher = StreamPublisher(redis, names)
        for i in range(total):
            await publisher.publish(TO_SECRETARY, incoming(1_000_000 + i % users, i))
        await asyncio.wait_for(delivered.wait(), timeout=max(60.0, total / 50))
    finally:
        for consumer in consumers:
            consumer.stop()
        await asyncio.gather(*tasks)
    # The streams themselves (a group, no entries) are not per message.
    await redis.unlink(names.to_secretary, names.to_telegram, names.chat_backlog(TO_SECRETARY))
    await redis.unlink(names.chat_backlog(TO_TELEGRAM))


async def fill_users(redis: aioredis.Redis, names: Names, users: int) -> None:
    """What a user who wrote today leaves: the rate limit's window and day count, the day's
    tokens, the recent language."""
    limit = MessageRateLimit(redis, names, per_minute=20)
    budget = TokenBudget(redis, names, daily=100_000)
    for user in range(1_000_000, 1_000_000 + users):
        await limit.admit(user, str(uuid.uuid4()))
        await budget.add(str(uuid.uuid5(uuid.NAMESPACE_OID, str(user))), 1_500)
        await redis.set(names.recent_language(user, user), "en", ex=RECENT_LANGUAGE_TTL_S)


async def fill_backlog(redis: aioredis.Redis, names: Names, entries: int) -> None:
    publisher = StreamPublisher(redis, names)
    for i in range(entries):
        await publisher.publish(TO_SECRETARY, incoming(2_000_000 + i, i))


async def forget(redis: aioredis.Redis, prefix: str) -> None:
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await redis.unlink(*batch)
            batch = []
    if batch:
        await redis.unlink(*batch)


async def measure(
    redis_url: str, users: int, messages_per_day: int, max_messages: int, prefix: str = ""
) -> dict[str, Phase]:
    """The three phases on a Redis at `redis_url`, under `prefix` (by default one of their
    own), whose keys are removed after."""
    prefix = prefix or f"bench:redis_memory:{uuid.uuid4().hex[:8]}:"
    names = Names(prefix)
    redis = aioredis.Redis.from_url(redis_url)
    messages = min(max_messages, users * messages_per_day * KEPT_DAYS)
    backlog = max(1, users * messages_per_day // 24)
    try:
        phases = [
            await measured(
                redis,
                "messages",
                messages,
                f"{prefix}*",
                lambda: run_messages(redis, names, users, messages),
            ),
            await measured(
                redis, "users", users, f"{prefix}*", lambda: fill_users(redis, names, users)
            ),
            await measured(
                redis,
                "backlog",
                backlog,
                names.to_secretary,
                lambda: fill_backlog(redis, names, backlog),
            ),
        ]
        return {phase.name: phase for phase in phases}
    finally:
        await forget(redis, prefix)
        await redis.aclose()


def sizing(phases: dict[str, Phase], messages_per_day: int) -> list[tuple[str, str, float]]:
    """(what, how many, MB) for `SIZED_USERS` users at `messages_per_day` each."""
    week = SIZED_USERS * messages_per_day * KEPT_DAYS
    hour = SIZED_USERS * messages_per_day // 24
    rows = [
        (
            f"once-keys of {KEPT_DAYS} days of messages",
            f"{week:,}",
            week * phases["messages"].per_item,
        ),
        ("the users' own keys", f"{SIZED_USERS:,}", SIZED_USERS * phases["users"].per_item),
        ("an hour's messages queued, unread", f"{hour:,}", hour * phases["backlog"].per_item),
    ]
    total = sum(mb for _, _, mb in rows)
    return [(what, n, mb / 1e6) for what, n, mb in rows] + [("total", "", total / 1e6)]


def report(phases: dict[str, Phase], messages_per_day: int) -> str:
    lines = [
        "| phase | items | used_memory Δ | MEMORY USAGE Σ | bytes per item |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {p.name} | {p.count:,} | {p.used:,}{'' if p.clean else ' (not ours)'} | {p.own:,}"
        f" | {p.per_item:.0f} |"
        for p in phases.values()
    ]
    if not all(p.clean for p in phases.values()):
        lines += [
            "",
            "Other clients wrote meanwhile: those phases are sized from their keys' own bytes,",
            "without the server's key tables; --private measures on a Redis of its own.",
        ]
    lines += [
        "",
        f"For {SIZED_USERS:,} users at {messages_per_day} messages a day each:",
        "",
        "| what | how many | MB |",
        "|---|---|---|",
    ]
    lines += [f"| {what} | {n} | {mb:.1f} |" for what, n, mb in sizing(phases, messages_per_day)]
    return "\n".join(lines)


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A throwaway `redis-server` (no persistence) on a free port: nobody else's keys move its
    used_memory."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="redis-memory-") as folder:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder]
        server = subprocess.Popen(["redis-server", *options], stdout=subprocess.DEVNULL)
        try:
            url = f"redis://127.0.0.1:{port}/0"
            client = SyncRedis.from_url(url)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except RedisConnectionError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.close()
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--users", type=int, default=SIZED_USERS)
    parser.add_argument("--messages-per-day", type=int, default=10)
    parser.add_argument("--max-messages", type=int, default=20_000)
    parser.add_argument("--private", action="store_true", help="on a redis-server of its own")
    parser.add_argument("--json", action="store_true", help="the phases as JSON")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(private_redis()) if args.private else args.redis_url
        phases = asyncio.run(measure(url, args.users, args.messages_per_day, args.max_messages))
    if args.json:
        print(json.dumps({n: {**p.__dict__, "per_item": p.per_item} for n, p in phases.items()}))
    else:
        print(report(phases, args.messages_per_day))


if __name__ == "__main__":
    main()
