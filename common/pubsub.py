"""Listening to a Redis channel for as long as a worker runs.

Pub/sub keeps nothing: a message published while we were not subscribed (Redis restarted,
the connection dropped) is lost. So the loop resubscribes after a pause, and every
subscription, the first one included, calls `on_subscribed`, for the caller to resync what
it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from common.logging import get_logger

log = get_logger(__name__)

#: How long to wait before subscribing again after the connection was lost.
RESUBSCRIBE_AFTER_S = 1.0
#: How long one wait for a message may block, so `stop` is seen soon.
_POLL_S = 1.0


async def listen(
    redis: aioredis.Redis,
    channel: str,
    on_message: Callable[[str], None],
    on_subscribed: Callable[[], None],
    stop: asyncio.Event | None = None,
) -> None:
    """Call `on_message` with each message's data on `channel` until `stop` is set (or the
    task is cancelled); resubscribe whenever the connection is lost."""
    stopped = stop or asyncio.Event()
    while not stopped.is_set():
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await _slots_known(redis)
            await pubsub.subscribe(channel)
            on_subscribed()
            while not stopped.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_S)
                if message and message.get("type") == "message":
                    on_message(_text(message.get("data")))
        except (RedisError, RedisClusterException, OSError) as exc:
            log.warning("subscription_lost", channel=channel, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), RESUBSCRIBE_AFTER_S)
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated upstream


async def _slots_known(redis: aioredis.Redis) -> None:
    """A cluster client loads its slot table with its first command, and SUBSCRIBE looks a
    node up in it without loading it (an empty table: a KeyError naming the slot)."""
    client: object = redis  # create_redis types its cluster client as `Redis`
    if isinstance(client, RedisCluster):
        await client.initialize()


def _text(data: object) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
