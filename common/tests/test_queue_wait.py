"""Time in queue (`smart_assistant_queue_wait_seconds`): from an entry's add (its id's
milliseconds) to a consumer taking it the first time, once per entry however often its
handler is tried, and at 0 for a stream from the consumer's start."""

from __future__ import annotations

import time
import uuid

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from common.infrastructure.queue import StreamConsumer, waited_seconds
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.tests.test_queue import FAST, message, running
from tests.waiting import until

WAIT = "smart_assistant_queue_wait_seconds"


def waited(stream: str, sample: str = "count", le: str | None = None) -> float | None:
    labels = {"stream": stream} | ({"le": le} if le else {})
    return REGISTRY.get_sample_value(f"{WAIT}_{sample}", labels)


def test_the_wait_is_read_from_the_entry_id_and_never_below_zero() -> None:
    assert waited_seconds("1700000000000-3", 1700000002.5) == 2.5
    # this host's clock behind Redis's: no negative wait
    assert waited_seconds("1700000000000-0", 1699999999.0) == 0.0


async def test_an_entry_s_wait_is_observed_once_at_its_first_take(
    redis: aioredis.Redis, names: Names
) -> None:
    stream = f"queue:wait-{uuid.uuid4().hex[:8]}"
    tried: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        tried.append(msg.text)
        if len(tried) == 1:
            raise RuntimeError("fails once")

    consumer = StreamConsumer(redis, names, stream, "g", OutgoingMessage, handle, config=FAST)
    assert waited(stream) == 0.0  # there from the consumer's start
    added_ms = int(time.time() * 1000) - 60_000  # added a minute ago
    payload = message(7, "late").to_json()
    await redis.xadd(names.stream(stream), {"data": payload}, id=f"{added_ms}-0")

    async with running(consumer):
        await until(lambda: _handled(redis, names, stream))

    assert tried == ["late", "late"]
    assert waited(stream) == 1.0
    assert waited(stream, "bucket", le="30.0") == 0.0
    assert waited(stream, "bucket", le="300.0") == 1.0


async def _handled(redis: aioredis.Redis, names: Names, stream: str) -> bool:
    return int(await redis.xlen(names.stream(stream))) == 0
