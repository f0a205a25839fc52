"""Tool round trips through the assistant process: the model calls, the tool runs (for the
envelope's user), the model reads the result. The tests share one assistant (`platform`)."""

from __future__ import annotations

import json
from typing import Any

from assistant.tests.support import Deployment
from sandbox.llm_server import RecordedRequest, Step, ToolCallStep


def tool_results(request: RecordedRequest) -> list[Any]:
    """What the model read back from its calls: parsed JSON, or the text as it is."""
    return [_parsed(m["content"]) for m in request.messages if m["role"] == "tool"]


def _parsed(content: str) -> Any:
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        return content


async def invocations(deployment: Deployment, user_id: str) -> list[dict[str, Any]]:
    return await deployment.admin.get_json("/api/tool-invocations/", user_id=user_id)


async def test_time_round_trip_in_the_users_zone_is_stored_with_its_invocation(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    kenji = await deployment.user("Kenji", timezone="Asia/Tokyo")
    deployment.llm.call("time", {"action": "now"})

    answer = await deployment.ask(kenji, "what time is it?")

    first, second = deployment.llm.requests
    assert sorted(first.tool_names) == ["ask_helper", "time", "weather"]
    (result,) = tool_results(second)
    assert result["timezone"] == "Asia/Tokyo" and result["utc_offset"] == "+09:00"
    assert "Asia/Tokyo" in answer.text
    stored = await deployment.thread_messages(str(kenji.id))
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[1].tool_calls is not None
    call_id = stored[1].tool_calls[0]["id"]
    assert stored[2].tool_call_id == call_id and stored[2].name == "time"
    assert stored[1].model == deployment.config.primary and stored[1].tokens_in
    (row,) = await invocations(deployment, str(kenji.id))
    assert row["tool_name"] == "time" and row["ok"] is True
    assert row["message_id"] == answer.correlation_id


async def test_time_resolves_a_phrase_in_the_users_zone(deployment: Deployment) -> None:
    await deployment.assistant()
    olga = await deployment.user("Olga", timezone="Europe/Moscow", language="ru")
    deployment.llm.call("time", {"action": "resolve", "phrase": "через 2 часа"})

    await deployment.ask(olga, "который час будет через 2 часа?")

    (result,) = tool_results(deployment.llm.requests[1])
    assert result["timezone"] == "Europe/Moscow" and result["utc_offset"] == "+03:00"


async def test_weather_round_trip(deployment: Deployment) -> None:
    await deployment.assistant()
    hans = await deployment.user("Hans")
    deployment.llm.call("weather", {"location": "Berlin", "days": 2})

    answer = await deployment.ask(hans, "weather in Berlin?")

    (result,) = tool_results(deployment.llm.requests[1])
    assert result["place"] == "Berlin, Land Berlin, Germany" and len(result["daily"]) == 2
    assert "Berlin" in answer.text


async def test_weather_for_an_unknown_place_is_a_tool_error_the_model_reads(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    ines = await deployment.user("Ines")
    deployment.llm.call("weather", {"location": "Atlantis"})

    answer = await deployment.ask(ines, "weather in Atlantis?")

    (result,) = tool_results(deployment.llm.requests[1])
    assert result["error"].startswith("unknown place 'Atlantis'")
    assert "unknown place" in answer.text
    (row,) = await invocations(deployment, str(ines.id))
    assert row["ok"] is False and "Atlantis" in row["error"]


async def test_sub_assistant_round_trip_on_its_own_thread(deployment: Deployment) -> None:
    await deployment.assistant()
    jan = await deployment.user("Jan")
    deployment.llm.call("ask_helper", {"query": "what is the answer to everything?"})
    deployment.llm.reply("42, says the helper", contains="answer to everything")

    answer = await deployment.ask(jan, "ask the helper")

    _secretary, helper, final = deployment.llm.requests
    assert "You are a test helper." in helper.system_text
    assert helper.messages[-1] == {"role": "user", "content": "what is the answer to everything?"}
    assert sorted(helper.tool_names) == ["ask_helper", "time"]
    assert tool_results(final) == ["42, says the helper"]
    assert "42, says the helper" in answer.text
    helper_thread = await deployment.thread_messages(str(jan.id), deployment.config.helper)
    assert [m.content for m in helper_thread] == [
        "what is the answer to everything?",
        "42, says the helper",
    ]


async def test_invalid_arguments_reach_the_model_which_recovers(deployment: Deployment) -> None:
    await deployment.assistant()
    kate = await deployment.user("Kate")
    deployment.llm.call("weather", {"location": 42, "days": 99})
    deployment.llm.call("weather", {"location": "London"})

    answer = await deployment.ask(kate, "weather please")

    first_result = tool_results(deployment.llm.requests[1])[0]
    assert first_result["error"].startswith("invalid arguments")
    assert "42 is not of type 'string'" in first_result["error"]
    assert "99 is greater than the maximum of 16" in first_result["error"]
    assert deployment.open_meteo.hits["forecast"] == 1
    assert "London" in answer.text


async def test_calls_of_one_turn_run_concurrently(deployment: Deployment) -> None:
    await deployment.assistant()
    liam = await deployment.user("Liam")
    deployment.open_meteo.delay = 0.5
    deployment.llm.script(
        Step(
            tool_calls=[
                ToolCallStep("weather", {"location": "Tokyo"}),
                ToolCallStep("weather", {"location": "Paris"}),
                ToolCallStep("weather", {"location": "New York"}),
            ]
        )
    )

    await deployment.ask(liam, "weather in three cities")

    first, second = deployment.llm.requests
    places = [r["place"].split(",")[0] for r in tool_results(second)]
    assert places == ["Tokyo", "Paris", "New York"]
    # Each call waits 0.5 s twice (geocoding, forecast): 3 s one after another.
    assert second.received_at - first.received_at < 2.0


async def test_a_tool_acts_only_for_the_envelopes_user(deployment: Deployment) -> None:
    await deployment.assistant()
    mia = await deployment.user("Mia", timezone="Asia/Tokyo")
    other = await deployment.user("Other", timezone="America/New_York")
    deployment.llm.script(
        Step(
            tool_calls=[
                ToolCallStep("time", {"action": "now", "user_id": str(other.id)}),
                ToolCallStep("ask_helper", {"query": "note this", "user_id": str(other.id)}),
            ]
        )
    )

    await deployment.ask(mia, "what time is it for the other user?")

    time_result = tool_results(deployment.llm.requests[-1])[0]
    assert time_result["timezone"] == "Asia/Tokyo"
    assert await deployment.thread_messages(str(other.id), deployment.config.helper) == []
    assert len(await deployment.thread_messages(str(mia.id), deployment.config.helper)) == 2
    assert await invocations(deployment, str(other.id)) == []
    assert {r["user_id"] for r in await invocations(deployment, str(mia.id))} == {str(mia.id)}


async def test_sub_assistant_depth_is_bounded(deployment: Deployment) -> None:
    await deployment.assistant()
    nina = await deployment.user("Nina")
    # The helper would ask itself forever: depth 1 and 2 run, depth 3 is refused.
    deployment.llm.call("ask_helper", {"query": "go deeper"}, contains="dig")
    for _ in range(3):
        deployment.llm.call("ask_helper", {"query": "go deeper"}, contains="go deeper")

    answer = await deployment.ask(nina, "dig")

    helper_turns = [
        r
        for r in deployment.llm.requests
        if "test helper" in r.system_text and r.messages[-1]["role"] == "user"
    ]
    assert len(helper_turns) == 2
    assert "sub-assistant depth limit reached (2)" in answer.text


async def test_after_max_tool_iterations_the_answer_is_honest(deployment: Deployment) -> None:
    await deployment.assistant()
    omar = await deployment.user("Omar")
    deployment.llm.call("time", {"action": "now"}, times=None)

    answer = await deployment.ask(omar, "loop forever")

    requests = deployment.llm.requests
    assert len(requests) == 5 + 1
    assert requests[-1].tool_choice == "none"
    assert answer.text.startswith("Sorry, I couldn't finish this")
