"""Time zones end to end, every service a real process: a user with no zone sets a reminder
through the secretary (the zone is assumed), tells the secretary where they are, is offered
the move, accepts it with /timezone move, and the job keeps its local clock time in the new
zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.system import Person, System

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def system(whole_system: System) -> System:
    return whole_system


async def test_a_reminder_made_under_the_assumed_zone_moves_to_the_zone_set_in_chat(
    system: System,
) -> None:
    nina = Person.new("Nina")
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    create = {"action": "create", "text": "call the bank", "when": f"{day}T09:00:00"}
    system.llm.call("reminder", create, contains="remind me")
    await system.say(nina, "remind me to call the bank at 9 the day after tomorrow")
    [job_id] = [str(i) for (i,) in system.query(_JOBS, nina.id)]
    assert system.query(_JOB, job_id) == [
        ("UTC", True, datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
    ]

    system.llm.call("time", {"action": "set_timezone", "timezone": "Токио"}, contains="Tokyo")
    await system.say(nina, "I'm in Tokyo this week")
    [result] = system.tool_results("Tokyo this week")
    assert result["timezone"] == "Asia/Tokyo"
    assert [r["text"] for r in result["reminders_in_assumed_zone"]] == ["call the bank"]
    assert (system.user_row(nina) or {}).get("timezone") == "Asia/Tokyo"

    moved = await system.say(nina, "/timezone move")

    assert "call the bank" in moved.text and "Asia/Tokyo" in moved.text
    [(zone, assumed, run_at)] = system.query(_JOB, job_id)
    assert (zone, assumed) == ("Asia/Tokyo", False)
    local = run_at.astimezone(TOKYO)
    assert (local.date(), local.hour, local.minute) == (day, 9, 0)
    [(next_run,)] = system.query("SELECT next_run_at FROM cron_jobs WHERE id = %s", job_id)
    assert next_run == run_at


_JOBS = "SELECT j.id FROM cron_jobs j JOIN users u ON u.id = j.user_id WHERE u.telegram_id = %s"
_JOB = "SELECT timezone, timezone_assumed, run_at FROM cron_jobs WHERE id = %s"
