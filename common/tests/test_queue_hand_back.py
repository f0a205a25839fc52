"""A stopping consumer hands back what it cannot finish: another consumer takes it with its
next read, not after the claim delay, and nothing is lost.

Every consumer here claims nothing within a minute (NO_CLAIM, `--claim-idle-ms 60000`), and
every wait gives up well before: an entry another consumer handles was handed back."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from common.infrastructure.queue import StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.tests.test_queue import (
    FAST,
    STREAM,
    _len_is,
    in_process,
    message,
    records,
    running,
    start_worker,
)
from tests.waiting import until

#: No entry can reach another consumer by the claim (XAUTOCLAIM) within these tests.
NO_CLAIM = replace(FAST, claim_idle_ms=60_000, claim_interval_s=60.0)
#: How long a test waits for a handed-back entry: well under NO_CLAIM's minute.
HANDED_BACK_WITHIN = 20


class Recorder:
    """A handler that records what it starts and finishes; `slow` texts wait forever."""

    def __init__(self, slow: set[str] | None = None, delay: float = 0.0) -> None:
        self.started: list[str] = []
        self.finished: list[tuple[str, float]] = []
        self.slow = slow or set()
        self.delay = delay
        self.began = asyncio.Event()

    async def __call__(self, msg: OutgoingMessage) -> None:
        self.started.append(msg.text)
        self.began.set()
        await asyncio.sleep(3600 if msg.text in self.slow else self.delay)
        self.finished.append((msg.text, time.monotonic()))


async def _reading(consumer: StreamConsumer[OutgoingMessage]) -> asyncio.Task[None]:
    await consumer.ensure_group()
    return asyncio.create_task(consumer.run())


async def _stop(consumer: StreamConsumer[OutgoingMessage], reading: asyncio.Task[None]) -> None:
    consumer.stop()
    await reading


async def test_a_turn_cut_at_the_grace_is_taken_by_another_consumer_at_once(
    redis: aioredis.Redis, names: Names
) -> None:
    leaving, staying = Recorder(slow={"long turn"}), Recorder()
    a = in_process(redis, names, leaving, NO_CLAIM)
    reading = await _reading(a)
    await StreamPublisher(redis, names).publish(STREAM, message(5, "long turn"))
    await leaving.began.wait()
    async with running(in_process(redis, names, staying, NO_CLAIM)):
        await _stop(a, reading)
        await a.drain(0.1)
        await until(lambda: _true(staying.finished), HANDED_BACK_WITHIN, "taken, not claimed")
    assert [text for text, _ in staying.finished] == ["long turn"]
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 0
    assert not await redis.exists(names.tagged(names.stream(STREAM), "handed_back"))


async def test_entries_another_consumer_read_while_the_chat_was_held_are_handed_back(
    redis: aioredis.Redis, names: Names
) -> None:
    """B reads the chat's next entry while A holds the chat: B leaves it to A (the lock's
    holder drains the chat). A stops after its current entry: the chat goes back at once."""
    gate = asyncio.Event()

    class Gated(Recorder):
        async def __call__(self, msg: OutgoingMessage) -> None:
            self.started.append(msg.text)
            self.began.set()
            await gate.wait()
            self.finished.append((msg.text, time.monotonic()))

    leaving, staying = Gated(), Recorder()
    a = in_process(redis, names, leaving, NO_CLAIM)
    reading = await _reading(a)
    publisher = StreamPublisher(redis, names)
    await publisher.publish(STREAM, message(5, "first"))
    await leaving.began.wait()
    await _stop(a, reading)  # A reads no more; "first" is still in its hands
    async with running(in_process(redis, names, staying, NO_CLAIM)):
        await publisher.publish(STREAM, message(5, "second"))
        await until(lambda: _pending_of(redis, names, "g", 2))
        gate.set()
        await a.drain(5.0)
        await until(lambda: _true(staying.finished), HANDED_BACK_WITHIN, "taken, not claimed")
    assert [text for text, _ in leaving.finished] == ["first"]
    assert [text for text, _ in staying.finished] == ["second"]


async def test_nothing_is_lost_when_a_busy_consumer_stops(
    redis: aioredis.Redis, names: Names
) -> None:
    leaving, staying = Recorder(delay=0.05), Recorder()
    a = in_process(redis, names, leaving, NO_CLAIM)
    reading = await _reading(a)
    publisher = StreamPublisher(redis, names)
    sent = [message(chat, f"{chat}:{seq}") for seq in range(6) for chat in range(8)]
    for msg in sent:
        await publisher.publish(STREAM, msg)
    await until(lambda: _at_least(leaving.finished, 5))
    async with running(in_process(redis, names, staying, NO_CLAIM)):
        await _stop(a, reading)
        await a.drain(0.01)
        done = lambda: _at_least(leaving.finished + staying.finished, len(sent))  # noqa: E731
        await until(done, timeout=10)
    finished = [text for text, _ in leaving.finished + staying.finished]
    assert sorted(finished) == sorted(m.text for m in sent)  # each exactly once
    for chat in range(8):
        in_order = [t for t, _ in sorted(leaving.finished + staying.finished, key=lambda f: f[1])]
        assert [t for t in in_order if t.startswith(f"{chat}:")] == [
            f"{chat}:{seq}" for seq in range(6)
        ]
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 0


async def test_an_entry_handled_as_the_grace_ends_is_finished_not_handed_back(
    redis: aioredis.Redis, names: Names
) -> None:
    """The grace ends (the drive is cancelled) just as the handler returns: what it did is
    recorded before the drive gives up, so the entry is not handed back and handled again."""

    class CutAtReturn(Recorder):
        async def __call__(self, msg: OutgoingMessage) -> None:
            self.finished.append((msg.text, time.monotonic()))
            # No idle connection (as under load): the finish connects before it sends.
            await redis.connection_pool.disconnect(inuse_connections=False)
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # delivered at the drive's next wait: the finish's connect

    leaving, staying = CutAtReturn(), Recorder()
    a = in_process(redis, names, leaving, NO_CLAIM)
    reading = await _reading(a)
    publisher = StreamPublisher(redis, names)
    await publisher.publish(STREAM, message(7, "handled"))
    await until(lambda: _true(leaving.finished))
    await _stop(a, reading)
    await a.drain(1.0)
    async with running(in_process(redis, names, staying, NO_CLAIM)):
        # The same chat: a handed-back entry, being older, would be handled before this one.
        await publisher.publish(STREAM, message(7, "later"))
        await until(lambda: _true(staying.finished), HANDED_BACK_WITHIN)
    assert [text for text, _ in leaving.finished] == ["handled"]
    assert [text for text, _ in staying.finished] == ["later"]
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 0


@pytest.mark.e2e  # starts processes in its body
async def test_a_consumer_process_stopped_by_sigterm_hands_its_turn_to_another_process(
    redis: aioredis.Redis, names: Names, redis_url: str
) -> None:
    no_claim = ("--claim-idle-ms", "60000")
    leaving = start_worker(redis_url, names, "--delay", "30", "--grace", "0.2", *no_claim)
    staying = None
    try:
        await until(lambda: _len_is(redis.lrange(names.key("ready"), 0, -1), 1))
        msg = message(42, "in flight", uuid.uuid4())
        await StreamPublisher(redis, names).publish(STREAM, msg)
        await until(lambda: _len_is(records(redis, names, "started"), 1))
        staying = start_worker(redis_url, names, "--delay", "0", *no_claim)
        await until(lambda: _len_is(redis.lrange(names.key("ready"), 0, -1), 2))
        leaving.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(leaving.wait, 10) == 0
        handled_once = lambda: _len_is(records(redis, names, "handled"), 1)  # noqa: E731
        await until(handled_once, HANDED_BACK_WITHIN, "taken, not claimed")
        [handled] = await records(redis, names, "handled")
        assert handled["id"] == str(msg.message_id)
        assert handled["consumer"] != (await records(redis, names, "started"))[0]["consumer"]
    finally:
        for proc in (leaving, staying):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)


async def _true(value: object) -> bool:
    return bool(value)


async def _at_least(items: list[tuple[str, float]], n: int) -> bool:
    return len(items) >= n


async def _pending_of(redis: aioredis.Redis, names: Names, group: str, n: int) -> bool:
    return int((await redis.xpending(names.stream(STREAM), group))["pending"]) == n
