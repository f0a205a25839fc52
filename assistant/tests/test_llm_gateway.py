"""The LLM layer through the real `openai` SDK against the chat-completions stand-in."""

from __future__ import annotations

import time

import pytest

from assistant.src.config import Settings
from assistant.src.services.llm import LlmGateway, LlmUnavailable, ModelRoute
from sandbox.llm_server import LlmStandIn, Step, ToolCallStep

HELLO = [{"role": "user", "content": "hello"}]


async def no_key(_provider_id: str) -> str | None:
    return None


@pytest.fixture
async def gateway(settings: Settings):
    gateway = LlmGateway(settings, no_key)
    yield gateway
    await gateway.aclose()


def routes(llm: LlmStandIn, *models: str) -> list[ModelRoute]:
    return [ModelRoute(m, llm.base_url) for m in models]


async def test_text_reply_carries_tokens_and_latency(llm, gateway) -> None:
    llm.reply("hi there")
    completion = await gateway.complete(routes(llm, "primary"), HELLO)
    assert completion.content == "hi there"
    assert completion.model == "primary"
    assert completion.tokens_in and completion.tokens_out
    assert completion.latency_ms >= 0
    assert llm.requests[0].model == "primary"


async def test_tool_calls_come_back_with_ids_and_json_arguments(llm, gateway) -> None:
    llm.script(Step(tool_calls=[ToolCallStep("time", {"action": "now"})]))
    tools = [{"type": "function", "function": {"name": "time", "parameters": {}}}]
    completion = await gateway.complete(routes(llm, "primary"), HELLO, tools)
    (call,) = completion.tool_calls
    assert call.name == "time" and call.arguments == '{"action": "now"}' and call.id
    assert llm.requests[0].tool_names == ["time"]


async def test_server_errors_are_retried_on_the_same_model(llm, gateway) -> None:
    llm.fail(500, times=2)
    llm.reply("third time lucky")
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.content == "third time lucky"
    assert [r.model for r in llm.requests] == ["primary"] * 3


async def test_429_waits_for_retry_after(llm, gateway) -> None:
    llm.fail(429, retry_after=0.6)
    llm.reply("after the wait")
    started = time.monotonic()
    completion = await gateway.complete(routes(llm, "primary"), HELLO)
    assert completion.content == "after the wait"
    assert time.monotonic() - started >= 0.6


async def test_a_model_that_keeps_failing_falls_back(llm, gateway) -> None:
    llm.fail(503, model="primary", times=None)
    llm.reply("from the fallback", model="fallback")
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.content == "from the fallback" and completion.model == "fallback"
    assert [r.model for r in llm.requests] == ["primary"] * 3 + ["fallback"]


async def test_a_bad_request_goes_to_the_fallback_without_retries(llm, gateway) -> None:
    llm.fail(400, model="primary", times=None)
    completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert completion.model == "fallback"
    assert [r.model for r in llm.requests] == ["primary", "fallback"]


async def test_timeouts_are_retried_then_fall_back(llm, settings) -> None:
    fast = settings.model_copy(update={"llm_timeout_seconds": 0.3, "llm_max_attempts": 2})
    gateway = LlmGateway(fast, no_key)
    llm.script(Step(text="too late", delay=1.0, model="primary", times=None))
    try:
        completion = await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    finally:
        await gateway.aclose()
    assert completion.model == "fallback"


async def test_every_model_down_is_llm_unavailable(llm, gateway) -> None:
    llm.fail(500, times=None)
    with pytest.raises(LlmUnavailable) as caught:
        await gateway.complete(routes(llm, "primary", "fallback"), HELLO)
    assert [a.model for a in caught.value.attempts] == ["primary", "fallback"]


async def test_the_stand_in_rejects_a_tool_message_that_answers_no_call(llm, gateway) -> None:
    orphan = [*HELLO, {"role": "tool", "tool_call_id": "call_x", "content": "{}"}]
    with pytest.raises(LlmUnavailable) as caught:
        await gateway.complete(routes(llm, "primary"), orphan)
    assert "400" in caught.value.attempts[0].errors[0]
    assert llm.requests[0].status == 400
