"""Actions waiting for their owner's Yes / No, kept in real Redis under the buttons' token."""

from __future__ import annotations

import redis.asyncio as aioredis

from common.features.confirmations import Confirmations, HeldCall, PendingDelete, describe_call
from common.infrastructure.redis_keys import Names

DELETE = PendingDelete(
    user_id="u1", event_id="e1", calendar_id="primary", summary="Dentist", start="2026-01-05"
)
HELD = HeldCall(
    user_id="u1",
    chat_id=42,
    assistant_id="a1",
    tool="memory_store",
    arguments={"text": "Привет"},
    message_id="m1",
    position="0",
    summary='memory_store {"text": "Привет"}',
)


async def test_a_tap_takes_the_action_once(redis: aioredis.Redis, names: Names) -> None:
    confirmations = Confirmations(redis, names)
    token = await confirmations.ask(DELETE)
    assert len(token) == 32
    assert await confirmations.peek(token) == DELETE
    assert await confirmations.take(token) == DELETE
    assert await confirmations.take(token) is None
    assert await confirmations.peek(token) is None


async def test_a_held_call_comes_back_as_the_model_made_it(
    redis: aioredis.Redis, names: Names
) -> None:
    confirmations = Confirmations(redis, names)
    token = await confirmations.ask(HELD)
    assert await confirmations.take(token) == HELD


async def test_a_question_expires_with_its_ttl(redis: aioredis.Redis, names: Names) -> None:
    token = await Confirmations(redis, names, ttl_seconds=60).ask(DELETE)
    assert 0 < await redis.ttl(names.confirmation(token)) <= 60


async def test_the_answers_buttons_are_noted_under_its_message(
    redis: aioredis.Redis, names: Names
) -> None:
    confirmations = Confirmations(redis, names, ttl_seconds=60)
    first = await confirmations.ask_in_answer(DELETE, "m1")
    second = await confirmations.ask_in_answer(HELD, "m1")
    asked = names.confirmations_asked("m1")
    assert await redis.lrange(asked, 0, -1) == [first.encode(), second.encode()]
    assert 0 < await redis.ttl(asked) <= 60
    await confirmations.take(first)
    assert await confirmations.peek_many([first, second, "unknown"]) == [None, HELD, None]
    assert await confirmations.peek_many([]) == []


async def test_a_restored_action_can_be_tapped_again(redis: aioredis.Redis, names: Names) -> None:
    confirmations = Confirmations(redis, names)
    token = await confirmations.ask(DELETE)
    taken = await confirmations.take(token)
    assert taken is not None
    await confirmations.restore(token, taken)
    assert await confirmations.take(token) == DELETE


async def test_a_stored_value_that_is_no_action_reads_as_expired(
    redis: aioredis.Redis, names: Names
) -> None:
    confirmations = Confirmations(redis, names)
    for token, raw in [
        ("notjson", "{not json"),
        ("alist", "[1, 2]"),
        ("unknownfield", '{"user_id": "u1", "colour": "red"}'),
        ("heldmissing", '{"kind": "held_call", "user_id": "u1"}'),
    ]:
        await redis.set(names.confirmation(token), raw)
        assert await confirmations.take(token) is None, raw


def test_a_held_call_is_described_by_its_exact_arguments() -> None:
    described = describe_call("memory_store", {"b": 1, "a": "ü"})
    assert described == 'memory_store {"a": "ü", "b": 1}'


def test_a_long_description_is_cut_to_the_limit_with_an_ellipsis() -> None:
    described = describe_call("web_fetch", {"url": "x" * 100}, limit=40)
    assert len(described) == 40
    assert described.startswith('web_fetch {"url": "xxx')
    assert described.endswith("…")
    assert describe_call("t", {}, limit=5) == "t {}"
