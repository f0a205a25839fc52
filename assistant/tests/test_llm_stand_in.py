"""The chat-completions stand-in itself: its default (demo) rules, its control API and its
OpenAI-like errors, through the real `openai` SDK and plain HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from sandbox.llm_server import LlmStandIn

TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
    for n in ("time", "weather", "reminder", "calendar")
]


@pytest.fixture
async def client(llm: LlmStandIn) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk", base_url=llm.base_url, max_retries=0) as sdk:
        yield sdk


async def ask(client: openai.AsyncOpenAI, *messages: dict[str, object]):
    completion = await client.chat.completions.create(
        model="demo", messages=list(messages), tools=TOOLS
    )
    return completion.choices[0]


async def test_asking_the_time_calls_the_time_tool(client) -> None:
    choice = await ask(client, {"role": "user", "content": "What time is it in Tokyo?"})
    (call,) = choice.message.tool_calls
    assert choice.finish_reason == "tool_calls"
    assert call.function.name == "time"
    assert json.loads(call.function.arguments) == {"action": "now", "timezone": "Asia/Tokyo"}


@pytest.mark.parametrize(
    ("text", "name", "arguments"),
    [
        ("what time is it?", "time", {"action": "now"}),
        ("remind me in 1 minute to stretch", "reminder",
         {"action": "create", "when": "in 1 minute", "text": "stretch"}),
        ("Remind me to drink water in 5 seconds!", "reminder",
         {"action": "create", "when": "in 5 seconds", "text": "drink water"}),
        ("what's on my calendar", "calendar", {"action": "list"}),
        ("weather in Paris", "weather", {"location": "Paris"}),
    ],
)  # fmt: skip
async def test_the_demo_phrases_call_their_tools(client, text, name, arguments) -> None:
    choice = await ask(client, {"role": "user", "content": text})
    (call,) = choice.message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == (name, arguments)


async def test_known_tool_results_are_put_in_plain_words(client) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "calendar", "arguments": "{}"}}
    result = {"status": "not_connected", "connect_url": "http://g.test/auth", "message": "..."}
    summary = await ask(
        client,
        {"role": "user", "content": "what's on my calendar"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps(result)},
    )
    assert summary.message.content == (
        "Your Google Calendar is not connected yet. Connect it here: http://g.test/auth"
    )


async def test_weather_in_a_place_calls_the_weather_tool(client) -> None:
    choice = await ask(client, {"role": "user", "content": "какая погода в Париже?"})
    (call,) = choice.message.tool_calls
    assert json.loads(call.function.arguments) == {"location": "Париже"}


async def test_tool_results_are_summarized_and_anything_else_echoed(client) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "time", "arguments": "{}"}}
    summary = await ask(
        client,
        {"role": "user", "content": "time?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"time": "10:00"}'},
    )
    assert summary.message.content == 'Here is what I found: {"time": "10:00"}'
    echo = await ask(client, {"role": "user", "content": "hello"})
    assert echo.message.content == "You said: hello"


async def test_a_call_left_unanswered_is_rejected_like_openai(client, llm) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "time", "arguments": "{}"}}
    with pytest.raises(openai.BadRequestError, match="must be followed by tool messages"):
        await ask(
            client,
            {"role": "user", "content": "time?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "user", "content": "well?"},
        )
    assert llm.requests[-1].status == 400


async def test_the_control_api_scripts_replies_and_a_429_with_retry_after(client, llm) -> None:
    async with httpx.AsyncClient(base_url=llm.url) as http:
        steps = [
            {"error": {"status": 429, "retry_after": 7}},
            {"text": "scripted", "model": "demo"},
        ]
        assert (await http.post("/control/script", json={"steps": steps})).json() == {"queued": 2}
        with pytest.raises(openai.RateLimitError) as limited:
            await ask(client, {"role": "user", "content": "hi"})
        assert limited.value.response.headers["retry-after"] == "7"
        assert (await ask(client, {"role": "user", "content": "hi"})).message.content == "scripted"
        recorded = (await http.get("/control/requests")).json()
    assert [r["status"] for r in recorded] == [429, 200]
    assert recorded[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert recorded[0]["tools"] == TOOLS
