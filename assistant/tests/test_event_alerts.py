"""Alerts before calendar events, against the real google_calendar_service (its Google
stand-in), rest_service and Redis: one alert per event, however often the sweep runs, however
many instances sweep, and not again when the event is moved; off by default; in the user's
language and local time."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from assistant.src.event_alerts import EventAlerts, due
from assistant.tests.support import running_until_stopped
from common.features.calendar_client import CalendarClient, Event
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.http_client import client_session
from common.infrastructure.queue_messages import OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import TO_CHANNELS, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect, sent_to
from tests.streams import stream_entries

INTERVAL = timedelta(seconds=1)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def rest(rest_process: ServiceProcess, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_process.url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def alerts(
    rest: RestClient,
    calendar_process: ServiceProcess,
    secrets: dict[str, str],
    redis: aioredis.Redis,
    names: Names,
) -> AsyncIterator[EventAlerts]:
    async with client_session() as http:
        calendar = CalendarClient(http, calendar_process.url, secrets["SERVICE_API_TOKEN"], 30)
        yield EventAlerts(rest, calendar, redis, names, INTERVAL)


async def new_user(rest: RestClient, language: str = "en", minutes: int = 10) -> TelegramUser:
    user, _ = await rest.get_or_create_user(random.randint(10**8, 10**10), language=language)
    updated = await rest.update_user(user.id, timezone="Europe/Berlin", event_alert_minutes=minutes)
    return TelegramUser.model_validate(updated)


def timed(summary: str, start: datetime, minutes: int = 30) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "summary": summary,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": end.isoformat()},
    }


async def alerts_to(
    redis: aioredis.Redis, names: Names, user: TelegramUser
) -> list[OutgoingMessage]:
    return await sent_to(redis, names, user.telegram_id)


async def test_one_alert_per_event_even_when_it_moves(
    alerts: EventAlerts,
    rest: RestClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    user = await new_user(rest)
    await connect(api, browser, str(user.id))
    now = datetime.now(UTC).replace(microsecond=0)
    [soon, later] = google.state.seed(
        browser.email,
        [timed("Dentist", now + timedelta(minutes=5)), timed("Gym", now + timedelta(hours=2))],
    )
    await alerts.sweep(datetime.now(UTC))
    await alerts.sweep(datetime.now(UTC))
    [alert] = await alerts_to(redis, names, user)
    assert alert.kind == OutgoingKind.NOTIFICATION
    local = (now + timedelta(minutes=5)).astimezone(BERLIN)
    assert alert.text == f"🔔 In 5 min, at {local:%H:%M}: Dentist"

    calendar = google.state.calendar(browser.email)
    google.state.patch(calendar, soon["id"], timed("Dentist", now + timedelta(minutes=8)))
    await alerts.sweep(datetime.now(UTC))
    assert len(await alerts_to(redis, names, user)) == 1, "the moved event was announced again"

    # The gym moved into the lead before its alert: announced once, at its new time.
    google.state.patch(calendar, later["id"], timed("Gym", now + timedelta(minutes=9)))
    await alerts.sweep(datetime.now(UTC))
    await alerts.sweep(datetime.now(UTC))
    texts = [m.text for m in await alerts_to(redis, names, user)]
    moved = (now + timedelta(minutes=9)).astimezone(BERLIN)
    assert texts[1:] == [f"🔔 In 9 min, at {moved:%H:%M}: Gym"]


async def test_a_person_without_telegram_is_alerted_where_they_last_wrote(
    alerts: EventAlerts,
    rest: RestClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    number = f"49{random.randint(10**10, 10**11)}"
    user, _ = await rest.get_or_create_user_by_identity(Channel.WHATSAPP, number, language="en")
    await rest.update_user(user.id, timezone="Europe/Berlin", event_alert_minutes=10)
    await connect(api, browser, str(user.id))
    now = datetime.now(UTC).replace(microsecond=0)
    google.state.seed(browser.email, [timed("Dentist", now + timedelta(minutes=5))])

    await alerts.sweep(datetime.now(UTC))
    assert await channel_alerts(redis, names, number) == [], "nowhere to send it yet"

    home = {"channel": "whatsapp", "channel_chat_id": number}
    await redis.set(names.channel_home(str(user.id)), json.dumps(home))
    await alerts.sweep(datetime.now(UTC))
    await alerts.sweep(datetime.now(UTC))
    [alert] = await channel_alerts(redis, names, number)
    assert (alert.channel, alert.chat_id) == (
        Channel.WHATSAPP,
        channel_chat_number(Channel.WHATSAPP, number),
    )
    assert alert.text.startswith("🔔 In 5 min") and alert.text.endswith("Dentist")


async def channel_alerts(redis: aioredis.Redis, names: Names, own: str) -> list[OutgoingMessage]:
    entries = await stream_entries(redis, names.stream(TO_CHANNELS))
    found = [OutgoingMessage.model_validate_json(fields[b"data"]) for _, fields in entries]
    return [m for m in found if m.channel_chat_id == own]


async def test_two_instances_sweeping_at_once_send_one_alert_in_russian(
    alerts: EventAlerts,
    rest: RestClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    redis: aioredis.Redis,
    names: Names,
    calendar_process: ServiceProcess,
    secrets: dict[str, str],
) -> None:
    user = await new_user(rest, language="ru", minutes=15)
    await connect(api, browser, str(user.id))
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=12)
    google.state.seed(browser.email, [timed("Стоматолог", start)])
    async with client_session() as http:
        other_calendar = CalendarClient(
            http, calendar_process.url, secrets["SERVICE_API_TOKEN"], 30
        )
        other = EventAlerts(rest, other_calendar, redis, names, INTERVAL)
        now = datetime.now(UTC)
        await asyncio.gather(*(a.sweep(now) for a in (alerts, other, alerts, other)))
    [alert] = await alerts_to(redis, names, user)
    assert alert.text == f"🔔 Через 12 мин, в {start.astimezone(BERLIN):%H:%M}: Стоматолог"


async def test_off_by_default_and_a_calendar_not_connected_is_skipped(
    alerts: EventAlerts,
    rest: RestClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    quiet = await new_user(rest, minutes=0)
    await connect(api, browser, str(quiet.id))
    google.state.seed(browser.email, [timed("Call", datetime.now(UTC) + timedelta(minutes=3))])
    unconnected = await new_user(rest, minutes=30)
    await alerts.sweep(datetime.now(UTC))
    assert await alerts_to(redis, names, quiet) == []
    assert await alerts_to(redis, names, unconnected) == []


NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def _event(start: datetime | str, *, all_day: bool = False, status: str = "confirmed") -> Event:
    text = start if isinstance(start, str) else start.isoformat()
    return Event(
        id=uuid.uuid4().hex,
        summary="x",
        start=text,
        end=text,
        last_day=text[:10],
        all_day=all_day,
        multi_day=False,
        kind="all_day" if all_day else "timed",
        event_type="default",
        status=status,
        recurring=False,
    )


@settings(max_examples=100, deadline=None)
@given(
    offset=st.integers(min_value=-3 * 3600, max_value=3 * 3600),
    lead=st.integers(min_value=1, max_value=1440),
)
def test_due_is_exactly_the_events_starting_within_the_lead(offset: int, lead: int) -> None:
    start = NOW + timedelta(seconds=offset)
    found = due([_event(start)], NOW, timedelta(minutes=lead))
    expected = NOW < start <= NOW + timedelta(minutes=lead)
    assert [s for _, s in found] == ([start] if expected else [])


def test_all_day_cancelled_and_unreadable_starts_are_never_due() -> None:
    soon = NOW + timedelta(minutes=5)
    events = [
        _event("2030-01-07", all_day=True),
        _event(soon, status="cancelled"),
        _event("not a time"),
        _event(soon.replace(tzinfo=None)),
        _event(soon),
    ]
    assert [start for _, start in due(events, NOW, timedelta(minutes=10))] == [soon]


async def test_a_sweep_that_fails_is_logged_and_tried_again_until_stopped(
    redis: aioredis.Redis, names: Names
) -> None:
    """rest_service away: each sweep fails, is logged, and the loop waits and tries again."""
    async with (
        RestClient("http://127.0.0.1:9", "unused", retries=0) as away,
        client_session() as http,
    ):
        calendar = CalendarClient(http, "http://127.0.0.1:9", "unused", 1)
        alerts = EventAlerts(away, calendar, redis, names, timedelta(milliseconds=20))
        with capture_logs() as logs:
            async with running_until_stopped(alerts.run, logs) as logged:
                await logged("event_alerts_failed", 2)
