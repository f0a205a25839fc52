"""The `reminder` tool's briefings (assistant_prompt jobs the user owns) and event-alert
setting, against the real rest_service: created by words in English and Russian, listed apart
from reminders, changed and cancelled by chat, and only ever the envelope user's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.reminder_tool import ReminderTool
from assistant.tests.support import tool_spec
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, CronJobType, TelegramUser

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[ReminderTool]:
    settings = Settings(environment="test", redis_url=redis_url, default_timezone="Europe/Moscow")
    async with client_session() as http:
        yield ReminderTool(tool_spec("reminder"), ToolServices(settings, redis, names, rest, http))


@pytest.fixture
async def berliner(rest: RestClient, user: TelegramUser) -> TelegramUser:
    return TelegramUser.model_validate(await rest.update_user(user.id, timezone="Europe/Berlin"))


def call(user: TelegramUser, chat_id: int | None = None) -> ToolCallOrigin:
    actor = Actor(
        user_id=str(user.id),
        conversation_key=str(user.id),
        chat_id=chat_id or int(user.telegram_id),
        timezone="Europe/Berlin",
        is_group=chat_id is not None and chat_id < 0,
    )
    return ToolCallOrigin(actor, str(uuid.uuid4()), uuid.UUID(int=1), "0", 0)


async def test_every_weekday_at_8_makes_a_briefing_owned_by_the_user(
    tool: ReminderTool, rest: RestClient, berliner: TelegramUser
) -> None:
    result = await tool.run(
        {
            "action": "create",
            "kind": "briefing",
            "text": "my agenda and the weather in Berlin",
            "recurrence": "every weekday at 8",
        },
        call(berliner),
    )
    job = await rest.get_cron_job(result["reminder_id"])
    assert job.type == CronJobType.assistant_prompt
    assert (job.prompt, job.text) == ("my agenda and the weather in Berlin", None)
    assert (job.cron_expression, job.timezone) == ("0 8 * * 1-5", "Europe/Berlin")
    assert (job.user_id, job.chat_id) == (berliner.id, berliner.telegram_id)
    assert result["kind"] == "briefing"
    assert result["confirmation"].startswith("Briefing set every weekday at 08:00")
    assert job.next_run_at is not None
    assert f"{job.next_run_at.astimezone(BERLIN):%H:%M}" == "08:00"


async def test_a_russian_briefing_and_the_lists_kept_apart(
    tool: ReminderTool, rest: RestClient, berliner: TelegramUser
) -> None:
    made = await tool.run(
        {
            "action": "create",
            "kind": "briefing",
            "text": "мои дела на сегодня и погода в Берлине",
            "recurrence": "по будням в 8",
        },
        call(berliner),
    )
    await tool.run({"action": "create", "text": "tea", "when": "in 5 minutes"}, call(berliner))
    briefings = await tool.run({"action": "list", "kind": "briefing"}, call(berliner))
    reminders = await tool.run({"action": "list"}, call(berliner))
    assert [b["reminder_id"] for b in briefings["briefings"]] == [made["reminder_id"]]
    assert [r["text"] for r in reminders["reminders"]] == ["tea"]
    job = await rest.get_cron_job(made["reminder_id"])
    assert job.cron_expression == "0 8 * * 1-5"


async def test_update_by_words_changes_the_time_and_the_request(
    tool: ReminderTool, rest: RestClient, berliner: TelegramUser
) -> None:
    made = await tool.run(
        {
            "action": "create",
            "kind": "briefing",
            "text": "agenda and weather",
            "recurrence": "every weekday at 8",
        },
        call(berliner),
    )
    changed = await tool.run(
        {
            "action": "update",
            "kind": "briefing",
            "text": "agenda",
            "recurrence": "every day at 7:30",
            "new_text": "agenda, weather and news",
        },
        call(berliner),
    )
    job = await rest.get_cron_job(made["reminder_id"])
    assert (job.cron_expression, job.prompt) == ("30 7 * * *", "agenda, weather and news")
    assert "07:30" in changed["confirmation"]
    with pytest.raises(ToolError, match="nothing to change"):
        await tool.run({"action": "update", "reminder_id": str(job.id)}, call(berliner))


async def test_cancel_by_chat_and_not_someone_elses(
    tool: ReminderTool, rest: RestClient, berliner: TelegramUser
) -> None:
    made = await tool.run(
        {"action": "create", "kind": "briefing", "text": "weather", "recurrence": "daily at 7"},
        call(berliner),
    )
    stranger, _ = await rest.get_or_create_user(telegram_id=berliner.telegram_id + 1)
    with pytest.raises(ToolError, match="has no reminder"):
        await tool.run({"action": "delete", "reminder_id": made["reminder_id"]}, call(stranger))
    done = await tool.run(
        {"action": "delete", "kind": "briefing", "text": "weather"}, call(berliner)
    )
    assert done == {"status": "cancelled", "reminder_id": made["reminder_id"], "text": "weather"}
    job = await rest.get_cron_job(made["reminder_id"])
    assert job.status == CronJobStatus.cancelled


async def test_event_alerts_are_set_read_and_turned_off(
    tool: ReminderTool, rest: RestClient, berliner: TelegramUser
) -> None:
    assert (await tool.run({"action": "event_alerts"}, call(berliner))) == {
        "event_alert_minutes": 0
    }
    on = await tool.run({"action": "event_alerts", "minutes": 15}, call(berliner))
    assert "15 minutes" in on["confirmation"]
    assert (await rest.get_user(berliner.id)).event_alert_minutes == 15
    await tool.run({"action": "event_alerts", "minutes": 0}, call(berliner))
    assert (await rest.get_user(berliner.id)).event_alert_minutes == 0
    with pytest.raises(ToolError, match="private chat"):
        await tool.run({"action": "event_alerts", "minutes": 5}, call(berliner, chat_id=-100))


async def test_an_unknown_kind_is_a_clear_error(tool: ReminderTool, berliner: TelegramUser) -> None:
    with pytest.raises(ToolError, match="kind must be"):
        await tool.run(
            {"action": "create", "kind": "memo", "text": "x", "when": "in 5 minutes"},
            call(berliner),
        )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minutes=st.integers(min_value=-5000, max_value=5000))
async def test_any_alert_lead_is_stored_in_range_or_refused(
    tool: ReminderTool, rest: RestClient, berliner: TelegramUser, minutes: int
) -> None:
    try:
        await tool.run({"action": "event_alerts", "minutes": minutes}, call(berliner))
    except ToolError:
        assert not 0 <= minutes <= 1440
        return
    assert (await rest.get_user(berliner.id)).event_alert_minutes == minutes


async def test_a_zero_minute_snooze_is_refused_not_read_as_the_default(
    tool: ReminderTool, berliner: TelegramUser
) -> None:
    """The schema's floor is 0 for event_alerts' "off"; a snooze still needs a minute."""
    await tool.run({"action": "create", "text": "tea", "when": "in 5 minutes"}, call(berliner))
    with pytest.raises(ToolError, match="between 1 and"):
        await tool.run({"action": "snooze", "text": "tea", "minutes": 0}, call(berliner))
