"""The `time` tool: now, convert, resolve."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assistant.src.config.snapshot import ToolSpec
from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.time_tool import TimeTool, resolve_phrase
from assistant.tests.support import call_context

MOSCOW = ZoneInfo("Europe/Moscow")
# A Sunday, so "next Friday" is unambiguous.
NOW = datetime(2024, 11, 24, 10, 0, tzinfo=MOSCOW)


def test_next_friday_at_3pm() -> None:
    moment = resolve_phrase("next Friday at 3pm", MOSCOW, NOW, "en")
    assert (moment.date().isoformat(), moment.hour, moment.minute) == ("2024-11-29", 15, 0)
    assert moment.utcoffset() == timedelta(hours=3)


def test_in_two_hours_in_russian() -> None:
    moment = resolve_phrase("через 2 часа", MOSCOW, NOW, "ru")
    assert moment == NOW + timedelta(hours=2)


def test_tomorrow_at_ten_in_the_morning_in_russian() -> None:
    moment = resolve_phrase("завтра в 10 утра", MOSCOW, NOW, "ru")
    assert (moment.day, moment.hour) == (25, 10)


def test_seven_in_the_evening_in_russian() -> None:
    moment = resolve_phrase("сегодня в 7 вечера", MOSCOW, NOW, "ru")
    assert (moment.day, moment.hour) == (24, 19)


def test_nonsense_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="could not understand"):
        resolve_phrase("purple elephants", MOSCOW, NOW, "en")


@pytest.fixture
def run_time(services: ToolServices):
    tool = TimeTool(ToolSpec(id="t", name="time", tool_type="time"), services)

    async def run(arguments: dict[str, Any], timezone: str = "Europe/Moscow") -> Any:
        return await tool.run(arguments, call_context(timezone))

    return run


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


async def test_an_unknown_zone_is_a_tool_error(run_time) -> None:
    with pytest.raises(ToolError, match="unknown timezone"):
        await run_time({"action": "now", "timezone": "Mars/Olympus"})
