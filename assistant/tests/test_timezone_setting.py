"""The `time` tool's `set_timezone` through the assistant process with the LLM stand-in:
the speaking user's zone is set from a city in any language or an offset, the answer names
it with the local time, reminders made under the assumed zone are offered a move, and an
ambiguous place is a question, never a guess."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assistant.tests.support import Deployment
from assistant.tests.test_tools_end_to_end import tool_results


async def test_the_secretary_sets_the_zone_from_a_russian_city(deployment: Deployment) -> None:
    await deployment.assistant()
    olga = await deployment.user("Olga", language="ru")
    deployment.llm.call("time", {"action": "set_timezone", "timezone": "Токио"})

    answer = await deployment.ask(olga, "я на этой неделе в Токио")

    (result,) = tool_results(deployment.llm.requests[1])
    assert result["timezone"] == "Asia/Tokyo" and result["utc_offset"] == "UTC+09:00"
    assert result["found_by_place"] == "Tokyo, Japan"
    assert result["confirmation"].startswith("Your timezone is now Asia/Tokyo (UTC+09:00)")
    assert "reminders_in_assumed_zone" not in result
    assert "Asia/Tokyo" in answer.text
    assert (await deployment.rest.get_user(olga.id)).timezone == "Asia/Tokyo"


async def test_reminders_under_the_assumed_zone_are_offered_a_move(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    hans = await deployment.user("Hans")
    at = (datetime.now(UTC) + timedelta(days=1)).replace(hour=7, minute=0, second=0)
    await deployment.rest.create_cron_job(
        name="gym", chat_id=int(hans.telegram_id), user_id=hans.id, text="gym", run_at=at
    )
    deployment.llm.call("time", {"action": "set_timezone", "timezone": "UTC+3"})

    await deployment.ask(hans, "I'm on UTC+3 now")

    (result,) = tool_results(deployment.llm.requests[1])
    assert result["timezone"] == "Etc/GMT-3"
    assert [r["text"] for r in result["reminders_in_assumed_zone"]] == ["gym"]
    assert "/timezone move" in result["offer"]


async def test_an_ambiguous_place_is_a_question_and_sets_nothing(deployment: Deployment) -> None:
    await deployment.assistant()
    kate = await deployment.user("Kate")
    deployment.llm.call("time", {"action": "set_timezone", "timezone": "Springfield"})

    await deployment.ask(kate, "I'm in Springfield")

    (result,) = tool_results(deployment.llm.requests[1])
    assert "could be several places" in result["error"]
    assert "Ask the user which one" in result["error"]
    assert (await deployment.rest.get_user(kate.id)).timezone is None


async def test_in_a_group_only_the_speakers_zone_is_set(deployment: Deployment) -> None:
    await deployment.assistant()
    anna = await deployment.user("Anna", timezone="Europe/Berlin")
    bob = await deployment.user("Bob", timezone="Europe/Berlin")
    deployment.llm.call("time", {"action": "set_timezone", "timezone": "new york"})

    await deployment.ask(anna, "@bot I'm in New York", group=True, chat_id=-100777)

    assert (await deployment.rest.get_user(anna.id)).timezone == "America/New_York"
    assert (await deployment.rest.get_user(bob.id)).timezone == "Europe/Berlin"
