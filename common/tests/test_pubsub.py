"""The resubscribing listener against real Redis: messages in order, a resync on every
subscription, and a new subscription after the connection is cut."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from common.infrastructure import pubsub
from common.infrastructure.pubsub import listen
from common.infrastructure.redis_connection import create_redis
from common.infrastructure.redis_keys import Names
from tests.waiting import until


class Heard:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.subscriptions = 0

    def message(self, data: str) -> None:
        self.messages.append(data)

    def subscribed(self) -> None:
        self.subscriptions += 1


async def subscribers(redis: aioredis.Redis, channel: str) -> int:
    counts = await redis.pubsub_numsub(channel)
    return int(counts[0][1])


async def test_each_message_reaches_the_handler_as_text(
    redis: aioredis.Redis, names: Names
) -> None:
    channel, heard, stop = names.key("test:channel"), Heard(), asyncio.Event()
    task = asyncio.create_task(listen(redis, channel, heard.message, heard.subscribed, stop))
    await until(lambda: _one(redis, channel))
    for text in ("1", '{"job_id": "x"}', "привет"):
        await redis.publish(channel, text)
    await until(_async(lambda: len(heard.messages) == 3))
    stop.set()
    await asyncio.wait_for(task, 5)
    assert heard.messages == ["1", '{"job_id": "x"}', "привет"]
    assert heard.subscriptions == 1
    await until(lambda: _none(redis, channel))


async def test_a_lost_connection_resubscribes_and_resyncs(
    redis: aioredis.Redis, redis_url: str, names: Names
) -> None:
    channel, heard, stop = names.key("test:channel"), Heard(), asyncio.Event()
    name = f"test-pubsub-{uuid.uuid4().hex[:8]}"  # so only this listener's connection is cut
    own = aioredis.Redis.from_url(redis_url, client_name=name)
    task = asyncio.create_task(listen(own, channel, heard.message, heard.subscribed, stop))
    await until(lambda: _one(redis, channel))
    for client in await redis.client_list(_type="pubsub"):
        if client["name"] == name:
            await redis.client_kill_filter(_id=client["id"])
    await until(_async(lambda: heard.subscriptions == 2))
    await until(lambda: _one(redis, channel))
    await redis.publish(channel, "after")
    await until(_async(lambda: heard.messages == ["after"]))
    stop.set()
    await asyncio.wait_for(task, 5)
    await own.aclose()


async def test_cancelling_the_task_ends_it_without_stop(
    redis: aioredis.Redis, names: Names
) -> None:
    channel, heard = names.key("test:channel"), Heard()
    task = asyncio.create_task(listen(redis, channel, heard.message, heard.subscribed))
    await until(lambda: _one(redis, channel))
    task.cancel()
    await asyncio.wait([task], timeout=5)
    assert task.cancelled()


async def test_a_stop_ends_a_wait_for_a_message_at_once(
    redis: aioredis.Redis, names: Names, monkeypatch
) -> None:
    """A worker's shutdown waited out the listener's poll (a second for every service stop)."""
    monkeypatch.setattr(pubsub, "_POLL_S", 3600.0)
    channel, heard, stop = names.key("test:channel"), Heard(), asyncio.Event()
    task = asyncio.create_task(listen(redis, channel, heard.message, heard.subscribed, stop))
    await until(lambda: _one(redis, channel))
    stop.set()
    await asyncio.wait_for(task, 10)
    await until(lambda: _none(redis, channel))


async def _one(redis: aioredis.Redis, channel: str) -> bool:
    return await subscribers(redis, channel) == 1


async def _none(redis: aioredis.Redis, channel: str) -> bool:
    return await subscribers(redis, channel) == 0


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def checked() -> bool:
        return check()

    return checked


async def test_a_cluster_client_listens_before_it_has_sent_any_command(
    redis_cluster_url: str, names: Names
) -> None:
    """A new cluster client knows no slots until its first command: subscribing first found
    an empty slot table (a KeyError naming the slot) and the listener died at start."""
    cluster = create_redis(redis_cluster_url, cluster=True)
    channel, heard, stop = names.key("test:channel"), Heard(), asyncio.Event()
    task = asyncio.create_task(listen(cluster, channel, heard.message, heard.subscribed, stop))
    try:
        await until(_async(lambda: heard.subscriptions == 1 or task.done()))
        assert not task.done(), task.exception()
        await until(lambda: _heard_once_published(cluster, channel, heard))
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await cluster.aclose()


async def _heard_once_published(redis: aioredis.Redis, channel: str, heard: Heard) -> bool:
    """Published again until heard: a cluster's PUBLISH counts only its own node's
    subscribers, so its answer cannot say when the subscription is in place."""
    await redis.publish(channel, "hello")
    return "hello" in heard.messages
