"""The `time` tool: now, convert, resolve, in a user's zone that is not UTC. Each wrong reading
people met has a case here (they failed with the dateparser-based resolver)."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assistant.src.tools.base import Actor, ToolError, ToolServices
from assistant.src.tools.time_tool import TimeTool
from assistant.tests.support import call_context, tool_spec

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def run_time(services: ToolServices):
    tool = TimeTool(tool_spec("time"), services)

    async def run(arguments: dict[str, Any], timezone: str = "Asia/Tokyo") -> Any:
        return await tool.run(arguments, call_context(timezone))

    return run


async def resolved(run_time, phrase: str) -> datetime:
    result = await run_time({"action": "resolve", "phrase": phrase})
    return datetime.fromisoformat(result["datetime"])


def next_local(clock: datetime) -> datetime:
    """`clock`'s time of day, today if still ahead, else tomorrow."""
    return clock if clock >= datetime.now(TOKYO).replace(microsecond=0) else clock + timedelta(1)


async def test_tomorrow_at_9_is_nine_oclock_tomorrow(run_time) -> None:
    tomorrow = datetime.now(TOKYO).date() + timedelta(days=1)
    assert await resolved(run_time, "tomorrow at 9") == datetime(
        tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=TOKYO
    )
    assert (await resolved(run_time, "tomorrow at 18")).hour == 18
    assert (await resolved(run_time, "завтра в 18")).strftime("%d %H:%M") == (
        f"{tomorrow:%d} 18:00"
    )


async def test_at_9_is_the_next_nine_oclock_not_september(run_time) -> None:
    today = datetime.now(TOKYO).replace(hour=9, minute=0, second=0, microsecond=0)
    assert await resolved(run_time, "at 9") == next_local(today)


async def test_tonight_at_8_is_eight_in_the_evening_or_a_question(run_time) -> None:
    eight = datetime.now(TOKYO).replace(hour=20, minute=0, second=0, microsecond=0)
    if eight < datetime.now(TOKYO):
        with pytest.raises(ToolError, match="already passed"):
            await resolved(run_time, "tonight at 8")
    else:
        assert await resolved(run_time, "tonight at 8") == eight


def time_tool_at(services: ToolServices, moment: datetime) -> TimeTool:
    """The tool on a clock stopped at `moment`, for phrases whose answer depends on the day."""
    return TimeTool(tool_spec("time"), dataclasses.replace(services, clock=lambda: moment))


async def test_on_friday_is_friday_at_nine_and_says_no_time_was_given(services) -> None:
    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=TOKYO)
    tool = time_tool_at(services, wednesday)
    result = await tool.run(
        {"action": "resolve", "phrase": "on friday"}, call_context("Asia/Tokyo")
    )
    assert (result["weekday"], result["time"], result["all_day"]) == ("Friday", "09:00", True)
    assert datetime.fromisoformat(result["datetime"]) == datetime(2026, 11, 27, 9, tzinfo=TOKYO)


async def test_on_friday_said_early_on_a_friday_asks_which_friday(services) -> None:
    """Found on a Friday just after midnight in Tokyo: nine that morning is still ahead, so
    "on friday" may mean today or a week on; the tool asks (it read the wall clock before)."""
    tool = time_tool_at(services, datetime(2026, 11, 27, 0, 25, tzinfo=TOKYO))
    with pytest.raises(ToolError, match=r"today \(Friday 27 November\) or Friday 04 December"):
        await tool.run({"action": "resolve", "phrase": "on friday"}, call_context("Asia/Tokyo"))


async def test_in_half_an_hour(run_time) -> None:
    before = datetime.now(TOKYO)
    moment = await resolved(run_time, "in half an hour")
    assert timedelta(minutes=29) < moment - before < timedelta(minutes=31)
    assert moment.utcoffset() == timedelta(hours=9)


async def test_an_iso_local_time_is_taken_as_is(run_time) -> None:
    result = await run_time({"action": "resolve", "phrase": "2030-05-17T09:30"})
    assert result["datetime"] == "2030-05-17T09:30:00+09:00"


async def test_an_ambiguous_hour_is_a_question(run_time) -> None:
    with pytest.raises(ToolError, match=r"ask the user: .*03:00|3:00 in the morning or 15:00"):
        await run_time({"action": "resolve", "phrase": "at 3"})


async def test_nonsense_is_a_question(run_time) -> None:
    with pytest.raises(ToolError, match="ask the user"):
        await run_time({"action": "resolve", "phrase": "purple elephants"})


async def test_now_is_in_the_users_zone(run_time) -> None:
    result = await run_time({"action": "now"}, timezone="Asia/Tokyo")
    assert result["timezone"] == "Asia/Tokyo" and result["utc_offset"] == "+09:00"


async def test_convert_between_zones(run_time) -> None:
    result = await run_time(
        {
            "action": "convert",
            "time": "2024-11-24 15:00",
            "timezone": "Europe/Berlin",
            "to_timezone": "America/New_York",
        }
    )
    assert result["from"]["time"] == "15:00" and result["to"]["time"] == "09:00"


async def test_convert_a_clock_time_is_todays(run_time) -> None:
    result = await run_time(
        {"action": "convert", "time": "15:00", "timezone": "UTC", "to_timezone": "Asia/Tokyo"}
    )
    assert result["from"]["date"] == datetime.now(ZoneInfo("UTC")).date().isoformat()
    assert result["to"]["time"] == "00:00"


async def test_an_unknown_zone_is_a_tool_error(run_time) -> None:
    with pytest.raises(ToolError, match="unknown timezone"):
        await run_time({"action": "now", "timezone": "Mars/Olympus"})


async def test_a_city_or_an_offset_is_a_zone_as_the_schema_promises(run_time) -> None:
    result = await run_time(
        {
            "action": "convert",
            "time": "2030-01-10T12:00",
            "timezone": "berlin",
            "to_timezone": "Tokyo",
        }
    )
    assert (result["from"]["timezone"], result["to"]["time"]) == ("Europe/Berlin", "20:00")
    result = await run_time({"action": "now", "timezone": "UTC+3"})
    assert result["utc_offset"] == "+03:00"


async def test_an_iso_time_a_minute_ago_is_now_not_a_refusal(run_time) -> None:
    """The model works from the prompt's HH:MM; by the time the tool runs it may have passed."""
    just_now = datetime.now(TOKYO).replace(microsecond=0) - timedelta(seconds=50)
    result = await run_time({"action": "resolve", "phrase": just_now.isoformat()})
    assert (
        timedelta(0)
        <= datetime.fromisoformat(result["datetime"]) - just_now
        < timedelta(seconds=60)
    )
    with pytest.raises(ToolError, match="already passed"):
        await run_time(
            {"action": "resolve", "phrase": (just_now - timedelta(minutes=5)).isoformat()}
        )


@pytest.mark.parametrize(
    ("arguments", "told"),
    [
        ({"action": "resolve"}, "action 'resolve' needs 'phrase'"),
        ({"action": "convert", "time": "10:00"}, "action 'convert' needs 'to_timezone'"),
        ({"action": "alarm"}, "unknown action 'alarm'"),
        ({"action": "set_timezone"}, "action 'set_timezone' needs 'timezone'"),
        ({"action": "set_timezone", "timezone": "  "}, "needs 'timezone'"),
        ({"action": "set_timezone", "timezone": "Springfield"}, "Ask the user which one"),
        ({"action": "set_timezone", "timezone": "Atlantis"}, "Ask the user for their city"),
    ],
)
async def test_what_the_tool_cannot_act_on_is_said_and_nothing_is_stored(
    run_time, arguments: dict[str, Any], told: str
) -> None:
    """rest_service is not running here: a refusal comes before anything would be stored."""
    with pytest.raises(ToolError, match=re.escape(told)):
        await run_time(arguments)


async def test_a_user_rest_service_does_not_know_gets_no_zone_stored(services) -> None:
    stranger = dataclasses.replace(
        call_context(), actor=Actor("u9", "u9", 9, "UTC", registered=False)
    )
    with pytest.raises(ToolError, match="not registered"):
        await TimeTool(tool_spec("time"), services).run(
            {"action": "set_timezone", "timezone": "Tokyo"}, stranger
        )
