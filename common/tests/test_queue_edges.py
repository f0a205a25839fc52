"""The queue's edges against real Redis: keys clobbered under a consumer, entries trimmed while
they wait their turn, a shutdown in the middle of a retry, a stale backlog larger than one
claim round, and a Redis that is gone when a consumer stops. In each the entry is handled
once, dead-lettered with its reason, or left for another consumer; the chat goes on."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from structlog.testing import capture_logs
from structlog.typing import EventDict

from common.infrastructure.errors import RetryLater
from common.infrastructure.queue import (
    ConsumerConfig,
    StreamConsumer,
    StreamPublisher,
    read_fields,
)
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_connection import create_redis
from common.infrastructure.redis_keys import Names
from common.tests.test_queue import (
    FAST,
    STREAM,
    dead_letters,
    in_process,
    left_by_a_dead_consumer,
    message,
    running,
)
from tests.redis_clients import quick_retries
from tests.tcp_proxy import TcpProxy
from tests.waiting import until


def failures(where: str) -> float:
    value = REGISTRY.get_sample_value(
        "smart_assistant_queue_failures_total", {"stream": STREAM, "where": where}
    )
    return value or 0.0


async def settled(redis: aioredis.Redis, names: Names) -> bool:
    """Nothing pending, nothing left in the stream, nothing in the backlog."""
    pending = (await redis.xpending(names.stream(STREAM), "g"))["pending"]
    left = await redis.xlen(names.stream(STREAM)) + await redis.zcard(names.chat_backlog(STREAM))
    return pending == 0 and left == 0


class Gate:
    """A handler that holds each message whose text is in `held` until `open()`."""

    def __init__(self, *held: str) -> None:
        self.held = set(held)
        self.seen: list[str] = []
        self.waiting = asyncio.Event()
        self._open = asyncio.Event()

    async def handle(self, msg: OutgoingMessage) -> None:
        if msg.text in self.held:
            self.waiting.set()
            await self._open.wait()
        self.seen.append(msg.text)

    def open(self) -> None:
        self._open.set()


async def test_a_stream_key_of_another_type_fails_the_start_loudly(redis, names) -> None:
    """Not a BUSYGROUP (the group exists): the consumer must not start reading nothing."""
    await redis.set(names.stream(STREAM), "not a stream")
    consumer = in_process(redis, names, Gate().handle)
    with pytest.raises(aioredis.ResponseError, match="WRONGTYPE"):
        await consumer.ensure_group()


async def test_an_entry_trimmed_while_waiting_its_turn_is_skipped_and_the_chat_goes_on(
    redis, names
) -> None:
    gate = Gate("first")
    consumer = in_process(redis, names, gate.handle)
    publisher = StreamPublisher(redis, names)
    backlog = names.chat_backlog(STREAM)
    async with running(consumer):
        await publisher.publish(STREAM, message(5, "first"))
        await gate.waiting.wait()
        assert consumer.in_flight == 1
        trimmed = await publisher.publish(STREAM, message(5, "trimmed"))
        await until(lambda: _has(redis.zcard(backlog), 2), 10, "both entries in the backlog")
        await redis.xdel(names.stream(STREAM), trimmed)  # MAXLEN trimming, an operator's XDEL
        gate.open()
        await publisher.publish(STREAM, message(5, "third"))
        await until(lambda: gate.seen == ["first", "third"], 10, "the chat's next entry")
        await until(lambda: settled(redis, names), 10, "the trimmed entry acknowledged")
        await until(lambda: consumer.in_flight == 0, 10, "the chat's drive ended")
    assert await dead_letters(redis, names) == []


async def test_an_error_outside_the_handler_dead_letters_the_entry_with_its_reason(
    redis, names
) -> None:
    """The entry's attempt counter clobbered with a list: counting the attempt fails, which
    no retry can mend. The entry is dead-lettered saying why; the chat's next one is handled."""
    gate = Gate()
    consumer = in_process(redis, names, gate.handle)
    await consumer.ensure_group()
    await redis.rpush(names.attempts(STREAM, "1-1"), "not a counter")
    before = failures("entry")
    doomed = message(6, "doomed")
    await redis.xadd(names.stream(STREAM), {"data": doomed.model_dump_json()}, id="1-1")
    async with running(consumer):
        await StreamPublisher(redis, names).publish(STREAM, message(6, "after"))
        await until(lambda: gate.seen == ["after"], 10, "the chat's next entry")
        await until(lambda: settled(redis, names), 10, "both entries settled")
    [dead] = await dead_letters(redis, names)
    assert dead["entry_id"] == "1-1" and dead["error"].startswith("unhandled: ResponseError")
    assert "WRONGTYPE" in dead["error"]
    assert OutgoingMessage.model_validate_json(dead["data"]) == doomed
    assert failures("entry") == before + 1


@pytest.mark.parametrize(
    "failure",
    [RetryLater(5.0, "the LLM is down"), RuntimeError("the LLM answered 500")],
    ids=["retry_later", "failed"],
)
async def test_a_shutdown_during_a_retry_pause_leaves_the_entry_for_the_next_consumer(
    redis, names, failure: Exception
) -> None:
    attempts: list[str] = []

    async def failing(msg: OutgoingMessage) -> None:
        attempts.append(msg.text)
        raise failure

    stopping: StreamConsumer[OutgoingMessage] | None = None

    async def shutdown_arrives(delay: float) -> None:
        """The test's clock: the shutdown comes while the retry waits."""
        assert stopping is not None
        stopping.stop()

    stopping = StreamConsumer(
        redis, names, STREAM, "g", OutgoingMessage, failing,
        config=FAST, retry_sleep=shutdown_arrives,
    )  # fmt: skip
    msg = message(7, "wanted")
    await stopping.ensure_group()
    await StreamPublisher(redis, names).publish(STREAM, msg)
    await asyncio.wait_for(stopping.run(), 20)
    await stopping.drain(2.0)
    assert attempts == ["wanted"]
    assert await dead_letters(redis, names) == []
    assert not await redis.exists(names.done(STREAM, str(msg.message_id)))

    after = Gate()
    async with running(in_process(redis, names, after.handle)):
        await until(lambda: after.seen == ["wanted"], 10, "the next consumer handles it")
        await until(lambda: settled(redis, names), 10, "the entry acknowledged")
    assert await dead_letters(redis, names) == []


async def test_a_stale_backlog_longer_than_a_claim_round_is_claimed_whole_in_order(
    redis, names
) -> None:
    """A claim round takes 100 entries; a dead consumer left 230 over three chats."""
    seen: dict[int, list[str]] = {chat: [] for chat in range(3)}

    async def handle(msg: OutgoingMessage) -> None:
        seen[msg.chat_id].append(msg.text)

    immediately = ConsumerConfig(claim_idle_ms=0, lock_ttl_ms=5_000, block_ms=100)
    consumer = in_process(redis, names, handle, immediately)
    await consumer.ensure_group()
    texts = {chat: [f"{chat}-{n}" for n in range(77 if chat else 76)] for chat in range(3)}
    for n in range(77):
        for chat in range(3):
            if n < len(texts[chat]):
                await left_by_a_dead_consumer(redis, names, message(chat, texts[chat][n]), "g")
    assert await consumer.claim_stale() == 230
    await until(lambda: seen == texts, 20, "every claimed entry handled")
    await until(lambda: settled(redis, names), 10, "every entry acknowledged")
    await consumer.drain(2.0)


async def test_entries_claimed_by_a_stopping_consumer_are_handed_back_not_stranded(
    redis, names
) -> None:
    gate = Gate()
    stopping = in_process(redis, names, gate.handle, ConsumerConfig(claim_idle_ms=0))
    await stopping.ensure_group()
    stale = message(8, "left by a dead consumer")
    await left_by_a_dead_consumer(redis, names, stale, "g")
    stopping.stop()
    assert await stopping.claim_stale() == 1  # now pending for the stopping consumer
    await stopping.drain(2.0)
    assert gate.seen == []
    # Handed back: the next consumer takes it within a read, not after the claim delay.
    patient = ConsumerConfig(claim_idle_ms=3_600_000, block_ms=100)
    async with running(in_process(redis, names, gate.handle, patient)):
        await until(lambda: gate.seen == [stale.text], 10, "the handed-back entry handled")
        await until(lambda: settled(redis, names), 10, "the entry acknowledged")


async def test_a_failing_claim_round_is_counted_and_claiming_goes_on(redis, names) -> None:
    """The backlog clobbered with a string: reading new entries still works (none come), a
    claim round fails on registering what it claims. Once the key is gone the entry left by
    a dead consumer is claimed and handled."""
    gate = Gate()
    consumer = in_process(redis, names, gate.handle)
    await consumer.ensure_group()
    await left_by_a_dead_consumer(redis, names, message(9, "stale"), "g")
    backlog = names.chat_backlog(STREAM)
    await redis.set(backlog, "not a sorted set")
    before = failures("claim")
    with capture_logs() as logs:
        async with running(consumer):
            await until(lambda: failures("claim") >= before + 2, 10, "claim rounds failing")
            await redis.delete(backlog)
            await until(lambda: gate.seen == ["stale"], 10, "the stale entry claimed")
    assert any(e["event"] == "queue_claim_failed" for e in logs)


async def test_a_chat_whose_drive_fails_is_left_at_shutdown_and_taken_by_the_next_consumer(
    redis, names
) -> None:
    """The chat's lock key overwritten with a hash while its first entry is handled: reading
    the chat's next entry fails outside any entry. The failure is counted; a shutdown in the
    pause after it ends the drive at once, and the next consumer (the key mended) claims the
    chat's waiting entry."""
    gate = Gate("first")
    consumer = in_process(redis, names, gate.handle)
    publisher = StreamPublisher(redis, names)
    lock = names.chat_lock(STREAM, "11")
    before = failures("drive")
    with capture_logs() as logs:
        async with running(consumer):
            await publisher.publish(STREAM, message(11, "first"))
            await gate.waiting.wait()
            await publisher.publish(STREAM, message(11, "second"))
            await until(lambda: _has(redis.zcard(names.chat_backlog(STREAM)), 2), 10, "queued")
            await redis.delete(lock)
            await redis.hset(lock, "clobbered", "yes")
            gate.open()
            await until(lambda: failures("drive") > before, 10, "the drive failed")
    assert any(e["event"] == "queue_chat_drive_failed" for e in logs)
    assert consumer.in_flight == 0
    assert gate.seen == ["first"]
    await redis.delete(lock)
    after = Gate()
    async with running(in_process(redis, names, after.handle)):
        await until(lambda: after.seen == ["second"], 10, "the waiting entry handled")
        await until(lambda: settled(redis, names), 10, "the entry acknowledged")


async def test_a_consumer_stopping_while_redis_is_gone_hands_nothing_back_and_says_so(
    names: Names,
) -> None:
    """Its entries stay pending; another consumer claims them after the claim delay."""
    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = quick_retries(aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1))
    try:
        consumer = in_process(gone, names, Gate().handle)
        with capture_logs() as logs:
            assert await consumer.hand_back() == 0
        [warning] = [e for e in logs if e["event"] == "queue_hand_back_failed"]
        assert warning["stream"] == STREAM and warning["log_level"] == "warning"
    finally:
        await gone.aclose()


def test_fields_a_decoding_client_gives_are_read_as_they_are() -> None:
    """A client made with decode_responses hands the fields over as text, not bytes."""
    entry = read_fields(["data", '{"text": "привет"}', "attempt", 2])
    assert entry.fields == {"data": '{"text": "привет"}', "attempt": "2"}
    assert entry.unreadable == [] and entry.raw_b64 == {}


async def _has(count: object, n: int) -> bool:
    return await count == n  # type: ignore[misc]


@asynccontextmanager
async def through_a_proxy(redis_url: str) -> AsyncIterator[tuple[TcpProxy, aioredis.Redis]]:
    """A worker's Redis client (its own retries and all, on a quicker backoff) reaching this
    test's Redis through a proxy the test can cut."""
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    client = quick_retries(create_redis(f"redis://127.0.0.1:{proxy.port}{target.path}"))
    try:
        yield proxy, client
    finally:
        await proxy.stop()
        await client.aclose()


def logged(logs: list[EventDict], event: str) -> bool:
    return any(e["event"] == event for e in list(logs))


async def test_redis_gone_under_an_idle_consumer_is_waited_out_and_reading_goes_on(
    redis, names, redis_url: str
) -> None:
    gate = Gate()
    async with through_a_proxy(redis_url) as (proxy, client):
        with capture_logs() as logs:
            async with running(in_process(client, names, gate.handle)):
                await StreamPublisher(redis, names).publish(STREAM, message(12, "before"))
                await until(lambda: gate.seen == ["before"], 10, "the consumer reading")
                await proxy.stop()
                await until(lambda: logged(logs, "queue_read_failed"), 30, "a read failed")
                await proxy.start()
                await StreamPublisher(redis, names).publish(STREAM, message(12, "after"))
                await until(
                    lambda: gate.seen == ["before", "after"], 30, "the entry after the outage"
                )
                await until(lambda: settled(redis, names), 10, "the entry acknowledged")
    assert await dead_letters(redis, names) == []


async def test_a_shutdown_while_redis_is_gone_at_a_finish_stops_and_loses_nothing(
    redis, names, redis_url: str
) -> None:
    """Handled, then Redis went away before the entry was acknowledged: the finish is retried
    until a shutdown comes, which ends it at once. The entry stays pending (no done record
    was written), so the next consumer handles it: at least once, never lost."""
    async with through_a_proxy(redis_url) as (proxy, client):
        cut = asyncio.Event()

        async def handle_then_lose_redis(msg: OutgoingMessage) -> None:
            await proxy.stop()
            cut.set()

        first = in_process(client, names, handle_then_lose_redis)
        await first.ensure_group()
        msg = message(13, "once")
        await StreamPublisher(redis, names).publish(STREAM, msg)
        with capture_logs() as logs:
            reading = asyncio.create_task(first.run())
            await cut.wait()
            await until(lambda: logged(logs, "queue_finish_retried"), 30, "the finish retried")
            first.stop()
            await asyncio.wait_for(reading, 30)
            await first.drain(2.0)  # Redis still gone: nothing handed back, and it says so
        assert logged(logs, "queue_hand_back_failed")
        await proxy.start()
    assert not await redis.exists(names.done(STREAM, str(msg.message_id)))
    after = Gate()
    async with running(in_process(redis, names, after.handle)):
        await until(lambda: after.seen == ["once"], 20, "the next consumer handles it")
        await until(lambda: settled(redis, names), 10, "the entry acknowledged")
    assert await dead_letters(redis, names) == []


async def test_a_consumer_started_while_redis_is_gone_reads_once_it_is_back(
    redis, names, redis_url: str
) -> None:
    """Redis down when a service starts (both restarted together, a slow node): the consumer
    waits for it instead of ending, and handles what was queued meanwhile once it answers."""
    gate = Gate()
    async with through_a_proxy(redis_url) as (proxy, client):
        await proxy.stop()
        consumer = in_process(client, names, gate.handle)
        with capture_logs() as logs:
            reading = asyncio.create_task(consumer.run())
            await until(lambda: logged(logs, "queue_group_unavailable"), 30, "a wait said")
            await StreamPublisher(redis, names).publish(STREAM, message(14, "meanwhile"))
            await proxy.start()
            await until(lambda: gate.seen == ["meanwhile"], 30, "the entry after the start")
            await until(lambda: settled(redis, names), 10, "the entry acknowledged")
            consumer.stop()
            await asyncio.wait_for(reading, 10)
    assert not reading.exception() and await dead_letters(redis, names) == []


async def test_a_consumer_stopped_before_redis_ever_answered_ends_quietly(
    redis, names, redis_url: str
) -> None:
    async with through_a_proxy(redis_url) as (proxy, client):
        await proxy.stop()
        consumer = in_process(client, names, Gate().handle)
        with capture_logs() as logs:
            reading = asyncio.create_task(consumer.run())
            await until(lambda: logged(logs, "queue_group_unavailable"), 30, "a wait said")
            consumer.stop()
            await asyncio.wait_for(reading, 10)
