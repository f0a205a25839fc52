"""A consumer process for the queue tests: records what it handles in Redis lists.

`python -m common.tests.queue_worker --prefix P --stream S [--delay 0.01] [--fail-chat 7]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time

import redis.asyncio as aioredis

from common.infrastructure.queue import ConsumerConfig, StreamConsumer
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.runner import run_worker


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--stream", default="queue:test")
    parser.add_argument("--group", default="workers")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--claim-idle-ms", type=int, default=500)
    parser.add_argument("--lock-ttl-ms", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--grace", type=float, default=5.0)
    return parser.parse_args()


def main() -> None:
    args = _args()
    names = Names(args.prefix)
    consumer_id = f"worker-{os.getpid()}"

    async def run(stop: asyncio.Event) -> None:
        redis = aioredis.Redis.from_url(args.redis_url)

        async def handle(message: OutgoingMessage) -> None:
            record = {
                "id": str(message.message_id),
                "chat": message.chat_id,
                "text": message.text,
                "consumer": consumer_id,
            }
            await redis.rpush(names.key("started"), json.dumps(record))
            await asyncio.sleep(args.delay + random.random() * args.jitter)
            record["finished"] = time.time()
            await redis.rpush(names.key("handled"), json.dumps(record))

        consumer = StreamConsumer(
            redis,
            names,
            args.stream,
            args.group,
            OutgoingMessage,
            handle,
            consumer=consumer_id,
            config=ConsumerConfig(
                claim_idle_ms=args.claim_idle_ms,
                claim_interval_s=0.2,
                lock_ttl_ms=args.lock_ttl_ms,
                concurrency=args.concurrency,
                block_ms=200,
            ),
        )
        await consumer.ensure_group()
        await redis.rpush(names.key("ready"), consumer_id)
        task = asyncio.create_task(consumer.run())
        await stop.wait()
        consumer.stop()
        await task
        await consumer.drain(args.grace)
        await redis.aclose()

    run_worker(run)


if __name__ == "__main__":
    main()
