"""The whole calendar end to end: every service a real process, Telegram, Google and the
model the stand-ins. Move "dentist" from Tuesday to Wednesday; delete only after the Yes
button (once), or keep it on No; "when am I free tomorrow" across two calendars; in English
and in Russian."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sandbox.telegram_api import SentMessage
from tests.system import Person, System
from tests.test_buttons import answer_to, buttons_of, edited, labelled, tap
from tests.waiting import until

WORK = "work@group.calendar.google.com"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


async def connected(system: System, language: str) -> tuple[Person, str, ZoneInfo]:
    """A new person whose calendar is connected (both languages: no wording assumed), with
    a second calendar "Work"; their Google address and time zone."""
    person = Person.new("Dana" if language == "en" else "Дана", language=language)
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    await connect_in_chat(system, person, "/calendar", email)
    row = system.user_row(person)
    assert row is not None
    async with system.admin() as admin:
        changed = await admin.put(f"/api/users/{row['id']}", json={"timezone": BERLIN.key})
        assert changed.status_code == 200, changed.text
    zone = BERLIN
    system.google.state.calendar(email, BERLIN.key)
    system.google.state.add_calendar(email, WORK, "Work")
    return person, email, zone


async def connect_in_chat(system: System, person: Person, command: str, email: str) -> SentMessage:
    """`command`'s link consented as `email`, then confirmed in chat; the confirmation's
    answer."""
    offer = await system.say(person, command)
    link = system.link_to(offer, system.google.url)
    before = len(system.sent_to(person.id))
    assert (await system.consent(link, email)).status_code == 200
    await system.next_message(person.id, after=before, containing="/calendar confirm")
    return await system.say(person, "/calendar confirm")


def next_weekday(zone: ZoneInfo, weekday: int) -> date:
    """The next such day at least two days ahead (Monday is 0)."""
    day = datetime.now(zone).date() + timedelta(days=2)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def timed(summary: str, day: date, start: str, end: str, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"{day}T{start}:00", "timeZone": zone.key},
        "end": {"dateTime": f"{day}T{end}:00", "timeZone": zone.key},
    }


def stored_start(system: System, email: str, event_id: str, zone: ZoneInfo) -> datetime:
    event = system.google.state.calendar(email).events[event_id]
    return datetime.fromisoformat(event["start"]["dateTime"]).astimezone(zone)


@pytest.mark.parametrize(
    ("language", "text", "words"),
    [
        ("en", "move the dentist from Tuesday to Wednesday", "dentist"),
        ("ru", "перенеси зубного с вторника на среду", "зубного"),
    ],
)
async def test_moving_the_dentist_from_tuesday_to_wednesday(
    system: System, language: str, text: str, words: str
) -> None:
    person, email, zone = await connected(system, language)
    tuesday = next_weekday(zone, 1)
    wednesday = tuesday + timedelta(days=1)
    title = "Dentist" if language == "en" else "Зубной врач"
    [event] = system.google.state.seed(email, [timed(title, tuesday, "10:00", "10:45", zone)])
    query = "dentist" if language == "en" else "зубной"
    system.llm.call("calendar", {"action": "find", "query": query}, contains=words)
    move = {"action": "update", "event_id": event["id"], "start": f"{wednesday}T10:00"}
    system.llm.call("calendar", move, contains=words)

    answer = await system.say(person, text)

    found, moved = system.tool_results(words)
    assert [e["event_id"] for e in found["events"]] == [event["id"]]
    assert moved["status"] == "updated" and moved["start"].startswith(f"{wednesday}T10:00")
    start = stored_start(system, email, event["id"], zone)
    assert start == datetime.fromisoformat(f"{wednesday}T10:00").replace(tzinfo=zone)
    stored = system.google.state.calendar(email).events[event["id"]]
    end = datetime.fromisoformat(stored["end"]["dateTime"]).astimezone(zone)
    assert end - start == timedelta(minutes=45)
    assert answer.text


async def test_a_change_to_an_event_never_shown_is_refused(system: System) -> None:
    person, email, zone = await connected(system, "en")
    [event] = system.google.state.seed(
        email, [timed("Dentist", next_weekday(zone, 1), "10:00", "11:00", zone)]
    )
    system.llm.call(
        "calendar", {"action": "delete", "event_id": event["id"]}, contains="cancel the dentist"
    )

    answer = await system.say(person, "cancel the dentist")

    [refused] = system.tool_results("cancel the dentist")
    assert "not shown to the user" in refused["error"]
    assert buttons_of(answer) == []
    assert event["id"] in system.google.state.calendar(email).events


@pytest.mark.parametrize(
    ("language", "text", "yes", "done"),
    [
        ("en", "delete the dentist appointment", "Yes, delete", "Deleted"),
        ("ru", "удали запись к зубному", "Да, удалить", "Удалено"),
    ],
)
async def test_delete_only_after_the_yes_button_and_only_once(
    system: System, language: str, text: str, yes: str, done: str
) -> None:
    person, email, zone = await connected(system, language)
    day = next_weekday(zone, 1)
    [event] = system.google.state.seed(email, [timed("Dentist", day, "10:00", "11:00", zone)], WORK)
    words = text.split()[-1]
    system.llm.call("calendar", {"action": "find", "query": "dentist"}, contains=words)
    system.llm.call("calendar", {"action": "delete", "event_id": event["id"]}, contains=words)
    system.llm.reply(f"Delete Dentist on {day}, 10:00?", contains=words)

    question = await system.say(person, text)

    [_found, asked] = system.tool_results(words)
    assert asked["status"] == "confirmation_asked"
    events = system.google.state.other_calendars[email][WORK].events
    assert event["id"] in events  # asked, not deleted
    assert "Dentist" in question.text
    button = labelled(question, yes)
    deletes = len(system.google.state.operations("events.delete"))
    first = tap(system, person, question, button)
    assert await answer_to(system, first)
    await edited(system, person.id, question.message_id, done)
    assert event["id"] not in events
    again = tap(system, person, question, button)  # a double tap, the old keyboard
    await answer_to(system, again)
    assert len(system.google.state.operations("events.delete")) == deletes + 1


async def test_no_keeps_the_event(system: System) -> None:
    person, email, zone = await connected(system, "ru")
    [event] = system.google.state.seed(
        email, [timed("Dentist", next_weekday(zone, 1), "10:00", "11:00", zone)]
    )
    system.llm.call("calendar", {"action": "find", "query": "dentist"}, contains="зубному")
    system.llm.call("calendar", {"action": "delete", "event_id": event["id"]}, contains="зубному")

    deletes = len(system.google.state.operations("events.delete"))
    question = await system.say(person, "удали запись к зубному")
    query_id = tap(system, person, question, labelled(question, "Нет"))

    assert await answer_to(system, query_id) == "Оставлено."
    await edited(system, person.id, question.message_id, "Оставлено")
    assert event["id"] in system.google.state.calendar(email).events
    assert len(system.google.state.operations("events.delete")) == deletes


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "when am I free tomorrow afternoon?"), ("ru", "когда я свободен завтра днём?")],
)
async def test_when_am_i_free_tomorrow_across_two_calendars(
    system: System, language: str, text: str
) -> None:
    person, email, zone = await connected(system, language)
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    system.google.state.seed(email, [timed("Dentist", tomorrow, "13:00", "14:00", zone)])
    system.google.state.seed(email, [timed("Review", tomorrow, "13:30", "15:00", zone)], WORK)
    arguments = {
        "action": "free_busy",
        "time_min": f"{tomorrow}T12:00",
        "time_max": f"{tomorrow}T18:00",
    }
    words = text.split()[-1]
    system.llm.call("calendar", arguments, contains=words)

    answer = await system.say(person, text)

    [free] = system.tool_results(words)
    assert free["calendars_read"] == 2
    assert [(b["start"][11:16], b["end"][11:16]) for b in free["busy"]] == [("13:00", "15:00")]
    assert [(f["start"][11:16], f["end"][11:16]) for f in free["free"]] == [
        ("12:00", "13:00"),
        ("15:00", "18:00"),
    ]
    assert answer.text
    await until(lambda: system.google.state.operations("freebusy.query"))


async def test_two_google_accounts_answer_together_and_new_events_go_to_the_default(
    system: System,
) -> None:
    """Work and personal accounts connected one after the other (each confirmed in chat):
    "what's on tomorrow" reads both; a new event lands in the first connected (default)."""
    person, work, zone = await connected(system, "en")
    home = f"home-{uuid.uuid4().hex[:8]}@example.com"
    confirmed = await connect_in_chat(system, person, "/calendar add", home)
    assert home in confirmed.text
    system.google.state.calendar(home, zone.key)
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    system.google.state.seed(work, [timed("Standup", tomorrow, "09:00", "09:15", zone)])
    system.google.state.seed(home, [timed("Dentist", tomorrow, "17:00", "18:00", zone)])
    system.llm.call(
        "calendar",
        {"action": "list", "time_min": str(tomorrow), "time_max": str(tomorrow)},
        contains="on tomorrow",
    )

    answer = await system.say(person, "what's on tomorrow?")

    [listed] = system.tool_results("on tomorrow")
    assert [(e["summary"], e["account"]) for e in listed["events"]] == [
        ("Standup", work),
        ("Dentist", home),
    ]
    assert answer.text
    system.llm.call(
        "calendar",
        {"action": "create", "summary": "Lunch with Eva", "start": f"{tomorrow}T12:00"},
        contains="lunch",
    )

    await system.say(person, "put lunch with Eva tomorrow at noon")

    [made] = system.tool_results("lunch")
    assert (made["status"], made["account"], made["calendar_id"]) == ("created", work, work)
    assert [e["summary"] for e in system.google.state.calendar(work).events.values()] == [
        "Standup",
        "Lunch with Eva",
    ]
    assert [e["summary"] for e in system.google.state.calendar(home).events.values()] == ["Dentist"]
