"""The chat-completions stand-in itself: its default (demo) rules, its control API and its
OpenAI-like errors, through the real `openai` SDK and plain HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from assistant.src.tools.arguments import fit, parse
from ops.services import ROOT
from sandbox.llm_server import LlmStandIn
from sandbox.model_arguments import Conversation, realistic, seed_of

TOOLS: list[Any] = [  # the SDK's typed params, written as JSON
    {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
    for n in ("time", "weather", "reminder", "calendar", "web_search", "draw")
]


@pytest.fixture
async def client(llm: LlmStandIn) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(api_key="sk", base_url=llm.base_url, max_retries=0) as sdk:
        yield sdk


async def ask(client: openai.AsyncOpenAI, *messages: Any):
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
        ("search the web for python 3.13 release?", "web_search",
         {"query": "python 3.13 release"}),
        ("найди в интернете длина Транссиба", "web_search", {"query": "длина Транссиба"}),
        ("Draw me a cat in a spacesuit!", "draw", {"prompt": "a cat in a spacesuit"}),
        ("нарисуй кота в скафандре", "draw", {"prompt": "кота в скафандре"}),
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
    drew = {"id": "c2", "type": "function", "function": {"name": "draw", "arguments": "{}"}}
    drawn = await ask(
        client,
        {"role": "user", "content": "draw a cat"},
        {"role": "assistant", "content": None, "tool_calls": [drew]},
        {"role": "tool", "tool_call_id": "c2", "content": json.dumps({"drawn": True})},
    )
    assert drawn.message.content == "Here is your picture."


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


# -- the realistic argument style ---------------------------------------------------------------

#: The built-in tools as the secretary offers them (the shipped schemas).
BUILT_IN_TOOLS: list[Any] = [  # the SDK's typed params, written as JSON
    {
        "type": "function",
        "function": {"name": t["name"], "parameters": t["input_schema"]},
    }
    for t in json.loads((ROOT / "rest_service/seed/default_config.json").read_text())["tools"]
]
MOSCOW_PROMPT = (
    "You are a secretary.\n"
    "The user's local date and time: Monday, 23 November 2026, 11:00 (Europe/Moscow, UTC+03:00)."
)


async def realistic_call(
    client: openai.AsyncOpenAI, text: str, *, system: str = MOSCOW_PROMPT, **options: Any
) -> tuple[str, str]:
    completion = await client.chat.completions.create(
        model="demo",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
        tools=BUILT_IN_TOOLS,
        extra_headers={"X-Sandbox-Arguments": "realistic"},
        **options,  # type: ignore[arg-type]
    )
    (call,) = completion.choices[0].message.tool_calls or []
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    return call.function.name, call.function.arguments


def scripted_corpus(llm: LlmStandIn, due: datetime) -> list[str]:
    """Calls as tests script them, each answered to a message of its own."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("reminder", {"action": "create", "text": "stretch", "when": due.isoformat()}),
        ("reminder", {"action": "snooze", "minutes": 15}),
        ("calendar", {"action": "list"}),
        ("weather", {"location": "Berlin", "days": 3}),
        ("time", {"action": "now"}),
    ]
    texts = []
    for n in range(12):
        for name, arguments in calls:
            text = f"scripted {name} {n}"
            llm.call(name, arguments, contains=text)
            texts.append(text)
    return texts


async def test_realistic_arguments_are_spelt_as_real_models_spell_them(client, llm) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    said = [
        *scripted_corpus(llm, due),
        *(f"remind me in {n} minutes to stretch" for n in range(1, 13)),
        *(f"напомни через {n} минут позвонить маме" for n in range(1, 13)),
        "remind me tomorrow at 9 to call mum",
        "напомни завтра в 9 позвонить маме",
        "погода в Казани",
    ]
    written = [await realistic_call(client, text) for text in said]

    raw = [arguments for _name, arguments in written]
    parsed = [json.loads(arguments) for arguments in raw]
    values = [v for p in parsed for v in p.values()]
    assert all(text != text.rstrip() for text in raw)  # trailing whitespace
    assert {"Create", "CREATE", "List", "LIST", "Snooze", "SNOOZE"} & set(values)
    assert "15" in values and "3" in values  # numbers as strings
    assert None in values  # null for optional fields
    assert any("user_id" in p or "priority" in p or "confirm" in p for p in parsed)
    assert {"action": "now"} not in parsed and any("action" not in p for p in parsed)
    times = [str(v) for v in values if isinstance(v, str) and v[:4].isdigit()]
    assert any(t.endswith("Z") for t in times) and any(t.endswith("+03:00") for t in times)
    assert any(len(t) == 19 for t in times)  # local, no offset
    assert any(str(v).startswith("in ") for v in values)
    assert any(str(v).startswith("через ") for v in values)
    assert "tomorrow at 9" in values and "завтра в 9" in values


async def test_realistic_arguments_are_the_same_at_every_run(client) -> None:
    # No time in these calls: the wall clock moves between two requests, their spelling must not.
    first = await realistic_call(client, "погода в Казани")
    again = await realistic_call(client, "погода в Казани")
    other = await realistic_call(client, "погода в Москве")
    assert first == again and first != other


def test_a_time_is_spelt_the_same_at_every_run_on_the_same_clock() -> None:
    now = datetime(2026, 11, 23, 8, 0, 7, tzinfo=UTC)
    schema = {"type": "object", "properties": {"when": {"type": "string"}}}
    due = {"when": (now + timedelta(minutes=5)).isoformat()}
    spellings = set()
    for n in range(40):
        seed = seed_of("reminder", "0", f"remind me {n}")
        runs = {
            realistic(due, schema, Conversation(ZoneInfo("Europe/Moscow"), False, now), seed)
            for _run in range(2)
        }
        assert len(runs) == 1
        spellings |= runs
    assert len(spellings) > 2  # the seed chooses among the spellings; the clock alone does not


async def test_realistic_times_name_the_moment_the_script_meant(client, llm) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=40)
    moscow = ZoneInfo("Europe/Moscow")
    seen = set()
    for n in range(16):
        llm.call("reminder", {"action": "create", "text": "x", "when": due.isoformat()})
        _name, raw = await realistic_call(client, f"remind me {n}")
        when = json.loads(raw)["when"]
        if when.startswith("in "):
            seen.add("phrase")
            seconds = int(when.split()[1])
            assert 0 <= seconds - (due - datetime.now(UTC)).total_seconds() <= 5
            continue
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        seen.add(when[19:] or "local")
        assert (moment if moment.tzinfo else moment.replace(tzinfo=moscow)) == due
    assert seen == {"phrase", "Z", "+03:00", "local"}


async def test_the_style_is_chosen_per_stand_in_per_request_and_by_the_control_api(
    client, llm
) -> None:
    assert await ask(client, {"role": "user", "content": "weather in Paris"})
    exact = llm.requests[-1]
    llm.argument_style = "realistic"
    choice = await ask(client, {"role": "user", "content": "weather in Paris"})
    async with httpx.AsyncClient(base_url=llm.url) as http:
        refused = await http.post("/control/arguments", json={"style": "sloppy"})
        back = await http.post("/control/arguments", json={"style": "exact"})
    (call,) = choice.message.tool_calls
    assert exact.status == 200 and call.function.arguments.endswith(("\n", " "))
    assert refused.status_code == 400 and back.json() == {"style": "exact"}
    assert llm.argument_style == "exact"


_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["create", "list"]},
        "minutes": {"type": "integer"},
        "text": {"type": "string"},
        "note": {"type": "string"},
    },
    "required": ["action"],
    "additionalProperties": False,
}


@settings(max_examples=200, deadline=None)
@given(
    arguments=st.fixed_dictionaries(
        {"action": st.sampled_from(["create", "list"])},
        optional={
            "minutes": st.integers(-(10**12), 10**12),
            "text": st.text(
                st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=30
            ),
        },
    ),
    seed=st.integers(0, 2**64),
    russian=st.booleans(),
)
def test_realistic_spelling_read_by_the_toolbox_means_what_was_meant(
    arguments: dict[str, object], seed: int, russian: bool
) -> None:
    talk = Conversation(ZoneInfo("Asia/Tokyo"), russian, datetime.now(UTC))
    written = realistic(arguments, _SCHEMA, talk, seed)
    read = fit(parse(written), _SCHEMA)
    assert read.values == arguments
