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
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from common.infrastructure.logging import get_logger
from common.infrastructure.shutdown import bounded

log = get_logger(__name__)

#: How long to wait before subscribing again after the connection was lost.
RESUBSCRIBE_AFTER_S = 1.0
#: How long one wait for a message may block (a stop ends it at once).
_POLL_S = 1.0
#: How long closing a subscription may take (redis-py's close can wait for ever on its
#: socket, redis/redis-py#3941).
CLOSE_S = 2.0


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
    stopping = asyncio.ensure_future(stopped.wait())
    try:
        while not stopped.is_set():
            pubsub = redis.pubsub(ignore_subscribe_messages=True)
            try:
                await _slots_known(redis)
                await pubsub.subscribe(channel)
                on_subscribed()
                while (message := await _next(pubsub, stopping)) is not None:
                    if message.get("type") == "message":
                        on_message(_text(message.get("data")))
            except (RedisError, RedisClusterException, OSError) as exc:
                log.warning("subscription_lost", channel=channel, error=str(exc))
                await asyncio.wait({stopping}, timeout=RESUBSCRIBE_AFTER_S)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    closing = pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated upstream
                    await bounded("pubsub_close", closing, CLOSE_S)
    finally:
        stopping.cancel()


async def _next(pubsub: PubSub, stopping: asyncio.Future[Any]) -> dict[str, object] | None:
    """The next message, or `{}` when a wait of `_POLL_S` brought none; None once `stopping`
    is done: a stop ends the wait at once instead of at the poll's end."""
    getting = asyncio.ensure_future(
        pubsub.get_message(ignore_subscribe_messages=True, timeout=_POLL_S)
    )
    try:
        await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getting.done():  # stopped, or this task cancelled: its read goes too
            getting.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await getting
    if stopping.done():
        if not getting.cancelled():
            getting.exception()  # retrieved: a read that failed as the stop came says nothing
        return None
    return getting.result() or {}


async def _slots_known(redis: aioredis.Redis) -> None:
    """A cluster client loads its slot table with its first command, and SUBSCRIBE looks a
    node up in it without loading it (an empty table: a KeyError naming the slot)."""
    client: object = redis  # create_redis types its cluster client as `Redis`
    if isinstance(client, RedisCluster):
        await client.initialize()


def _text(data: object) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
