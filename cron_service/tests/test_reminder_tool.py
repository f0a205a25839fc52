"""The assistant's `reminder` tool against the real rest_service: what it stores for a user in
a non-UTC zone, what it confirms, and that it acts only for the envelope's user."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import redis.asyncio as aioredis

from assistant.src.config import Settings
from assistant.src.config.snapshot import ToolSpec
from assistant.src.tools.base import Actor, ToolCallContext, ToolError, ToolServices
from assistant.src.tools.reminder_tool import ReminderTool
from common.names import Names
from common.rest_client import RestClient, User

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[ReminderTool]:
    settings = Settings(environment="test", redis_url=redis_url, default_timezone="Europe/Moscow")
    spec = ToolSpec(id=str(uuid.uuid4()), name="reminder", tool_type="reminder")
    async with aiohttp.ClientSession() as http:
        yield ReminderTool(spec, ToolServices(settings, redis, names, rest, http))


def call(user: User, timezone: str, position: str = "0", message_id: str = "") -> ToolCallContext:
    actor = Actor(
        user_id=str(user["id"]),
        conversation_key=str(user["id"]),
        chat_id=int(user["telegram_id"]),
        timezone=timezone,
    )
    return ToolCallContext(actor, message_id or str(uuid.uuid4()), "secretary", position, 0)


@pytest.fixture
async def new_yorker(rest: RestClient, user: User) -> User:
    return await rest.update_user(user["id"], timezone="America/New_York")


async def test_in_20_minutes_for_a_user_in_new_york(
    tool: ReminderTool, rest: RestClient, new_yorker: User
) -> None:
    before = datetime.now(UTC)
    result = await tool.run(
        {"action": "create", "text": "stretch", "when": "in 20 minutes"},
        call(new_yorker, "America/New_York"),
    )
    job = await rest.get_cron_job(result["reminder_id"])
    run_at = datetime.fromisoformat(job["run_at"])
    assert before + timedelta(minutes=20) - timedelta(seconds=2) <= run_at
    assert run_at <= datetime.now(UTC) + timedelta(minutes=20)
    assert job["timezone"] == "America/New_York"
    assert job["cron_expression"] is None
    assert job["user_id"] == new_yorker["id"]
    assert job["chat_id"] == new_yorker["telegram_id"]
    assert f"{run_at.astimezone(NEW_YORK):%H:%M}" in result["confirmation"]
    assert "America/New_York" in result["confirmation"]
    assert "timezone_note" not in result


async def test_every_monday_at_9_for_a_user_in_new_york(
    tool: ReminderTool, rest: RestClient, new_yorker: User
) -> None:
    result = await tool.run(
        {"action": "create", "text": "weekly report", "recurrence": "every Monday at 9"},
        call(new_yorker, "America/New_York"),
    )
    job = await rest.get_cron_job(result["reminder_id"])
    assert job["cron_expression"] == "0 9 * * 1"
    assert job["timezone"] == "America/New_York"
    assert job["run_at"] is None
    first = datetime.fromisoformat(job["next_run_at"]).astimezone(NEW_YORK)
    assert f"{first:%A %H:%M}" == "Monday 09:00"
    assert result["first_time"] == f"{first:%A %d %B %Y, %H:%M}"
    assert "every Monday at 09:00" in result["confirmation"]


async def test_russian_relative_time_and_weekday_recurrence(
    tool: ReminderTool, rest: RestClient, new_yorker: User
) -> None:
    result = await tool.run(
        {"action": "create", "text": "позвонить маме", "when": "через час"},
        call(new_yorker, "America/New_York"),
    )
    run_at = datetime.fromisoformat((await rest.get_cron_job(result["reminder_id"]))["run_at"])
    assert abs(run_at - datetime.now(UTC) - timedelta(hours=1)) < timedelta(seconds=10)
    result = await tool.run(
        {"action": "create", "text": "зарядка", "recurrence": "по будням в 7 утра"},
        call(new_yorker, "America/New_York", position="1"),
    )
    assert (await rest.get_cron_job(result["reminder_id"]))["cron_expression"] == "0 7 * * 1-5"


async def test_a_user_without_a_timezone_is_told_which_was_assumed(
    tool: ReminderTool, user: User, rest: RestClient
) -> None:
    plain = await rest.update_user(user["id"], timezone=None)
    result = await tool.run(
        {"action": "create", "text": "tea", "when": "in 5 minutes"}, call(plain, "Europe/Moscow")
    )
    assert "Europe/Moscow" in result["timezone_note"]
    assert "/timezone" in result["timezone_note"]
    assert (await rest.get_cron_job(result["reminder_id"]))["timezone"] == "Europe/Moscow"


async def test_the_same_call_again_makes_no_second_reminder(
    tool: ReminderTool, rest: RestClient, new_yorker: User
) -> None:
    arguments = {"action": "create", "text": "once", "when": "in 30 minutes"}
    first = await tool.run(arguments, call(new_yorker, "America/New_York", message_id="m-1"))
    again = await tool.run(arguments, call(new_yorker, "America/New_York", message_id="m-1"))
    assert again["reminder_id"] == first["reminder_id"]
    assert len(await rest.list_cron_jobs(user_id=new_yorker["id"])) == 1


async def test_list_snooze_and_delete_act_only_for_the_envelopes_user(
    tool: ReminderTool, rest: RestClient, new_yorker: User
) -> None:
    created = await tool.run(
        {"action": "create", "text": "water plants", "when": "in 2 hours"},
        call(new_yorker, "America/New_York"),
    )
    other, _ = await rest.get_or_create_user(new_yorker["telegram_id"] + 1)
    with pytest.raises(ToolError):
        await tool.run(
            {"action": "delete", "reminder_id": created["reminder_id"]}, call(other, "UTC")
        )
    assert (await tool.run({"action": "list"}, call(other, "UTC")))["reminders"] == []

    listed = await tool.run({"action": "list"}, call(new_yorker, "America/New_York"))
    assert [r["text"] for r in listed["reminders"]] == ["water plants"]

    snoozed = await tool.run(
        {"action": "snooze", "reminder_id": created["reminder_id"], "minutes": 15},
        call(new_yorker, "America/New_York"),
    )
    run_at = datetime.fromisoformat((await rest.get_cron_job(created["reminder_id"]))["run_at"])
    assert abs(run_at - datetime.now(UTC) - timedelta(minutes=15)) < timedelta(seconds=10)
    assert snoozed["status"] == "snoozed"

    await tool.run({"action": "delete", "text": "water"}, call(new_yorker, "America/New_York"))
    assert (await rest.get_cron_job(created["reminder_id"]))["status"] == "cancelled"
