"""The reliable stream queue against real Redis."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sized
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from common.infrastructure.queue import ConsumerConfig, StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from ops.services import ROOT
from tests.streams import stream_entries
from tests.waiting import until

STREAM = "queue:test"
FAST = ConsumerConfig(
    max_deliveries=3,
    claim_idle_ms=300,
    claim_interval_s=0.1,
    lock_ttl_ms=1_000,
    block_ms=100,
    retry_base_s=0.01,
    concurrency=8,
)


def message(chat: int, text: str, message_id: uuid.UUID | None = None) -> OutgoingMessage:
    return OutgoingMessage(message_id=message_id or uuid.uuid4(), chat_id=chat, text=text)


@asynccontextmanager
async def running(consumer: StreamConsumer[OutgoingMessage]) -> AsyncIterator[None]:
    await consumer.ensure_group()
    task = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        consumer.stop()
        await task
        await consumer.drain(2.0)


def in_process(
    redis: aioredis.Redis,
    names: Names,
    handler: Callable[[OutgoingMessage], Awaitable[None]],
    config: ConsumerConfig = FAST,
) -> StreamConsumer[OutgoingMessage]:
    return StreamConsumer(redis, names, STREAM, "g", OutgoingMessage, handler, config=config)


async def dead_letters(redis: aioredis.Redis, names: Names) -> list[dict[str, str]]:
    entries = await stream_entries(redis, names.dead(STREAM))
    return [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in entries]


def start_worker(redis_url: str, names: Names, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "common.tests.queue_worker",
            "--redis-url",
            redis_url,
            "--prefix",
            names.prefix,
            "--stream",
            STREAM,
            *extra,
        ],
        cwd=ROOT,
    )


async def records(redis: aioredis.Redis, names: Names, kind: str) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in await redis.lrange(names.key(kind), 0, -1)]


#: Adds an entry and reads it as consumer ARGV[3] of group ARGV[2] in one step, so that no live
#: consumer reads it first. Returns the id added and the id read (the same one unless another
#: entry was still unread).
_ADD_AND_READ = """
local added = redis.call('XADD', KEYS[1], '*', 'data', ARGV[1])
local got = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
return {added, got[1][2][1][1]}
"""


async def left_by_a_dead_consumer(
    redis: aioredis.Redis, names: Names, msg: OutgoingMessage, group: str, stream: str = STREAM
) -> str:
    """Adds `msg` as an entry a consumer read and then died with: only a claim round (once the
    entry has been idle for the claim delay) hands it to a live consumer. Its entry id."""
    add_and_read = redis.register_script(_ADD_AND_READ)
    added, read = await add_and_read(
        keys=[names.stream(stream)], args=[msg.model_dump_json(), group, "died-reading"]
    )
    assert added == read, "another entry was still unread"
    return added.decode() if isinstance(added, bytes) else str(added)


def collecting() -> tuple[list[str], Callable[[OutgoingMessage], Awaitable[None]]]:
    """A handler that keeps the texts it was given, and the list it keeps them in."""
    seen: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        seen.append(msg.text)

    return seen, handle


async def test_entry_is_handled_acked_and_recorded_done(redis, names) -> None:
    seen: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        seen.append(msg.text)

    consumer = in_process(redis, names, handle)
    msg = message(1, "hello")
    async with running(consumer):
        await StreamPublisher(redis, names).publish(STREAM, msg)
        await until(lambda: _true(seen))
    assert seen == ["hello"]
    assert await redis.exists(names.done(STREAM, str(msg.message_id)))
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 0


async def test_redelivered_message_with_done_record_is_dropped(redis, names) -> None:
    seen: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        seen.append(msg.text)

    publisher = StreamPublisher(redis, names)
    same_id = uuid.uuid4()
    async with running(in_process(redis, names, handle)):
        await publisher.publish(STREAM, message(1, "first", same_id))
        await until(lambda: _true(seen))
        await publisher.publish(STREAM, message(1, "again", same_id))
        await publisher.publish(STREAM, message(1, "next"))
        await until(lambda: _true(len(seen) == 2))
    assert seen == ["first", "next"]


async def test_a_failing_duplicate_hook_still_drops_the_repeat(redis, names) -> None:
    seen, handle = collecting()
    hooked: list[str] = []

    async def on_duplicate(msg: OutgoingMessage) -> None:
        hooked.append(msg.text)
        raise RuntimeError("the hook's own dependency is down")

    consumer = StreamConsumer(
        redis, names, STREAM, "g", OutgoingMessage, handle, config=FAST, on_duplicate=on_duplicate
    )
    publisher = StreamPublisher(redis, names)
    same_id = uuid.uuid4()
    async with running(consumer):
        await publisher.publish(STREAM, message(1, "first", same_id))
        await until(lambda: _true(seen))
        await publisher.publish(STREAM, message(1, "again", same_id))
        await publisher.publish(STREAM, message(1, "next"))
        await until(lambda: _true(len(seen) == 2))
    assert (seen, hooked) == (["first", "next"], ["again"])
    assert await dead_letters(redis, names) == []
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 0


async def test_a_stream_deleted_under_the_consumer_is_made_again_and_read(redis, names) -> None:
    seen, handle = collecting()
    publisher = StreamPublisher(redis, names)
    async with running(in_process(redis, names, handle)):
        await publisher.publish(STREAM, message(1, "before"))
        await until(lambda: _true(seen))
        await redis.delete(names.stream(STREAM))  # an operator's cleanup went too far

        async def delivered() -> bool:
            await publisher.publish(STREAM, message(1, "after"))
            return "after" in seen

        await until(delivered, 20, "a message after the stream was made again")
    assert seen[0] == "before"


async def test_a_key_of_the_wrong_type_stops_no_reading_once_it_is_gone(redis, names) -> None:
    seen, handle = collecting()
    consumer = in_process(redis, names, handle)
    handed_back = names.tagged(names.stream(STREAM), "handed_back")
    await redis.set(handed_back, "not a list")
    with capture_logs() as logs:
        async with running(consumer):
            await until(
                lambda: _true(any(e["event"] == "queue_read_refused" for e in logs)),
                20,
                "the refused read logged",
            )
            await redis.delete(handed_back)
            await StreamPublisher(redis, names).publish(STREAM, message(1, "later"))
            await until(lambda: _true(seen), 20, "the message after the bad key went")
    refused = next(e for e in logs if e["event"] == "queue_read_refused")
    assert "WRONGTYPE" in str(refused["error"])
    assert seen == ["later"]


async def test_malformed_payload_goes_to_dead_letter_and_consumer_goes_on(redis, names) -> None:
    seen, handle = collecting()
    publisher = StreamPublisher(redis, names)
    async with running(in_process(redis, names, handle)):
        await publisher.publish_raw(STREAM, {"data": "{not json"})
        await publisher.publish_raw(STREAM, {"other": "field"})
        await publisher.publish_raw(STREAM, {"data": json.dumps({"chat_id": 5})})
        await publisher.publish(STREAM, message(5, "valid"))
        await until(lambda: _true(seen))
        await until(lambda: _len_is(dead_letters(redis, names), 3))
    dead = {d["data"]: d["error"] for d in await dead_letters(redis, names)}
    assert dead["{not json"].startswith("malformed: payload: Invalid JSON")
    assert dead[""].startswith("malformed")
    assert dead['{"chat_id": 5}'] == "malformed: message_id: Field required; text: Field required"
    assert seen == ["valid"]


async def test_handler_that_keeps_failing_is_dead_lettered_after_the_limit(redis, names) -> None:
    calls: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        calls.append(msg.text)
        if msg.text == "poison":
            raise ValueError("boom")

    publisher = StreamPublisher(redis, names)
    async with running(in_process(redis, names, handle)):
        await publisher.publish(STREAM, message(7, "poison"))
        await publisher.publish(STREAM, message(7, "after"))
        await until(lambda: _true("after" in calls))
    assert calls == ["poison"] * FAST.max_deliveries + ["after"]
    [dead] = await dead_letters(redis, names)
    assert dead["error"] == "ValueError: boom"
    assert dead["attempts"] == str(FAST.max_deliveries)
    assert json.loads(dead["data"])["text"] == "poison"


async def test_chats_are_handled_concurrently_each_in_order(redis, names) -> None:
    active, peak = 0, 0
    order: dict[int, list[int]] = {c: [] for c in range(6)}

    async def handle(msg: OutgoingMessage) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        order[msg.chat_id].append(int(msg.text))
        active -= 1

    publisher = StreamPublisher(redis, names)
    for seq in range(10):
        for chat in order:
            await publisher.publish(STREAM, message(chat, str(seq)))
    async with running(in_process(redis, names, handle)):
        await until(lambda: _true(all(len(v) == 10 for v in order.values())))
    assert all(v == list(range(10)) for v in order.values())
    assert peak > 1


async def test_shutdown_finishes_in_flight_work_within_the_grace(redis, names) -> None:
    started, finished = asyncio.Event(), []

    async def handle(msg: OutgoingMessage) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(msg.text)

    consumer = in_process(redis, names, handle)
    async with running(consumer):
        await StreamPublisher(redis, names).publish(STREAM, message(3, "slow"))
        await started.wait()
    assert finished == ["slow"]
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 0


async def test_shutdown_past_the_grace_releases_the_chat_and_leaves_the_entry_pending(
    redis, names
) -> None:
    started = asyncio.Event()

    async def handle(msg: OutgoingMessage) -> None:
        started.set()
        await asyncio.sleep(30)

    consumer = in_process(redis, names, handle)
    await consumer.ensure_group()
    task = asyncio.create_task(consumer.run())
    await StreamPublisher(redis, names).publish(STREAM, message(3, "stuck"))
    await started.wait()
    consumer.stop()
    await task
    await consumer.drain(0.1)
    assert not await redis.exists(names.chat_lock(STREAM, "3"))
    assert (await redis.xpending(names.stream(STREAM), "g"))["pending"] == 1


@pytest.mark.e2e  # starts processes in its body
async def test_entry_of_a_killed_consumer_is_handled_by_another_exactly_once(
    redis, names, redis_url
) -> None:
    doomed = start_worker(redis_url, names, "--delay", "30")
    survivor = None
    try:
        await until(lambda: _len_is(redis.lrange(names.key("ready"), 0, -1), 1))
        msg = message(42, "important")
        await StreamPublisher(redis, names).publish(STREAM, msg)
        await until(lambda: _len_is(records(redis, names, "started"), 1))
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        survivor = start_worker(redis_url, names, "--delay", "0")
        await until(lambda: _len_is(records(redis, names, "handled"), 1), timeout=15)
        # A later claim round must not handle it again. Evidence that one has run: a later
        # entry of the chat, left by a consumer that died, is claimed and handled (a round
        # that claimed `msg` again would have handled it first: a chat goes in order).
        later = message(42, "later")
        await left_by_a_dead_consumer(redis, names, later, "workers")
        await until(lambda: _len_is(records(redis, names, "handled"), 2), timeout=15)
        handled = await records(redis, names, "handled")
        assert [h["id"] for h in handled] == [str(msg.message_id), str(later.message_id)]
        assert handled[0]["consumer"] != (await records(redis, names, "started"))[0]["consumer"]
    finally:
        for proc in (doomed, survivor):
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)


@pytest.mark.e2e  # starts processes in its body
async def test_two_consumer_processes_keep_each_chat_in_order(redis, names, redis_url) -> None:
    workers = [
        start_worker(redis_url, names, "--delay", "0.002", "--jitter", "0.01") for _ in range(2)
    ]
    try:
        await until(lambda: _len_is(redis.lrange(names.key("ready"), 0, -1), 2))
        publisher = StreamPublisher(redis, names)
        chats, per_chat = range(24), 12
        for seq in range(per_chat):
            for chat in chats:
                await publisher.publish(STREAM, message(chat, str(seq)))
        total = len(chats) * per_chat
        await until(lambda: _len_is(records(redis, names, "handled"), total), timeout=60)
        handled = await records(redis, names, "handled")
        assert len({h["id"] for h in handled}) == total
        for chat in chats:
            assert [int(str(h["text"])) for h in handled if h["chat"] == chat] == list(
                range(per_chat)
            )
        assert len({h["consumer"] for h in handled}) == 2
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0


async def _true(value: object) -> bool:
    return bool(value)


async def _len_is(items: Awaitable[Sized], n: int) -> bool:
    return len(await items) == n


@pytest.fixture(autouse=True)
def _isolated(names: Names) -> Names:
    return names


async def test_a_message_to_an_idle_chat_takes_and_frees_its_lock_within_the_reads(
    redis, names, redis_url
) -> None:
    """Each Redis round trip costs a write and a wake-up on both sides: the chat's
    lock is taken by the call that reads its first entry and freed by the one that finds its
    backlog empty, not by calls of their own (a SET and a release script per drive)."""
    seen: list[str] = []

    async def handle(msg: OutgoingMessage) -> None:
        seen.append(msg.text)

    lock = names.chat_lock(STREAM, "77")
    commands: list[str] = []
    watcher = aioredis.Redis.from_url(redis_url)
    async with watcher.monitor() as monitor, running(in_process(redis, names, handle)):
        await monitor.connect()

        async def watch() -> None:
            async for command in monitor.listen():
                if command.get("client_type") != "lua" and lock in str(command["command"]):
                    commands.append(str(command["command"]).split()[0].upper())

        watching = asyncio.create_task(watch())
        await StreamPublisher(redis, names).publish(STREAM, message(77, "hello"))
        await until(lambda: _true(seen))
        await until(lambda: _freed(redis, lock))
        # MONITOR shows commands in the order Redis ran them: once it shows this ECHO, it has
        # shown every command on the lock that came before.
        await redis.echo(f"{lock} all seen")
        await until(lambda: _true("ECHO" in commands))
        watching.cancel()
    await watcher.aclose()
    assert seen == ["hello"]
    # EXISTS and ECHO: this test's own waits
    consumer_commands = [c for c in commands if c not in ("EXISTS", "ECHO")]
    assert consumer_commands == ["EVALSHA", "EVALSHA"], commands


async def _freed(redis: aioredis.Redis, key: str) -> bool:
    return not await redis.exists(key)
