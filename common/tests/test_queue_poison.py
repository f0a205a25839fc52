"""Poison entries against real Redis: whatever bytes an entry holds, it is handled or
dead-lettered, its chat's worker never dies, and the chat's later messages are handled."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from common.infrastructure.errors import Undeliverable
from common.infrastructure.queue import DeadLetter, StreamConsumer, StreamPublisher
from common.infrastructure.queue_messages import OutgoingMessage
from common.tests.test_queue import FAST, STREAM, message, running
from tests.waiting import until

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Recorder:
    """A handler and an `on_dead` hook that record what reached them."""

    def __init__(self) -> None:
        self.seen: list[OutgoingMessage] = []
        self.dead: list[DeadLetter[OutgoingMessage]] = []

    async def handle(self, msg: OutgoingMessage) -> None:
        self.seen.append(msg)

    async def on_dead(self, dead: DeadLetter[OutgoingMessage]) -> None:
        self.dead.append(dead)

    def texts(self, chat: int) -> list[str]:
        return [m.text for m in self.seen if m.chat_id == chat]


def consumer(redis, names, recorder: Recorder) -> StreamConsumer[OutgoingMessage]:
    return StreamConsumer(
        redis, names, STREAM, "g", OutgoingMessage, recorder.handle,
        config=FAST, on_dead=recorder.on_dead,
    )  # fmt: skip


async def raw_dead(redis, names) -> list[dict[bytes, bytes]]:
    return [fields for _id, fields in await redis.xrange(names.dead(STREAM))]


async def settled(redis, names) -> bool:
    """Nothing pending and nothing left in the stream."""
    pending = (await redis.xpending(names.stream(STREAM), "g"))["pending"]
    return pending == 0 and await redis.xlen(names.stream(STREAM)) == 0


async def test_a_field_that_is_not_utf8_is_dead_lettered_and_the_chat_goes_on(redis, names) -> None:
    recorder = Recorder()
    poison = message(7, "poison")
    async with running(consumer(redis, names, recorder)):
        await redis.xadd(names.stream(STREAM), {"data": poison.to_json(), "junk": b"\xff\xfe"})
        await StreamPublisher(redis, names).publish(STREAM, message(7, "after"))
        await until(lambda: _true(recorder.texts(7) == ["after"]))
        await until(lambda: settled(redis, names))
    [dead] = await raw_dead(redis, names)
    assert dead[b"error"] == b"unreadable: not UTF-8 in junk"
    assert json.loads(dead[b"data"])["text"] == "poison"
    raw = json.loads(dead[b"raw_b64"])
    assert base64.b64decode(raw["junk"]) == b"\xff\xfe"
    assert base64.b64decode(raw["data"]) == poison.to_json().encode()
    assert [d.reason for d in recorder.dead] == ["unreadable: not UTF-8 in junk"]


async def test_data_that_is_not_utf8_is_dead_lettered_with_its_bytes(redis, names) -> None:
    recorder = Recorder()
    payload = b'{"chat_id": 8, "text": "\xc3\x28"}'
    async with running(consumer(redis, names, recorder)):
        await redis.xadd(names.stream(STREAM), {"data": payload})
        await StreamPublisher(redis, names).publish(STREAM, message(8, "after"))
        await until(lambda: _true(recorder.texts(8) == ["after"]))
        await until(lambda: settled(redis, names))
    [dead] = await raw_dead(redis, names)
    assert base64.b64decode(json.loads(dead[b"raw_b64"])["data"]) == payload
    assert b"\\xc3" in dead[b"data"]  # readable, escaped


async def test_an_odd_chat_id_does_not_stop_the_reader(redis, names) -> None:
    recorder = Recorder()
    odd = [
        {"chat_id": "\udcff"},  # a lone surrogate escape, JSON-valid
        {"chat_id": "x" * 500},
        {"chat_id": 1e400},
        {"chat_id": [1, 2]},
    ]
    async with running(consumer(redis, names, recorder)):
        for fields in odd:
            await redis.xadd(names.stream(STREAM), {"data": json.dumps(fields)})
        await redis.xadd(names.stream(STREAM), {"data": b'{"chat_id": "\xff"}'})
        await StreamPublisher(redis, names).publish(STREAM, message(9, "after"))
        await until(lambda: _true(recorder.texts(9) == ["after"]))
        await until(lambda: _len_is(raw_dead(redis, names), 5))


async def test_an_error_outside_the_handler_dead_letters_the_entry_not_the_chat(
    redis, names
) -> None:
    """The hook failing is recorded in the dead entry; the chat's next message is handled."""
    recorder = Recorder()

    async def failing_hook(dead: DeadLetter[OutgoingMessage]) -> None:
        raise RuntimeError("hook down")

    worker = StreamConsumer(
        redis, names, STREAM, "g", OutgoingMessage, recorder.handle,
        config=FAST, on_dead=failing_hook,
    )  # fmt: skip
    async with running(worker):
        await StreamPublisher(redis, names).publish_raw(STREAM, {"data": "{broken"})
        await StreamPublisher(redis, names).publish(STREAM, message(10, "after"))
        await until(lambda: _true(recorder.texts(10) == ["after"]))
    [dead] = await raw_dead(redis, names)
    assert dead[b"on_dead_error"] == b"RuntimeError: hook down"


async def test_the_hook_gets_the_message_that_kept_failing(redis, names) -> None:
    recorder = Recorder()

    async def handle(msg: OutgoingMessage) -> None:
        if msg.text == "poison":
            raise ValueError("boom")
        recorder.seen.append(msg)

    worker = StreamConsumer(
        redis, names, STREAM, "g", OutgoingMessage, handle, config=FAST,
        on_dead=recorder.on_dead,
    )  # fmt: skip
    async with running(worker):
        await StreamPublisher(redis, names).publish(STREAM, message(11, "poison"))
        await StreamPublisher(redis, names).publish(STREAM, message(11, "after"))
        await until(lambda: _true(recorder.texts(11) == ["after"]))
    [dead] = recorder.dead
    assert dead.message is not None and dead.message.text == "poison"
    assert dead.reason == "ValueError: boom" and dead.attempts == FAST.max_deliveries


_FIELD_NAMES = st.one_of(st.sampled_from(["data", "junk", "chat_id", ""]), st.binary(max_size=8))
_VALUES = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(
        lambda chat, text: json.dumps(
            {"message_id": str(uuid.uuid4()), "chat_id": chat, "text": text}
        ).encode(),
        st.one_of(st.integers(), st.text(max_size=8), st.floats()),
        st.text(max_size=32),
    ),
)


@PROPERTY
@given(entry=st.lists(st.tuples(_FIELD_NAMES, _VALUES), min_size=1, max_size=4))
async def test_any_entry_is_handled_or_dead_lettered_and_the_chat_goes_on(
    redis, names, entry: list[tuple[bytes | str, bytes]]
) -> None:
    """Any bytes in any field, fields missing or extra: afterwards the chat's next message
    is handled and nothing is left pending."""
    recorder = Recorder()
    chat = 12
    await redis.delete(names.stream(STREAM), names.dead(STREAM))
    async with running(consumer(redis, names, recorder)):
        fields: dict[bytes | str, bytes] = dict(entry)
        await redis.xadd(names.stream(STREAM), fields)  # type: ignore[arg-type]
        after = message(chat, f"after {uuid.uuid4()}")
        await StreamPublisher(redis, names).publish(STREAM, after)
        await until(lambda: _true(after.text in recorder.texts(chat)))
        await until(lambda: settled(redis, names))
    handled = len(recorder.seen) - 1
    assert handled + len(await raw_dead(redis, names)) == 1


async def test_a_chat_with_many_poison_entries_keeps_its_order(redis, names) -> None:
    recorder = Recorder()
    publisher = StreamPublisher(redis, names)
    async with running(consumer(redis, names, recorder)):
        for seq in range(5):
            await redis.xadd(names.stream(STREAM), {"data": message(13, "x").to_json(),
                                                    "junk": b"\xff"})  # fmt: skip
            await publisher.publish(STREAM, message(13, str(seq)))
        await until(lambda: _true(len(recorder.texts(13)) == 5))
        await publisher.publish(STREAM, message(13, "after"))  # junk handled would come first
        await until(lambda: _true(len(recorder.texts(13)) == 6))
    assert recorder.texts(13) == ["0", "1", "2", "3", "4", "after"]
    assert len(await raw_dead(redis, names)) == 5


def refused_reads() -> float:
    """Reads Redis refused so far (the queue's failure counter), in this process."""
    where = {"stream": STREAM, "where": "read"}
    return REGISTRY.get_sample_value("smart_assistant_queue_failures_total", where) or 0.0


async def _true(value: object) -> bool:
    return bool(value)


async def _len_is(items, n: int) -> bool:
    return len(await items) == n


def _valid(chat: int, text: str) -> dict[str, object]:
    return {"message_id": str(uuid.uuid4()), "chat_id": chat, "text": text}


#: What producers really write: old and future versions, hand-made entries (`redis-cli
#: XADD`), double-encoded JSON, a BOM, escapes JSON allows and UTF-8 does not.
ENTRY_CORPUS: list[tuple[str, dict[str, bytes | str], str]] = [
    ("extra fields", {"data": json.dumps(_valid(20, "x")), "trace": "abc", "v": "2"}, "handled"),
    ("unknown payload keys", {"data": json.dumps({**_valid(20, "x"), "new": [1]})}, "handled"),
    ("future version", {"data": json.dumps({**_valid(20, "x"), "v": 2})}, "dead"),
    ("no data field", {"payload": json.dumps(_valid(20, "x"))}, "dead"),
    ("empty data", {"data": ""}, "dead"),
    ("double-encoded", {"data": json.dumps(json.dumps(_valid(20, "x")))}, "dead"),
    ("utf-8 bom", {"data": b"\xef\xbb\xbf" + json.dumps(_valid(20, "x")).encode()}, "dead"),
    ("lone surrogate escape", {"data": json.dumps(_valid(20, "a\ud800b"))}, "handled"),
    ("nul escape", {"data": json.dumps(_valid(20, "a\u0000b"))}, "handled"),
    ("latin-1 bytes", {"data": json.dumps(_valid(20, "x")), "note": b"caf\xe9"}, "dead"),
    ("chat id as string", {"data": json.dumps({**_valid(20, "x"), "chat_id": "20"})}, "handled"),
    ("chat id huge", {"data": json.dumps({**_valid(20, "x"), "chat_id": 10**30})}, "handled"),
    ("deeply nested", {"data": "[" * 5000 + "]" * 5000}, "dead"),
    ("not json at all", {"data": "hello"}, "dead"),
]


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [(f, o) for _n, f, o in ENTRY_CORPUS],
    ids=[n for n, _f, _o in ENTRY_CORPUS],
)
async def test_a_corpus_of_real_entries_is_handled_or_dead_lettered(
    redis, names, fields: dict[str, bytes | str], outcome: str
) -> None:
    recorder = Recorder()
    async with running(consumer(redis, names, recorder)):
        await redis.xadd(names.stream(STREAM), fields)  # type: ignore[arg-type]
        await StreamPublisher(redis, names).publish(STREAM, message(20, "after"))
        await until(lambda: _true("after" in recorder.texts(20)))
        await until(lambda: settled(redis, names))
    dead = await raw_dead(redis, names)
    assert (len(recorder.seen), len(dead)) == ((2, 0) if outcome == "handled" else (1, 1))
    for message_seen in recorder.seen:
        message_seen.model_dump_json()  # what was handled can be written on


async def test_a_redis_key_of_the_wrong_type_does_not_stop_reading_for_good(redis, names) -> None:
    """A chat's backlog overwritten with a string makes every read fail; once it is gone,
    reading goes on (it used to end the consumer for good)."""
    recorder = Recorder()
    backlog = names.chat_backlog(STREAM)
    refused_before = refused_reads()
    async with running(consumer(redis, names, recorder)):
        await redis.set(backlog, "not a sorted set")
        await StreamPublisher(redis, names).publish(STREAM, message(31, "blocked"))
        await until(lambda: refused_reads() > refused_before, 10, "a read refused")
        await redis.delete(backlog)
        await StreamPublisher(redis, names).publish(STREAM, message(32, "after"))
        await until(lambda: _true(recorder.texts(32) == ["after"]))
        await until(lambda: _true(recorder.texts(31) == ["blocked"]))


async def test_an_undeliverable_message_is_dead_lettered_at_once_and_the_chat_goes_on(
    redis, names
) -> None:
    """A handler that can never handle a message says so (`Undeliverable`): dead at the
    first attempt, with its reason and the hook told, not retried `max_deliveries` times."""
    recorder = Recorder()

    async def refuse_the_fax(msg: OutgoingMessage) -> None:
        if msg.text == "for the fax":
            raise Undeliverable("the fax channel is off")
        await recorder.handle(msg)

    worker = StreamConsumer(
        redis, names, STREAM, "g", OutgoingMessage, refuse_the_fax,
        config=FAST, on_dead=recorder.on_dead,
    )  # fmt: skip
    async with running(worker):
        await StreamPublisher(redis, names).publish(STREAM, message(11, "for the fax"))
        await StreamPublisher(redis, names).publish(STREAM, message(11, "after"))
        await until(lambda: _true(recorder.texts(11) == ["after"]))
        await until(lambda: settled(redis, names))
    [dead] = await raw_dead(redis, names)
    assert dead[b"error"] == b"undeliverable: the fax channel is off"
    assert dead[b"attempts"] == b"1"
    assert [d.reason for d in recorder.dead] == ["undeliverable: the fax channel is off"]
