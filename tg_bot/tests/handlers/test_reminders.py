"""/reminders: the user's upcoming reminders with their local times, and how to cancel one
(the real tg_bot process, the Telegram stand-in, rest_service)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from ops.processes import ServiceProcess, Stack
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.reminders import MakeReminder

BOT_ENV = {
    "POLL_TIMEOUT_SECONDS": "1",
    "POLL_BACKOFF_INITIAL_SECONDS": "0.05",
    "SEND_LIMIT_CHAT_PER_SECOND": "100",
    "SEND_RETRY_BACKOFF_SECONDS": "0.05",
    "USER_CACHE_SECONDS": "0",
    "SHUTDOWN_GRACE_SECONDS": "1",
}


@pytest.fixture
async def telegram(
    stack: Stack, secrets: dict[str, str], rest_service: ServiceProcess
) -> AsyncIterator[TelegramStandIn]:
    """The stand-in, and a tg_bot process on the rest_service `make_reminder` writes to."""
    async with TelegramStandIn(secrets["TELEGRAM_TOKEN"]).running() as api:
        env = {**BOT_ENV, "TELEGRAM_API_BASE": api.url, "REST_SERVICE_URL": rest_service.url}
        await asyncio.to_thread(stack.start, "tg_bot", env=env)
        yield api


async def ask(
    telegram: TelegramStandIn, user: TelegramUser, text: str, language: str = "en"
) -> str:
    sender = build.user(user.telegram_id, "Ann", language_code=language)
    before = len(telegram.sent_to(user.telegram_id))
    telegram.inject(build.private_text(sender, text))
    sent = await telegram.wait_sent(before + 1, user.telegram_id, timeout=15)
    return sent[-1].text


async def test_reminders_lists_local_times_and_cancels_one(
    telegram: TelegramStandIn, rest: RestClient, user: TelegramUser, make_reminder: MakeReminder
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime.now(berlin)
    soon = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    later = now + timedelta(hours=2)  # the standup comes after the dentist, whatever the day
    await make_reminder("dentist", run_at=soon)
    standup = await make_reminder("standup", cron_expression=f"{later.minute} {later.hour} * * 1-5")

    listing = await ask(telegram, user, "/reminders")
    day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][soon.weekday()]
    assert "Your reminders (Europe/Berlin time):" in listing
    assert f"1. {day} {soon:%d.%m %H:%M} — dentist" in listing
    assert f"— standup (every weekday at {later:%H:%M})" in listing
    assert "/reminders cancel NUMBER" in listing

    cancelled = await ask(telegram, user, "/reminders cancel 2")
    assert cancelled == "Cancelled the reminder: standup"
    assert (await rest.get_cron_job(standup.id)).status == "cancelled"
    assert "standup" not in await ask(telegram, user, "/reminders")


async def test_repeating_reminders_are_described_in_the_users_language(
    telegram: TelegramStandIn, make_reminder: MakeReminder, user: TelegramUser
) -> None:
    """`common.features.schedule.describe`, the words the assistant confirms with; an unusual
    schedule is shown as its cron expression, as code."""
    await make_reminder("планёрка", cron_expression="0 9 * * 1-5")
    await make_reminder("бассейн", cron_expression="30 7 * * 1,3")
    await make_reminder("отчёт", cron_expression="0 10 1 * *")
    await make_reminder("odd", cron_expression="0 9 1-7 * 1")
    await make_reminder(
        "полив",
        cron_expression="DTSTART:20270105T080000 "
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0",
    )

    listing = await ask(telegram, user, "/reminders", language="ru")
    assert "полив (каждый второй вторник в 08:00, начиная с 5 января 2027)" in listing
    assert "планёрка (по будням в 09:00)" in listing
    assert "бассейн (по понедельникам и средам в 07:30)" in listing
    assert "отчёт (каждый месяц 1-го числа в 10:00)" in listing
    assert "odd (по расписанию cron 0 9 1-7 * 1)" in listing
    listing = await ask(telegram, user, "/reminders", language="en")
    assert "полив (every other Tuesday at 08:00, starting 5 January 2027)" in listing
