"""The tool-argument boundary: arguments as real models write them, against the shipped
built-in schemas (`rest_service/seed/default_config.json`), through the toolbox with the
real tools, rest_service and the Open-Meteo stand-in. What the model meant is done; what
cannot be read is a tool error the model reads; nothing is an exception, and no call acts
for anyone but the envelope's user."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.clients.llm import ToolCall
from assistant.src.settings import Settings
from assistant.src.tools import tool_classes
from assistant.src.tools.arguments import MAX_STRING_CHARS, fit, parse
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.toolbox import Toolbox, ToolOutcome
from assistant.tests.support import Platform, tool_spec
from common.infrastructure.http_client import client_session
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, TelegramUser
from ops.services import ROOT
from tests.tiers import examples

#: The built-in tools' schemas as shipped: what a real model sees.
BUILT_IN = {
    tool["tool_type"]: tool
    for tool in json.loads(
        (ROOT / "rest_service" / "seed" / "default_config.json").read_text(encoding="utf-8")
    )["tools"]
}
#: Nothing listens there: the calendar service is down (the tool must say so, not crash).
NOWHERE = "http://127.0.0.1:9"


@dataclass
class World:
    """The toolbox of every built-in tool, and two people: the one talking, and another."""

    toolbox: Toolbox
    rest: RestClient
    admin: RestClient
    secretary_id: str
    me: TelegramUser
    other: TelegramUser
    others_reminder: CronJob
    chat_id: int

    def context(self) -> ToolCallOrigin:
        actor = Actor(
            user_id=str(self.me.id),
            conversation_key=str(self.me.id),
            chat_id=self.chat_id,
            timezone="Europe/Moscow",
            language="ru",
        )
        return ToolCallOrigin(actor, str(uuid.uuid4()), uuid.UUID(self.secretary_id), "0", 0)

    async def call(self, name: str, raw: str) -> ToolOutcome:
        return await self.toolbox.run(ToolCall("call_1", name, raw), self.context())

    async def result(self, name: str, arguments: Any) -> Any:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return json.loads((await self.call(name, raw)).content)

    async def others_reminder_is_untouched(self) -> None:
        jobs = await self.rest.list_cron_jobs(user_id=self.other.id, limit=1000)
        assert jobs == [self.others_reminder]

    async def my_chat_has_only_my_reminders(self) -> None:
        jobs = await self.rest.list_cron_jobs(chat_id=self.chat_id, limit=1000)
        assert all(job.user_id == self.me.id for job in jobs)


async def _tool_id(admin: RestClient, tool_type: str, helper_id: str) -> str:
    """A row for the tool's invocations to point at (`args-<type>`, made once)."""
    name = f"args-{tool_type}"
    found = [t for t in await admin.get_json("/api/tools/", limit=1000) if t["name"] == name]
    if found:
        return str(found[0]["id"])
    spec = BUILT_IN[tool_type]
    body = {"name": name, "tool_type": tool_type, "input_schema": spec["input_schema"]}
    if tool_type == "sub_assistant":
        body["assistant_id"] = helper_id
    return str((await admin.post_json("/api/tools/", body))["id"])


async def _person(rest: RestClient, first_name: str) -> TelegramUser:
    user, _made = await rest.get_or_create_user(
        uuid.uuid4().int % 10**12, username=first_name.lower(), first_name=first_name
    )
    return user


async def open_world(platform: Platform, redis_url: str, stack: AsyncExitStack) -> World:
    """Every built-in tool with its shipped schema, on the platform's rest_service."""
    tokens = platform.secrets
    rest = await stack.enter_async_context(
        RestClient(platform.rest_url, tokens["SERVICE_API_TOKEN"])
    )
    admin = await stack.enter_async_context(
        RestClient(platform.rest_url, tokens["ADMIN_API_TOKEN"])
    )
    http = await stack.enter_async_context(client_session())
    redis = aioredis.Redis.from_url(redis_url)
    stack.push_async_callback(redis.aclose)
    settings_ = Settings(
        environment="test",
        redis_url=redis_url,
        redis_key_prefix=platform.names.prefix,
        service_api_token=tokens["SERVICE_API_TOKEN"],
        google_calendar_service_url=NOWHERE,
        geocoding_api_url=platform.open_meteo.geocoding_url,
        weather_api_url=platform.open_meteo.forecast_url,
        weather_cache_seconds=0,
        tool_timeout_seconds=10,
    )
    services = ToolServices(settings_, redis, platform.names, rest, http)
    assistants = {a["name"]: a["id"] for a in await admin.get_json("/api/assistants/", limit=1000)}
    helper = assistants[platform.config.helper]
    tools = []
    for tool_type, shipped in BUILT_IN.items():
        spec = tool_spec(
            tool_type,
            tool_id=await _tool_id(admin, tool_type, helper),
            name=shipped["name"],
            input_schema=shipped["input_schema"],
            sub_assistant_id=helper if tool_type == "sub_assistant" else None,
        )
        tools.append(tool_classes()[tool_type](spec, services))
    me, other = await _person(rest, "Me"), await _person(rest, "Other")
    others_reminder = await rest.create_cron_job(
        name="other's",
        chat_id=int(other.telegram_id),
        user_id=other.id,
        text="the other person's reminder",
        run_at=datetime.now(UTC) + timedelta(days=3),
        timezone="UTC",
    )
    secretary = assistants[platform.config.secretary]
    chat_id = int(me.telegram_id)
    return World(Toolbox(tools, rest), rest, admin, secretary, me, other, others_reminder, chat_id)


@pytest.fixture
async def world(platform: Platform, redis_url: str) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        yield await open_world(platform, redis_url, stack)


def soon() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0).isoformat()


# -- what is coerced --------------------------------------------------------------------------


async def test_numbers_written_as_strings_are_numbers(world: World) -> None:
    weather = await world.result("weather", {"location": "Berlin", "days": "2"})
    assert len(weather["daily"]) == 2

    created = await world.result("reminder", {"action": "create", "text": "tea", "when": soon()})
    snoozed = await world.result(
        "reminder", {"action": "snooze", "reminder_id": created["reminder_id"], "minutes": "15"}
    )
    assert snoozed["status"] == "snoozed"


async def test_null_for_an_optional_field_is_as_if_it_were_absent(world: World) -> None:
    created = await world.result(
        "reminder",
        {"action": "create", "text": "call mum", "when": soon(), "recurrence": None,
         "reminder_id": None, "minutes": None},
    )  # fmt: skip
    assert created["status"] == "created" and "repeats" not in created
    weather = await world.result("weather", {"location": "Berlin", "days": None})
    assert weather["place"].startswith("Berlin")


async def test_enum_values_are_read_whatever_their_case(world: World) -> None:
    created = await world.result("reminder", {"action": "Create", "text": "x", "when": soon()})
    listed = await world.result("reminder", {"action": " LIST "})
    now = await world.result("time", {"action": "Now", "timezone": "Asia/Tokyo"})
    assert created["status"] == "created"
    assert [r["reminder_id"] for r in listed["reminders"]] == [created["reminder_id"]]
    assert now["timezone"] == "Asia/Tokyo"


async def test_unknown_fields_are_dropped_and_named_back_to_the_model(world: World) -> None:
    now = await world.result("time", {"action": "now", "timezone": "UTC", "format": "24h"})
    assert now["timezone"] == "UTC" and now["ignored_arguments"] == ["format"]


async def test_a_user_named_in_the_arguments_is_never_the_one_acted_for(world: World) -> None:
    other = str(world.other.id)
    created = await world.result(
        "reminder", {"action": "create", "text": "mine", "when": soon(), "user_id": other}
    )
    cancelled = await world.result(
        "reminder",
        {"action": "delete", "reminder_id": str(world.others_reminder.id), "user_id": other},
    )
    assert created["status"] == "created" and created["ignored_arguments"] == ["user_id"]
    assert "has no reminder" in cancelled["error"]
    await world.others_reminder_is_untouched()
    await world.my_chat_has_only_my_reminders()


async def test_arguments_encoded_twice_or_with_trailing_whitespace_are_read(world: World) -> None:
    twice = json.dumps(json.dumps({"action": "now", "timezone": "Asia/Tokyo"}))
    padded = json.dumps({"action": "now", "timezone": "Europe/Paris"}) + " \n\t "
    assert (await world.result("time", twice))["timezone"] == "Asia/Tokyo"
    assert (await world.result("time", padded))["timezone"] == "Europe/Paris"


# -- what is a tool error -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("weather", {"location": None}, "invalid arguments: location: None is not of type"),
        ("weather", {"location": "Berlin", "days": "three"}, "days: 'three' is not of type"),
        ("weather", {"location": "Berlin", "days": "99"}, "days: 99 is greater than"),
        ("weather", {"location": 42}, "location: 42 is not of type 'string'"),
        ("reminder", {"action": "remind"}, "action: 'remind' is not one of"),
        ("reminder", {"action": "create", "text": True}, "text: True is not of type"),
        ("weather", {"location": "я" * (MAX_STRING_CHARS + 1)}, "location: 20001 characters"),
        ("time", '{"action": "now", "timezone": "UTC"', "arguments are not valid JSON"),
        ("time", "[" * 100_000, "arguments are not valid JSON"),
        ("time", '{"x": ' + "9" * 5000 + "}", "arguments are not valid JSON"),
        ("time", '["now"]', "invalid arguments: ['now'] is not of type 'object'"),
    ],
)  # fmt: skip
async def test_what_cannot_be_read_is_an_error_the_model_reads(
    world: World, name: str, arguments: Any, says: str
) -> None:
    result = await world.result(name, arguments)
    assert says in result["error"]
    assert len(result["error"]) < 2000


async def test_odd_characters_are_cleaned_before_they_are_stored(world: World) -> None:
    raw = json.dumps({"action": "create", "text": "tea\x00 time \ud800", "when": soon()})
    created = json.loads((await world.call("reminder", raw)).content)
    assert created["text"] == "tea time \ufffd"


# -- a corpus of what models send ------------------------------------------------------------

#: Arguments as models were seen to write them, with what the tool gets or the error.
CORPUS = json.loads((ROOT / "assistant/tests/data/tool_arguments.json").read_text("utf-8"))


@pytest.mark.parametrize(
    "case", CORPUS, ids=[f"{c['tool']}-{i}-{c.get('note', '')}" for i, c in enumerate(CORPUS)]
)
def test_what_models_send_is_read_as_meant_or_refused_with_a_reason(case: dict[str, Any]) -> None:
    shipped = BUILT_IN[case["tool"]]
    spec = tool_spec(case["tool"], name=shipped["name"], input_schema=shipped["input_schema"])
    tool = tool_classes()[case["tool"]](spec, services=None)  # type: ignore[arg-type]
    try:
        read = fit(parse(case["arguments"]), spec.input_schema)
        tool.validate(read.values)
    except ToolError as exc:
        assert "error" in case, f"refused: {exc}"
        assert case["error"] in str(exc)
        return
    assert "error" not in case, f"read as {read}"
    assert (read.values, list(read.ignored)) == (case["values"], case["ignored"])


# -- any arguments at all ---------------------------------------------------------------------

#: Keys a model might add: the schema's own, someone else's identity, anything.
_FOREIGN_KEYS = ["user_id", "chat_id", "telegram_id", "conversation_key", "timezone", "id", ""]

_ODD_TEXT = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=40)
_HUGE = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["a", "я", "🙂", "9", " ", "\ud800", "\x00"]),
    st.integers(1_000, MAX_STRING_CHARS + 100),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _ODD_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ODD_TEXT, inner, max_size=3),
    max_leaves=6,
)


def _times() -> st.SearchStrategy[str]:
    now = datetime.now(UTC)
    moments = st.integers(-3 * 86_400, 30 * 86_400).map(lambda s: now + timedelta(seconds=s))
    return st.one_of(
        moments.map(lambda m: m.isoformat()),
        moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ")),
        moments.map(lambda m: m.replace(tzinfo=None).isoformat(timespec="minutes")),
        st.sampled_from(
            ["tomorrow at 9", "завтра в 9", "in 5 minutes", "через час", "every weekday at 9",
             "каждый понедельник в 10", "0 9 * * 1-5", "noon", "31 February", "25:61"]
        ),
    )  # fmt: skip


_ZONES = ["Europe/Berlin", "Asia/Tokyo", "UTC", "Tokyo", "Москва", "Mars/Olympus", "../etc"]
_WORDS = [
    "tea",
    "позвонить маме",
    "Berlin",
    "Казань",
    "Nowhere",
    "",
    "   ",
    "🙂" * 3,
    "tea\x00",
    "Berlin \ud83d",
]
_RECURRENCES = ["every weekday at 9", "каждый понедельник в 10", "0 9 * * 1-5", "every 5",
                "every month on the 31st at 8", "61 25 * * *", "* * * * * *"]  # fmt: skip


def _plausible(key: str, spec: dict[str, Any], ids: list[str]) -> st.SearchStrategy[Any]:
    """What a model would write for this property, right or slightly wrong."""
    if spec.get("enum"):
        values = [v for e in spec["enum"] for v in (e, e.upper(), e.title(), f" {e} ")]
        return st.sampled_from([*values, "remove", ""])
    if spec.get("type") == "integer":
        small = st.integers(-1, 20) | st.integers(-5, 20_000)
        return small | small.map(str) | st.none()
    if key in {"when", "time", "start", "end", "time_min", "time_max", "phrase"}:
        return _times()
    if "timezone" in key:
        return st.sampled_from(_ZONES)
    if key == "recurrence":
        return st.sampled_from(_RECURRENCES) | st.none()
    if key.endswith("_id"):
        return st.sampled_from(ids)
    return st.sampled_from(_WORDS) | _ODD_TEXT


def _value_for(key: str, spec: dict[str, Any], ids: list[str]) -> st.SearchStrategy[Any]:
    """Mostly plausible; one time in five anything at all."""
    wild = st.one_of(_JSON, _HUGE, st.none(), st.sampled_from(ids))
    return st.integers(0, 4).flatmap(lambda n: wild if n == 0 else _plausible(key, spec, ids))


def _arguments(schema: dict[str, Any], ids: list[str]) -> st.SearchStrategy[str]:
    """The raw `arguments` text: mostly an object of the schema's keys and some others;
    sometimes any JSON, or not JSON at all."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    keyed = st.fixed_dictionaries(
        {key: _value_for(key, properties[key], ids) for key in required},
        optional={
            **{k: _value_for(k, spec, ids) for k, spec in properties.items() if k not in required},
            **{key: st.sampled_from(ids) | _JSON for key in _FOREIGN_KEYS},
        },
    )
    anything = st.one_of(st.dictionaries(_ODD_TEXT, _JSON, max_size=4), _JSON)
    objects = st.integers(0, 9).flatmap(lambda n: anything if n == 0 else keyed)
    encoded = st.builds(
        lambda value, ascii_, pad: json.dumps(value, ensure_ascii=ascii_) + pad,
        objects,
        st.booleans(),
        st.sampled_from(["", " ", "\n\n", "\t "]),
    )
    broken = st.one_of(
        _ODD_TEXT,
        encoded.map(json.dumps),
        st.integers(500, 50_000).map(lambda n: "[" * n + "]" * n),  # nested past the stack
        st.integers(4_400, 6_000).map(lambda n: '{"days": ' + "9" * n + "}"),  # past int's limit
    )
    return st.integers(0, 9).flatmap(lambda n: broken if n == 0 else encoded)


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    """An event loop of the module's own: hypothesis drives a synchronous test."""
    with asyncio.Runner() as loop:
        yield loop


@pytest.mark.timeout(600)
@pytest.mark.parametrize("tool_type", sorted(BUILT_IN))
def test_any_arguments_are_a_result_or_an_error_for_the_model_never_a_crash(
    platform: Platform, redis_url: str, runner: asyncio.Runner, tool_type: str
) -> None:
    stack = AsyncExitStack()
    world = runner.run(open_world(platform, redis_url, stack))
    name = BUILT_IN[tool_type]["name"]
    ids = [str(world.others_reminder.id), str(uuid.uuid4()), str(world.other.id)]
    try:

        @settings(
            max_examples=examples(60),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(raw=_arguments(BUILT_IN[tool_type]["input_schema"], ids))
        def check(raw: str) -> None:
            outcome = runner.run(world.call(name, raw))
            content = json.loads(outcome.content)
            if not outcome.ok:
                assert content == {"error": outcome.error}
                assert not str(outcome.error).startswith("internal error"), outcome.error

        check()
        runner.run(world.others_reminder_is_untouched())
        runner.run(world.my_chat_has_only_my_reminders())
    finally:
        runner.run(stack.aclose())


async def test_dropped_keys_are_named_back_briefly_and_cleanly(world: World) -> None:
    arguments = {"action": "now", **{f"k{i}\ud800{'x' * 100}": i for i in range(20)}}
    result = await world.result("time", json.dumps(arguments))
    assert len(result["ignored_arguments"]) == 10
    assert all(len(k) <= 64 and "\ud800" not in k for k in result["ignored_arguments"])


#: An admin's schema (an MCP server's function) with the types no built-in tool uses.
_ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "weight_kg": {"type": "number"},
        "count": {"type": "integer"},
        "gift": {"type": "boolean"},
    },
}


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ({"weight_kg": " 2.5 "}, {"weight_kg": 2.5}),
        ({"weight_kg": "3.0"}, {"weight_kg": 3}),
        ({"weight_kg": ".5"}, {"weight_kg": 0.5}),
        ({"weight_kg": "heavy"}, {"weight_kg": "heavy"}),  # left for the validator to name
        ({"count": True, "gift": False}, {"count": True, "gift": False}),  # a bool is no 1
        ({"count": 4.0}, {"count": 4}),
    ],
)
def test_numbers_and_booleans_of_an_admins_schema_are_read_as_meant(
    written: dict[str, Any], read: dict[str, Any]
) -> None:
    assert fit(written, _ORDER_SCHEMA).values == read


@pytest.mark.parametrize(
    "raw",
    [
        '{"count": ' + "9" * 5_000 + "}",  # past the digits Python turns into an int
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["digits", "nesting"],
)
def test_a_number_too_long_or_nesting_too_deep_is_refused_in_words(raw: str) -> None:
    with pytest.raises(ToolError, match="a value is too large or too deep"):
        parse(raw)


def test_a_string_longer_than_anyone_dictates_is_refused() -> None:
    with pytest.raises(ToolError, match=f"note: {MAX_STRING_CHARS + 1} characters, at most"):
        fit({"note": "a" * (MAX_STRING_CHARS + 1)}, _ORDER_SCHEMA)


def with_schema(schema: dict[str, Any]) -> Any:
    """A tool whose stored schema is `schema` (an MCP server's, an admin's)."""
    spec = tool_spec("time", input_schema=schema)
    return tool_classes()["time"](spec, services=None)  # type: ignore[arg-type]


def test_a_stored_schema_that_is_no_schema_is_named_as_the_tools_fault() -> None:
    with pytest.raises(ToolError, match="the tool's stored input_schema is invalid"):
        with_schema({"type": "object", "properties": {"n": {"type": "no-such-type"}}}).validate(
            {"n": 1}
        )


def test_arguments_nested_past_the_validators_depth_are_refused_in_words() -> None:
    nested: Any = []
    for _ in range(5_000):
        nested = [nested]
    with pytest.raises(ToolError, match="nested too deeply"):
        with_schema({"type": "array", "items": {"$ref": "#"}}).validate(nested)


def test_a_huge_offending_value_is_quoted_by_its_ends_only() -> None:
    schema = {"type": "object", "properties": {"count": {"type": "integer"}}}
    with pytest.raises(ToolError) as refused:
        with_schema(schema).validate({"count": "x" * 5_000})
    message = str(refused.value)
    assert message.startswith("invalid arguments: count: 'xxx") and " … " in message
    assert message.endswith("is not of type 'integer'") and len(message) < 400
