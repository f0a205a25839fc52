"""A turn's finished completions are kept per message and step: a redelivered message's
turn takes them from the record, and the model is not asked (nor paid) again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

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
