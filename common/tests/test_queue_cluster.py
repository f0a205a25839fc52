"""The queue and the other Redis users of `common` on a real Redis Cluster of three masters
(tests/redis_topologies.py): every script and transaction keeps its keys in one slot, and the
queue's guarantees (once, in order per chat, dead letters) hold with several consumers."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
import redis as syncredis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from common.features.blobs import BlobBudget, BlobStore, OverBudget
from common.features.limits import MessageRateLimit
from common.infrastructure.pubsub import listen
from common.infrastructure.queue import ConsumerConfig, StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_connection import create_redis
from common.infrastructure.redis_keys import Names
from common.infrastructure.redis_lock import RedisLock
from common.tests.test_queue import message, running
from ops import dlq
from tests.streams import raw, stream_entries, xrange_entries
from tests.waiting import until

STREAM = "queue:cluster"
GROUP = "workers"
CONFIG = ConsumerConfig(
    max_deliveries=2,
    claim_idle_ms=500,
    claim_interval_s=0.2,
    lock_ttl_ms=2_000,
    block_ms=100,
    retry_base_s=0.01,
    concurrency=8,
)


@pytest.fixture
async def cluster(redis_cluster_url: str) -> AsyncIterator[aioredis.Redis]:
    client = create_redis(redis_cluster_url, cluster=True)
    yield client
    await client.aclose()


class Log:
    """What the handlers saw, and whether two handlings of one chat ever overlapped."""

    def __init__(self, fail_chat: int | None = None) -> None:
        self.handled: list[tuple[int, str]] = []
        self.busy: set[int] = set()
        self.overlaps = 0
        self.fail_chat = fail_chat

    async def handle(self, msg: OutgoingMessage) -> None:
        if msg.chat_id == self.fail_chat:
            raise RuntimeError("this chat always fails")
        if msg.chat_id in self.busy:
            self.overlaps += 1
        self.busy.add(msg.chat_id)
        try:
            await asyncio.sleep(random.random() * 0.004)
        finally:
            self.busy.discard(msg.chat_id)
        self.handled.append((msg.chat_id, msg.text))


def consumers(
    clients: list[aioredis.Redis], names: Names, log: Log
) -> list[StreamConsumer[OutgoingMessage]]:
    return [
        StreamConsumer(client, names, STREAM, GROUP, OutgoingMessage, log.handle, config=CONFIG)
        for client in clients
    ]


async def all_keys(client: aioredis.Redis, prefix: str) -> list[str]:
    return [key.decode() async for key in client.scan_iter(match=f"{prefix}*", count=500)]


async def test_several_consumers_handle_each_message_once_in_order_per_chat(
    redis_cluster_url: str, cluster: aioredis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    clients = [create_redis(redis_cluster_url, cluster=True) for _ in range(3)]
    log = Log()
    chats, per_chat = 12, 25
    try:
        workers = consumers(clients, names, log)
        for worker in workers:
            await worker.ensure_group()
        async with running(workers[0]), running(workers[1]), running(workers[2]):
            publisher = StreamPublisher(cluster, names)
            for n in range(per_chat):
                for chat in range(chats):
                    await publisher.publish(STREAM, message(chat, f"{chat}:{n:03d}"))

            async def all_handled() -> bool:
                return len(log.handled) >= chats * per_chat

            await until(all_handled, timeout=45)
            for chat in range(chats):  # a duplicate in a chat would come before its last one
                await publisher.publish(STREAM, message(chat, f"{chat}:{per_chat:03d}"))
            per_chat += 1
            await until(all_handled, timeout=45)
    finally:
        for client in clients:
            await client.aclose()
    texts = [text for _chat, text in log.handled]
    assert len(texts) == len(set(texts)) == chats * per_chat
    by_chat: dict[int, list[str]] = defaultdict(list)
    for chat, text in log.handled:
        by_chat[chat].append(text)
    assert all(seen == sorted(seen) for seen in by_chat.values())
    assert log.overlaps == 0
    key = names.stream(STREAM)
    assert await cluster.xlen(key) == 0
    assert (await cluster.xpending(key, GROUP))["pending"] == 0
    assert await cluster.zcard(names.chat_backlog(STREAM)) == 0
    # Every key but the contract's own (done records) is in the stream's slot.
    stream_slot = key_slot(key.encode())
    keys = await all_keys(cluster, key_prefix)
    done = [k for k in keys if k.startswith(names.done(STREAM, ""))]
    assert len(done) == chats * per_chat
    assert {key_slot(k.encode()) for k in set(keys) - set(done)} == {stream_slot}


async def test_malformed_entries_and_failing_handlers_are_dead_lettered(
    redis_cluster_url: str, cluster: aioredis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    clients = [create_redis(redis_cluster_url, cluster=True) for _ in range(2)]
    log = Log(fail_chat=7)
    try:
        first, second = consumers(clients, names, log)
        await first.ensure_group()
        async with running(first), running(second):
            publisher = StreamPublisher(cluster, names)
            await publisher.publish_raw(STREAM, {"data": "not json"})
            await publisher.publish_raw(STREAM, {"data": b"\xff\xfe"})
            await publisher.publish(STREAM, message(7, "fails"))
            for n in range(10):
                await publisher.publish(STREAM, message(8, f"8:{n}"))

            async def settled() -> bool:
                return len(log.handled) == 10 and await cluster.xlen(names.dead(STREAM)) == 3

            await until(settled, timeout=30)
    finally:
        for client in clients:
            await client.aclose()
    dead = [fields for _id, fields in await stream_entries(cluster, names.dead(STREAM))]
    reasons = sorted(fields[b"error"].decode().split(":")[0] for fields in dead)
    assert reasons == ["RuntimeError", "malformed", "unreadable"]
    assert [text for _chat, text in log.handled] == [f"8:{n}" for n in range(10)]
    assert await cluster.xlen(names.stream(STREAM)) == 0
    assert await cluster.zcard(names.chat_backlog(STREAM)) == 0
    leftovers = [
        k for k in await all_keys(cluster, key_prefix) if "attempts:" in k or "error:" in k
    ]
    assert leftovers == []


async def test_a_dead_consumers_entries_are_claimed_by_another(
    redis_cluster_url: str, cluster: aioredis.Redis, key_prefix: str
) -> None:
    """A consumer that reads and dies (its task cancelled mid-entry, no drain) leaves its
    entries pending; another claims them and every message is handled."""
    names = Names(key_prefix)
    stuck = asyncio.Event()

    async def hang(_msg: OutgoingMessage) -> None:
        stuck.set()
        await asyncio.Event().wait()

    log = Log()
    doomed_client = create_redis(redis_cluster_url, cluster=True)
    doomed = StreamConsumer(
        doomed_client, names, STREAM, GROUP, OutgoingMessage, hang, config=CONFIG
    )
    await doomed.ensure_group()
    publisher = StreamPublisher(cluster, names)
    for n in range(5):
        await publisher.publish(STREAM, message(3, f"3:{n}"))
    task = asyncio.create_task(doomed.run())
    await asyncio.wait_for(stuck.wait(), 10)
    task.cancel()
    for drive in list(doomed._drives.values()):  # the process "dies": nothing released
        drive.cancel()
    await asyncio.gather(task, *doomed._drives.values(), return_exceptions=True)
    await doomed_client.aclose()
    survivor = consumers([cluster], names, log)[0]
    async with running(survivor):

        async def all_handled() -> bool:
            return len(log.handled) == 5

        await until(all_handled, timeout=20)
    assert [text for _chat, text in log.handled] == [f"3:{n}" for n in range(5)]


async def test_limits_locks_and_pubsub_work_on_a_cluster(
    cluster: aioredis.Redis, key_prefix: str
) -> None:
    names = Names(key_prefix)
    limit = MessageRateLimit(cluster, names, per_minute=2)
    outcomes = [await limit.admit(42, f"m{n}") for n in range(3)]
    assert [o.admitted for o in outcomes] == [True, True, False]
    assert outcomes[2].notify and not (await limit.admit(42, "m3")).notify
    assert await limit.messages_today(42) == 2

    lock = RedisLock(cluster, names.chat_lock(STREAM, "9"), 5_000)
    assert await lock.acquire()
    assert not await RedisLock(cluster, lock.key, 5_000).acquire()
    assert await lock.extend() and await lock.release()

    heard: list[str] = []
    subscribed = asyncio.Event()
    stop = asyncio.Event()
    channel = names.config_updated
    listener = asyncio.create_task(listen(cluster, channel, heard.append, subscribed.set, stop))
    await asyncio.wait_for(subscribed.wait(), 10)

    async def a_node_has_the_subscriber() -> bool:  # PUBSUB NUMSUB, summed over the nodes
        counts = await cluster.pubsub_numsub(channel, target_nodes=RedisCluster.ALL_NODES)
        return sum(n for _channel, n in counts) >= 1

    await until(a_node_has_the_subscriber, 10, "the subscription reached a node")
    await cluster.publish(channel, "7")

    async def got_it() -> bool:
        return heard == ["7"]

    await until(got_it)
    stop.set()
    await listener


def test_dead_letters_replay_and_purge_on_a_cluster(
    redis_cluster_url: str, key_prefix: str
) -> None:
    names = Names(key_prefix)
    client = syncredis.RedisCluster.from_url(redis_cluster_url)
    try:
        body = message(5, "again").model_dump_json()
        # Explicit ids: two dead streams on two nodes may give the same id in one millisecond,
        # and `dlq replay <id>` takes the first stream that has it.
        dead_id = client.xadd(
            names.dead("queue:to_telegram"),
            {"data": body, "stream": "queue:to_telegram"},
            id="1-2",
        )
        client.xadd(names.dead("queue:to_secretary"), {"data": "{}"}, id="1-1")
        new_id = dlq.replay(client, names, raw(dead_id).decode())  # type: ignore[arg-type]
        replayed = xrange_entries(client.xrange(names.stream("queue:to_telegram"), new_id, new_id))
        assert replayed[0][1][b"data"].decode() == body
        assert client.xlen(names.dead("queue:to_telegram")) == 0
        assert dlq.purge(client, names) == 1  # type: ignore[arg-type]
        assert client.xlen(names.dead("queue:to_secretary")) == 0
    finally:
        client.delete(names.stream("queue:to_telegram"))
        nodes = client.get_nodes()
        client.close()
        for node in nodes:  # redis-py's sync cluster close() leaves the node pools open
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()


def test_every_queue_key_is_in_its_streams_slot() -> None:
    names = Names(f"t:{uuid.uuid4().hex[:6]}:")
    slot = key_slot(names.stream(STREAM).encode())
    internal = [
        names.chat_backlog(STREAM),
        names.chat_lock(STREAM, "!1-0"),
        names.attempts(STREAM, "1-0"),
        names.last_error(STREAM, "1-0"),
    ]
    assert {key_slot(key.encode()) for key in internal} == {slot}
    per_user = [
        names.user_message_window(5),
        names.user_flood_notice(5),
        names.user_messages_today(5, "2026-01-01"),
    ]
    assert len({key_slot(key.encode()) for key in per_user}) == 1


async def test_the_blob_budget_works_on_a_cluster(cluster: aioredis.Redis) -> None:
    """The books are one slot (one Lua call); the blobs spread over the nodes."""
    names = Names(prefix=f"blobs{uuid.uuid4().hex[:6]}:")
    store = BlobStore(cluster, names, budget=BlobBudget(per_user=50_000))
    keys = [await store.put(b"c" * 10_000, owner="node-user") for _ in range(5)]
    assert len({key_slot(k.encode()) for k in keys}) > 1
    with pytest.raises(OverBudget):
        await store.put(b"c" * 10_000, owner="node-user")
    await store.delete(*keys)
    assert await store.usage("node-user") == 0 and not await cluster.exists(*keys)
