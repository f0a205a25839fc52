"""Streamed completions through the real `openai` SDK against the stand-in's SSE stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.clients.llm import (
    BrokenStream,
    LlmGateway,
    LlmUnavailable,
    ModelRoute,
    StreamAssembler,
    sse_events,
)
from assistant.src.settings import Settings
from sandbox.llm_server import LlmStandIn, Step, ToolCallStep, stream_chunks

HELLO = [{"role": "user", "content": "hello"}]
TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {}}} for n in ("time", "weather")
]


async def no_key(_provider_id: str) -> str | None:
    return None


@pytest.fixture
async def gateway(settings: Settings):
    gateway = LlmGateway(settings, no_key)
    yield gateway
    await gateway.aclose()


def routes(llm: LlmStandIn, *models: str) -> list[ModelRoute]:
    return [ModelRoute(m, llm.base_url) for m in models]


class Heard:
    """What a `TextSink` heard."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, text: str) -> None:
        self.texts.append(text)


async def test_text_grows_chunk_by_chunk_and_usage_comes_last(llm, gateway) -> None:
    answer = "The quick brown fox jumps over the lazy dog, twice over."
    llm.reply(answer)
    heard = Heard()
    completion = await gateway.complete(routes(llm, "primary"), HELLO, on_text=heard)
    assert completion.content == answer and not completion.tool_calls
    assert completion.tokens_in and completion.tokens_out  # the usage chunk was asked for
    assert len(heard.texts) == -(-len(answer) // llm.chunk_chars)
    assert all(
        b.startswith(a) and len(b) > len(a)
        for a, b in zip(heard.texts, heard.texts[1:], strict=False)
    )
    assert heard.texts[-1] == answer
    assert llm.requests[0].stream


async def test_tool_calls_are_assembled_from_their_deltas(llm, gateway) -> None:
    llm.chunk_chars = 3  # arguments split mid-token
    llm.script(
        Step(
            text="Let me look.",
            tool_calls=[
                ToolCallStep("time", {"action": "now", "timezone": "Asia/Tokyo"}, id="call_a"),
                ToolCallStep("weather", {"location": "Berlin, Germany"}, id="call_b"),
            ],
        )
    )
    heard = Heard()
    completion = await gateway.complete(routes(llm, "primary"), HELLO, TOOLS, on_text=heard)
    first, second = completion.tool_calls
    assert (first.id, first.name) == ("call_a", "time")
    assert first.arguments == '{"action": "now", "timezone": "Asia/Tokyo"}'
    assert (second.id, second.name, second.arguments) == (
        "call_b",
        "weather",
        '{"location": "Berlin, Germany"}',
    )
    assert completion.content == "Let me look." and heard.texts[-1] == "Let me look."


async def test_a_stream_cut_midway_is_retried_and_never_returned_half(llm, gateway) -> None:
    llm.script(Step(text="This answer breaks off somewhere in the middle", break_after=3))
    llm.reply("Whole answer.")
    heard = Heard()
    completion = await gateway.complete(routes(llm, "primary"), HELLO, on_text=heard)
    assert completion.content == "Whole answer."
    assert len(llm.requests) == 2
    assert heard.texts[-1] == "Whole answer."


async def test_a_stream_that_keeps_breaking_falls_back_then_gives_up(llm, gateway) -> None:
    llm.script(Step(text="never finished, never finished", break_after=2, times=None))
    heard = Heard()
    with pytest.raises(LlmUnavailable) as caught:
        await gateway.complete(routes(llm, "primary", "fallback"), HELLO, on_text=heard)
    assert [a.model for a in caught.value.attempts] == ["primary", "fallback"]
    assert len(llm.requests) == 2 * 3


async def test_a_stream_that_stalls_is_timed_out_per_chunk(llm, settings) -> None:
    llm.script(Step(text="slow but steady and it gets there in the end", chunk_delay=0.3))
    quick = settings.model_copy(update={"llm_timeout_seconds": 0.5})
    gateway = LlmGateway(quick, no_key)
    try:  # 6 chunks 0.3 s apart: longer than the timeout in all, never between two
        completion = await gateway.complete(routes(llm, "primary"), HELLO, on_text=Heard())
    finally:
        await gateway.aclose()
    assert completion.content == "slow but steady and it gets there in the end"
    assert len(llm.requests) == 1


async def test_without_a_sink_nothing_is_streamed(llm, gateway) -> None:
    llm.reply("plain")
    completion = await gateway.complete(routes(llm, "primary"), HELLO)
    assert completion.content == "plain" and not llm.requests[0].stream


def sse_lines(chunks: Sequence[Any], comments: bool) -> list[str]:
    lines: list[str] = []
    for chunk in chunks:
        if comments:
            lines += [": keep-alive", ""]
        lines += [f"data: {json.dumps(chunk)}", ""]
    return [*lines, "data: [DONE]", ""]


async def assembled(lines: list[str]) -> StreamAssembler:
    async def source() -> AsyncIterator[str]:
        for line in lines:
            yield line

    parts = StreamAssembler("m")
    async for event in sse_events(source()):
        parts.add(event)
    return parts


@settings(max_examples=60, deadline=None)
@given(
    text=st.none() | st.text(max_size=300),
    arguments=st.lists(st.text(max_size=80), max_size=3),
    size=st.integers(min_value=1, max_value=40),
    comments=st.booleans(),
)
def test_any_streamed_completion_is_put_together_whole(
    text: str | None, arguments: list[str], size: int, comments: bool
) -> None:
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": f"t{i}", "arguments": a}}
        for i, a in enumerate(arguments)
    ]
    message = {"role": "assistant", "content": text, **({"tool_calls": calls} if calls else {})}
    whole = {
        "id": "c",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    lines = sse_lines(stream_chunks(whole, size, usage=True), comments)
    completion = asyncio.run(assembled(lines)).completion()
    assert completion.content == (text or None)
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [
        (f"call_{i}", f"t{i}", a or "{}") for i, a in enumerate(arguments)
    ]
    assert (completion.tokens_in, completion.tokens_out) == (3, 4)


async def test_an_error_event_or_a_torn_event_is_a_broken_stream() -> None:
    error = [f"data: {json.dumps({'error': {'message': 'overloaded'}})}", ""]
    with pytest.raises(BrokenStream, match="overloaded"):
        await assembled(error)
    with pytest.raises(BrokenStream, match="not JSON"):
        await assembled(['data: {"choices": [', ""])
    with pytest.raises(BrokenStream, match="not an object"):
        await assembled(['data: ["a list"]', ""])
    with pytest.raises(BrokenStream, match="finish reason"):
        (
            await assembled(['data: {"choices": [{"index": 0, "delta": {"content": "hi"}}]}', ""])
        ).completion()


async def test_pieces_that_are_not_the_first_choice_or_not_objects_are_passed_over() -> None:
    chunks = [
        {"choices": [{"index": 1, "delta": {"content": "another choice"}}]},
        {"choices": ["odd", {"index": 0, "delta": "odd"}]},
        {"choices": [{"index": 0, "delta": {"content": "kept", "tool_calls": ["odd"]}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": "odd"}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": True, "completion_tokens": 2}},
    ]
    completion = (await assembled(sse_lines(chunks, comments=False))).completion()
    assert completion.content == "kept"
    assert completion.tool_calls == ()  # a call without a name is no call
    assert (completion.tokens_in, completion.tokens_out) == (None, 2)
