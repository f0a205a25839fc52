"""Briefings people set up by talking, and alerts before calendar events, end to end: every
service a real process, Telegram, Google, the weather API and the model the sandbox stand-ins.
A briefing made in chat fires (its time moved near, as the reminders' tests do) with the
agenda and the weather in one message, once; an event alert comes once though the event was
moved; /briefings cancels by button; in English and Russian."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.llm_server import Step, ToolCallStep
from sandbox.telegram_api import SentMessage
from tests.system import Person, System
from tests.test_buttons import answer_to, buttons_of, edited, labelled, later_reminder_fired, tap
from tests.waiting import until

AGENDA_AND_WEATHER = [
    ToolCallStep("calendar", {"action": "list"}),
    ToolCallStep("weather", {"location": "Berlin"}),
]


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


def timed(summary: str, start: datetime, minutes: int = 30) -> dict[str, Any]:
    end = start + timedelta(minutes=minutes)
    return {
        "summary": summary,
        "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": end.isoformat()},
    }


async def ready(system: System, person: Person) -> str:
    """`person` in Berlin with a calendar connected; their Google account."""
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    assert "Europe/Berlin" in (await system.say(person, "/timezone Europe/Berlin")).text
    offer = await system.say(person, "/calendar")
    link = system.link_to(offer, system.google.url)
    before = len(system.sent_to(person.id))
    assert (await system.consent(link, email)).status_code == 200
    await system.next_message(person.id, after=before, containing="/calendar confirm")
    confirmed = await system.say(person, "/calendar confirm")
    assert email in confirmed.text and confirmed.text.startswith("✅"), confirmed.text
    return email


def briefing_of(system: System, person: Person) -> tuple[str, str]:
    [(job_id, cron)] = system.query(
        "SELECT j.id, j.cron_expression FROM cron_jobs j JOIN users u ON u.id = j.user_id "
        "WHERE u.telegram_id = %s AND j.type = 'assistant_prompt' AND j.status = 'active'",
        person.id,
    )
    return str(job_id), cron


async def fire_soon(system: System, job_id: str, seconds: int = 3) -> datetime:
    """The briefing's next time moved to a few seconds from now (a one-off run_at)."""
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
    async with system.admin() as admin:
        moved = await admin.put(
            f"/api/cron-jobs/{job_id}", json={"run_at": at.isoformat(), "cron_expression": None}
        )
    assert moved.status_code == 200, moved.text
    return at


def sweeps_since(system: System, moment: datetime) -> set[datetime]:
    """The event alert sweeps that began after `moment`: each looks ahead from its own start
    (the `timeMin` of its calendar reads); the next begins when one is done."""
    starts = (s.params.get("timeMin") for s in system.google.state.operations("events.list"))
    return {t for t in map(_moment, starts) if t is not None and t > moment}


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def containing(system: System, person: Person, text: str) -> list[SentMessage]:
    return [m for m in system.sent_to(person.id) if text in m.text]


@pytest.mark.parametrize(
    ("language", "asked", "repeats", "framed", "rule"),
    [
        (
            "en",
            "every weekday at 8 send me my agenda and the weather in Berlin",
            "every weekday at 8",
            "Scheduled briefing the user set up",
            "every weekday at 08:00",
        ),
        (
            "ru",
            "по будням в 8 присылай мои дела и погоду в Берлине",
            "по будням в 8",
            "Сводка по расписанию, которую настроил пользователь",
            "по будням в 08:00",
        ),
    ],
)
@pytest.mark.timeout(180)
async def test_a_briefing_made_in_chat_fires_with_agenda_and_weather_once(
    system: System, language: str, asked: str, repeats: str, framed: str, rule: str
) -> None:
    person = Person.new("Lena", language=language)
    email = await ready(system, person)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    system.google.state.seed(email, [timed("Dentist", soon)])
    what = asked.split(" ", 4)[-1]
    create = {"action": "create", "kind": "briefing", "text": what, "recurrence": repeats}
    system.llm.call("reminder", create, contains=asked)

    confirmed = await system.say(person, asked)

    assert "Briefing set" in confirmed.text, confirmed.text
    job_id, cron = briefing_of(system, person)
    assert cron == "0 8 * * 1-5"
    listing = await system.say(person, "/briefings")
    assert f"{what} ({rule})" in listing.text, listing.text

    system.llm.script(Step(tool_calls=AGENDA_AND_WEATHER, contains=framed))
    before = len(system.sent_to(person.id))
    due = await fire_soon(system, job_id)
    briefing = await system.next_message(person.id, after=before, containing="Weather in")
    assert "Dentist" in briefing.text and "Berlin" in briefing.text
    assert briefing.wall >= due.timestamp() - 0.5
    [request] = system.requests_about(framed)[:1]
    assert what in str((request.last("user") or {}).get("content"))
    assert await until(lambda: system.reminder_runs(person)) == ["on_time"]
    await later_reminder_fired(system, person)  # a second briefing would have come before
    assert len(containing(system, person, "Weather in")) == 1


@pytest.mark.timeout(120)
async def test_a_briefing_is_cancelled_by_its_button_in_briefings(system: System) -> None:
    person = Person.new("Olga", language="ru")
    asked = "каждый день в 7 присылай погоду в Берлине"
    create = {"action": "create", "kind": "briefing", "text": "погода в Берлине"}
    system.llm.call("reminder", {**create, "recurrence": "каждый день в 7"}, contains=asked)
    await system.say(person, asked)
    listing = await system.say(person, "/briefings")
    assert "Ваши сводки" in listing.text and "погода в Берлине" in listing.text
    cancel = labelled(listing, "погода в Берлине")

    query = tap(system, person, listing, cancel)

    assert await answer_to(system, query) == "Сводка отменена."
    after = await edited(system, person.id, listing.message_id, "У вас нет сводок")
    assert buttons_of(after) == []
    assert system.query(
        "SELECT j.status FROM cron_jobs j JOIN users u ON u.id = j.user_id "
        "WHERE u.telegram_id = %s AND j.type = 'assistant_prompt'",
        person.id,
    ) == [("cancelled",)]


@pytest.mark.parametrize(
    ("language", "asked", "alert"),
    [
        ("en", "remind me 1 minute before each event", "🔔 In 1 min"),
        ("ru", "напоминай за 1 минуту до каждого события", "🔔 Через 1 мин"),
    ],
)
@pytest.mark.timeout(150)
async def test_an_event_alert_fires_once_though_the_event_moved(
    system: System, language: str, asked: str, alert: str
) -> None:
    person = Person.new("Ivan", language=language)
    email = await ready(system, person)
    system.llm.call("reminder", {"action": "event_alerts", "minutes": 1}, contains=asked)
    answer = await system.say(person, asked)
    assert "1 minutes before each calendar event" in answer.text, answer.text

    # Outside the minute's lead for the first sweeps (one a second), within it a few seconds on.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=65)
    [event] = system.google.state.seed(email, [timed("Standup", start)])
    before = len(system.sent_to(person.id))
    first = await system.next_message(person.id, after=before, containing="🔔", timeout=40)
    assert first.text.startswith(alert) and "Standup" in first.text
    assert first.wall >= start.timestamp() - 62

    # Moved 40 s later: still within the minute's lead, and never announced again.
    calendar = system.google.state.calendar(email)
    moved = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=45)
    system.google.state.patch(calendar, event["id"], timed("Standup", moved))
    patched = datetime.now(UTC)
    # The second sweep begins once the first after the patch, which saw the moved event, is done.
    await until(lambda: len(sweeps_since(system, patched)) >= 2, timeout=30, message="2 sweeps")
    # An alert a sweep queued goes out before a later answer in the same chat.
    assert "later" in (await system.say(person, "anything later?")).text
    assert len(containing(system, person, "🔔")) == 1
