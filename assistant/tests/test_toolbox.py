"""The toolbox in process, recording to the real rest_service: what the model reads back
when a call is bad, slow or unknown, and the `tool_invocations` row of every call."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from assistant.src.clients.llm import ToolCall
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolServices
from assistant.src.tools.time_tool import TimeTool
from assistant.src.tools.toolbox import Toolbox
from assistant.src.tools.weather_tool import WeatherTool
from assistant.tests.support import TIME_SCHEMA, WEATHER_SCHEMA, Deployment, tool_spec
from common.infrastructure import tracing
from common.infrastructure.http_client import client_session
from common.infrastructure.wire import User
from common.tests.spans import is_child, named, recorded


@pytest.fixture
async def toolbox(deployment: Deployment, settings) -> AsyncIterator[Toolbox]:
    """Time and weather, with a 0.3 s tool timeout, against the platform's Open-Meteo."""
    quick = settings.model_copy(
        update={
            "tool_timeout_seconds": 0.3,
            "geocoding_api_url": deployment.open_meteo.geocoding_url,
            "weather_api_url": deployment.open_meteo.forecast_url,
        }
    )
    async with client_session() as http:
        services = ToolServices(quick, deployment.redis, deployment.names, deployment.rest, http)
        tools = [
            TimeTool(
                tool_spec(
                    "time", tool_id=await tool_id(deployment, "time"), input_schema=TIME_SCHEMA
                ),
                services,
            ),
            WeatherTool(
                tool_spec(
                    "weather",
                    tool_id=await tool_id(deployment, "weather"),
                    input_schema=WEATHER_SCHEMA,
                ),
                services,
            ),
        ]
        yield Toolbox(tools, deployment.rest)


async def tool_id(deployment: Deployment, name: str) -> str:
    tools = await deployment.admin.get_json("/api/tools/", limit=1000)
    return next(t["id"] for t in tools if t["name"] == name)


async def run(
    deployment: Deployment, toolbox: Toolbox, user: User, name: str, arguments: str
) -> dict[str, object]:
    actor = Actor(user_id=str(user.id), conversation_key=str(user.id), chat_id=1, timezone="UTC")
    secretary = await deployment.assistant_id(deployment.config.secretary)
    context = ToolCallOrigin(actor, "message-1", uuid.UUID(secretary), "0", 0)
    outcome = await toolbox.run(ToolCall("call_1", name, arguments), context)
    return json.loads(outcome.content)


async def test_a_slow_tool_is_a_timeout_the_model_reads(deployment, toolbox) -> None:
    user = await deployment.user("Slow")
    # Longer than the test may run: any answer is the toolbox's own timeout, not the tool's.
    deployment.open_meteo.delay = 3600.0

    # A place no other test asks about: the weather cache (shared by the module's deployment)
    # must not answer before the slow stand-in is asked.
    result = await run(deployment, toolbox, user, "weather", '{"location": "Novosibirsk"}')

    assert result == {"error": "the tool did not answer within 0.3 s"}
    (row,) = await deployment.admin.get_json("/api/tool-invocations/", user_id=str(user.id))
    assert row["ok"] is False and row["tool_name"] == "weather" and row["error"]


async def test_an_unknown_tool_and_broken_json_are_errors_the_model_reads(
    deployment, toolbox
) -> None:
    user = await deployment.user("Broken")

    unknown = await run(deployment, toolbox, user, "teleport", "{}")
    broken = await run(deployment, toolbox, user, "time", '{"action": ')

    assert unknown == {"error": "there is no tool named 'teleport'"}
    assert str(broken["error"]).startswith("arguments are not valid JSON")
    rows = await deployment.admin.get_json("/api/tool-invocations/", user_id=str(user.id))
    assert sorted(r["tool_name"] for r in rows) == ["teleport", "time"]
    assert not any(r["ok"] for r in rows)


async def test_a_good_call_is_recorded_with_its_duration(deployment, toolbox) -> None:
    user = await deployment.user("Good")

    result = await run(
        deployment, toolbox, user, "time", '{"action": "now", "timezone": "Asia/Tokyo"}'
    )

    assert result["timezone"] == "Asia/Tokyo"
    (row,) = await deployment.admin.get_json("/api/tool-invocations/", user_id=str(user.id))
    assert row["ok"] is True and row["message_id"] == "message-1"
    assert row["duration_ms"] >= 0 and row["tool_id"] == await tool_id(deployment, "time")


async def test_each_call_is_a_span_of_the_turn_named_by_its_tool(deployment, toolbox) -> None:
    """Decision 0069: a name the model made up is `unknown`, not a span name of its own."""
    user = await deployment.user("Traced")
    with recorded("assistant") as spans:
        with tracing.span("turn"):
            await run(deployment, toolbox, user, "time", '{"action": "now", "timezone": "UTC"}')
            await run(deployment, toolbox, user, "teleport", "{}")
        turn = named(spans, "turn")
        ran, unknown = named(spans, "execute_tool time"), named(spans, "execute_tool unknown")
    assert is_child(ran, turn) and is_child(unknown, turn)
    assert ran.attributes == {"gen_ai.tool.name": "time", "tool.ok": True}
    assert unknown.attributes == {"gen_ai.tool.name": "unknown", "tool.ok": False}
