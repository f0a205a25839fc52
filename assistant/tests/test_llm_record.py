"""A turn's finished completions are kept per message and step: a redelivered message's
turn takes them from the record, and the model is not asked (nor paid) again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from assistant.src.clients.llm import (
    LlmGateway,
    ModelRoute,
    TurnRecord,
    recording,
    request_digest,
)
from assistant.src.settings import Settings
from sandbox.llm_server import LlmStandIn, Step, ToolCallStep

TOOLS = [{"type": "function", "function": {"name": "time", "parameters": {}}}]


async def no_key(_provider_id: str) -> str | None:
    return None


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[LlmGateway]:
    gateway = LlmGateway(settings, no_key)
    yield gateway
    await gateway.aclose()


def first_step(clock: str) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": f"You are kind. The time: {clock}"},
        {"role": "user", "content": "what time is it?"},
    ]


def second_step(clock: str, call_id: str, result: str) -> list[dict[str, Any]]:
    call = {"id": call_id, "type": "function", "function": {"name": "time", "arguments": "{}"}}
    return [
        *first_step(clock),
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "content": result},
    ]


async def test_a_redelivered_turn_reuses_every_step_the_model_answered(
    llm: LlmStandIn, gateway: LlmGateway, redis: aioredis.Redis
) -> None:
    llm.script(Step(tool_calls=[ToolCallStep("time", {})]), Step(text="It is noon."))
    route = [ModelRoute("primary", llm.base_url)]
    key = f"test:llm_record:{uuid.uuid4()}"

    with recording(TurnRecord(redis, key, existed=False)):
        first = await gateway.complete(route, first_step("11:59"), TOOLS)
        (call,) = first.tool_calls
        answer = await gateway.complete(route, second_step("11:59", call.id, "11:59"), TOOLS)
    assert len(llm.requests) == 2

    # The same message again, a minute later, the tool run again with a newer result.
    with recording(TurnRecord(redis, key, existed=True)):
        again = await gateway.complete(route, first_step("12:00"), TOOLS)
        answer_again = await gateway.complete(
            route, second_step("12:00", again.tool_calls[0].id, "12:00"), TOOLS
        )
    assert len(llm.requests) == 2
    assert again == first
    assert answer_again == answer
    # Counted against the daily token budget when asked, not again when taken from the record.
    assert again.reused and answer_again.reused and not (first.reused or answer.reused)
    assert 0 < await redis.ttl(key) <= 3600


async def first_try(
    llm: LlmStandIn, gateway: LlmGateway, redis: aioredis.Redis, times: int = 1
) -> tuple[list[ModelRoute], str]:
    """A first delivery's turn asking the first step `times` times; its route and record."""
    route = [ModelRoute("primary", llm.base_url)]
    key = f"test:llm_record:{uuid.uuid4()}"
    with recording(TurnRecord(redis, key, existed=False)):
        for _ in range(times):
            await gateway.complete(route, first_step("11:59"), TOOLS)
    return route, key


async def test_a_step_the_record_does_not_hold_asks_the_model(
    llm: LlmStandIn, gateway: LlmGateway, redis: aioredis.Redis
) -> None:
    route, key = await first_try(llm, gateway, redis)
    other = [*first_step("11:59")[:1], {"role": "user", "content": "and tomorrow?"}]
    with recording(TurnRecord(redis, key, existed=True)):
        await gateway.complete(route, other, TOOLS)
    assert len(llm.requests) == 2


async def test_a_first_delivery_reads_nothing_and_outside_a_turn_nothing_is_kept(
    llm: LlmStandIn, gateway: LlmGateway, redis: aioredis.Redis
) -> None:
    route, key = await first_try(llm, gateway, redis, times=2)  # the 2nd: not a redelivery
    await gateway.complete(route, first_step("11:59"), TOOLS)
    assert len(llm.requests) == 3
    assert await redis.hlen(key) == 1


def test_the_digest_tells_models_tools_and_words_apart() -> None:
    route = [ModelRoute("primary", "http://x/v1")]
    base = request_digest(route, first_step("11:59"), TOOLS, None)
    assert base == request_digest(route, first_step("23:01"), TOOLS, None)
    assert base != request_digest(
        [ModelRoute("other", "http://x/v1")], first_step("1"), TOOLS, None
    )
    assert base != request_digest(route, first_step("11:59"), None, None)
    assert base != request_digest(route, first_step("11:59"), TOOLS, "none")
    assert base != request_digest(
        route, [{"role": "system", "content": "You are blunt."}, first_step("1")[1]], TOOLS, None
    )


async def test_a_reused_answer_is_told_to_the_sink_as_a_streamed_one_would_be(
    llm: LlmStandIn, gateway: LlmGateway, redis: aioredis.Redis
) -> None:
    llm.reply("It is noon.")
    route = [ModelRoute("primary", llm.base_url)]
    key = f"test:llm_record:{uuid.uuid4()}"
    heard: list[str] = []

    async def sink(text: str) -> None:
        heard.append(text)

    with recording(TurnRecord(redis, key, existed=False)):
        await gateway.complete(route, first_step("11:59"), on_text=sink)
    heard.clear()
    with recording(TurnRecord(redis, key, existed=True)):
        again = await gateway.complete(route, first_step("12:00"), on_text=sink)
    assert len(llm.requests) == 1
    assert again.reused and again.content == "It is noon."
    assert heard == ["It is noon."]


async def test_a_record_that_cannot_be_read_back_asks_the_model(
    llm: LlmStandIn, gateway: LlmGateway, redis: aioredis.Redis
) -> None:
    route, key = await first_try(llm, gateway, redis)
    digest = request_digest(route, first_step("11:59"), TOOLS, None)
    await redis.hset(key, digest, '{"content": "half a record"}')
    with recording(TurnRecord(redis, key, existed=True)):
        again = await gateway.complete(route, first_step("11:59"), TOOLS)
    assert len(llm.requests) == 2
    assert not again.reused


async def test_with_redis_unreachable_the_turn_asks_the_model_and_keeps_nothing(
    llm: LlmStandIn, gateway: LlmGateway
) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    llm.reply("still here")
    route = [ModelRoute("primary", llm.base_url)]
    try:
        with (
            capture_logs() as logs,
            recording(TurnRecord(dead, "test:llm_record:unreachable", existed=True)),
        ):
            completion = await gateway.complete(route, first_step("11:59"))
    finally:
        await dead.aclose()
    assert completion.content == "still here" and not completion.reused
    events = [e["event"] for e in logs]
    assert "llm_record_unreadable" in events and "llm_record_unwritten" in events
