"""The calendar tool's actions against the real calendar service and the Google stand-in:
find, move, delete only after Yes (and only what was shown), free time across calendars,
several calendars; and what models write as arguments (corpus and hypothesis)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.calendar_tool import CalendarTool
from assistant.tests.support import tool_spec
from common.features.buttons import ButtonAction, confirm_buttons, decode
from common.features.confirmations import Confirmations, PendingDelete
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect
from tests.streams import raw
from tests.users import make_user

BERLIN = ZoneInfo("Europe/Berlin")
WORK = "work@group.calendar.google.com"
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def cal_rest(stack_rest: RestClient) -> RestClient:
    return stack_rest


@pytest.fixture
async def tool_services(
    calendar_process: ServiceProcess,
    cal_rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    redis_url: str,
    secrets: dict[str, str],
) -> AsyncIterator[ToolServices]:
    """What a tool of the assistant uses, its calendar service the shared one."""
    config = Settings(
        environment="test",
        redis_url=redis_url,
        google_calendar_service_url=calendar_process.url,
        service_api_token=secrets["SERVICE_API_TOKEN"],
    )
    async with client_session() as http:
        yield ToolServices(config, redis, names, cal_rest, http)


@pytest.fixture
def tool(tool_services: ToolServices) -> CalendarTool:
    return CalendarTool(tool_spec("calendar"), tool_services)


@pytest.fixture
async def user(
    api: httpx.AsyncClient, browser: Browser, cal_rest: RestClient, google: GoogleStandIn
) -> User:
    made = await make_user(cal_rest, "Europe/Berlin")
    assert (await connect(api, browser, str(made.id))).status_code == 200
    google.state.calendar(browser.email, "Europe/Berlin")
    google.state.add_calendar(browser.email, WORK, "Work")
    return made


def call(user: User, message_id: str = "m1") -> ToolCallOrigin:
    actor = Actor(str(user.id), str(user.id), 1, "Europe/Berlin", language="en")
    return ToolCallOrigin(actor, message_id, uuid.UUID(int=1), "0", 0)


def _day(offset: int) -> str:
    return (datetime.now(BERLIN).date() + timedelta(days=offset)).isoformat()


def _timed(summary: str, day: str, start: str, end: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "start": {"dateTime": f"{day}T{start}:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": f"{day}T{end}:00", "timeZone": "Europe/Berlin"},
    }


async def test_an_event_not_shown_first_is_neither_changed_nor_deleted(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    [event] = google.state.seed(browser.email, [_timed("Dentist", _day(2), "10:00", "11:00")])

    for action in ("update", "delete"):
        with pytest.raises(ToolError, match="not shown to the user"):
            await tool.run(
                {"action": action, "event_id": event["id"], "start": _day(3) + "T10:00"},
                call(user),
            )

    assert google.state.operations("events.patch") == []
    assert google.state.operations("events.delete") == []
    assert google.state.calendar(browser.email).events[event["id"]]["summary"] == "Dentist"


async def test_find_then_move_keeps_the_length(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    [event] = google.state.seed(browser.email, [_timed("Dentist", _day(2), "10:00", "10:45")])
    google.state.seed(browser.email, [_timed("Gym", _day(2), "18:00", "19:00")])

    found = await tool.run({"action": "find", "query": "dentist"}, call(user))
    moved = await tool.run(
        {"action": "update", "event_id": event["id"], "start": f"{_day(3)}T15:00"}, call(user)
    )

    assert [e["summary"] for e in found["events"]] == ["Dentist"]
    assert found["events"][0]["event_id"] == event["id"]
    assert moved["status"] == "updated"
    assert moved["start"].startswith(f"{_day(3)}T15:00") and moved["end"][11:16] == "15:45"


async def test_delete_only_asks_and_the_answer_gets_yes_no_buttons(
    tool: CalendarTool,
    user: User,
    browser: Browser,
    google: GoogleStandIn,
    redis: aioredis.Redis,
    names: Names,
) -> None:
    [event] = google.state.seed(browser.email, [_timed("Dentist", _day(2), "10:00", "11:00")], WORK)
    await tool.run({"action": "list", "time_min": _day(2), "time_max": _day(2)}, call(user))

    asked = await tool.run({"action": "delete", "event_id": event["id"]}, call(user, "m7"))

    assert asked["status"] == "confirmation_asked" and "Nothing is deleted" in asked["message"]
    assert event["id"] in google.state.other_calendars[browser.email][WORK].events
    assert google.state.operations("events.delete") == []
    [token] = [raw(t).decode() for t in await redis.lrange(names.confirmations_asked("m7"), 0, -1)]
    pending = await Confirmations(redis, names).peek(token)
    assert isinstance(pending, PendingDelete)
    assert (pending.event_id, pending.calendar_id, pending.summary) == (
        event["id"],
        WORK,
        "Dentist",
    )
    [[yes, no]] = confirm_buttons(token, "ru", deleting=True)
    said_yes, said_no = decode(yes.data or ""), decode(no.data or "")
    assert said_yes is not None and said_no is not None
    assert yes.text.startswith("🗑 Да") and said_yes.action == ButtonAction.CONFIRM_YES
    assert said_no.target == token


async def test_free_time_tomorrow_afternoon_across_two_calendars(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    day = _day(1)
    google.state.seed(browser.email, [_timed("Dentist", day, "13:00", "14:00")])
    google.state.seed(browser.email, [_timed("Review", day, "15:00", "16:30")], WORK)

    answer = await tool.run(
        {"action": "free_busy", "time_min": f"{day}T12:00", "time_max": f"{day}T18:00"},
        call(user),
    )

    assert answer["calendars_read"] == 2
    assert [(b["start"][11:16], b["end"][11:16]) for b in answer["busy"]] == [
        ("13:00", "14:00"),
        ("15:00", "16:30"),
    ]
    assert [(f["start"][11:16], f["end"][11:16]) for f in answer["free"]] == [
        ("12:00", "13:00"),
        ("14:00", "15:00"),
        ("16:30", "18:00"),
    ]


async def test_calendars_listed_default_chosen_and_create_with_guests_and_rule(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    listed = await tool.run({"action": "calendars"}, call(user))
    chosen = await tool.run({"action": "calendars", "calendar_id": WORK}, call(user))
    made = await tool.run(
        {
            "action": "create",
            "summary": "Team sync",
            "start": f"{_day(1)}T09:00",
            "attendees": "anna@example.com, bob@example.com",
            "recurrence": "FREQ=WEEKLY;COUNT=4",
        },
        call(user),
    )

    assert [c["name"] for c in listed["calendars"]] == [browser.email, "Work"]
    assert listed["default_calendar_id"] == browser.email
    assert chosen["status"] == "default_set" and chosen["default_calendar_id"] == WORK
    assert made["calendar_id"] == WORK and made["recurring"] is True
    assert made["attendees"] == ["anna@example.com", "bob@example.com"]
    [stored] = google.state.other_calendars[browser.email][WORK].events.values()
    assert stored["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=4"]
    # What create returned was shown: it may be changed right away.
    changed = await tool.run(
        {"action": "update", "event_id": made["event_id"], "summary": "Team sync (moved)"},
        call(user),
    )
    assert changed["summary"] == "Team sync (moved)"


#: Times as models write them: ISO with and without an offset, dates, phrases, nonsense.
TIME_CORPUS = [
    "2030-01-02",
    "2030-01-02T09:00",
    "2030-01-02T09:00:00",
    "2030-01-02T09:00:00+01:00",
    "2030-01-02T08:00:00Z",
    "2030-01-02 09:00",
    "tomorrow",
    "tomorrow 3pm",
    "завтра в 15:00",
    "next Friday",
    "someday",
    "3pm-ish",
    "2030-02-30",
    "2030-13-01T10:00",
    "",
    "NaN",
]


@pytest.mark.parametrize("when", TIME_CORPUS)
async def test_what_models_write_as_times_is_an_answer_or_a_polite_tool_error(
    tool: CalendarTool, user: User, when: str
) -> None:
    try:
        answer = await tool.run({"action": "free_busy", "time_min": when}, call(user))
    except ToolError as exc:
        assert str(exc) and "Traceback" not in str(exc)
    else:
        assert "free" in answer and "busy" in answer


@HYPOTHESIS
@given(event_id=st.text(max_size=60) | st.from_regex(r"\A[a-v0-9]{5,40}\Z"))
async def test_any_event_id_not_shown_is_refused_before_google(
    tool: CalendarTool, user: User, google: GoogleStandIn, event_id: str
) -> None:
    for action in ("update", "delete"):
        with pytest.raises(ToolError):
            await tool.run({"action": action, "event_id": event_id, "summary": "x"}, call(user))
    assert google.state.operations("events.patch") == []
    assert google.state.operations("events.delete") == []


@HYPOTHESIS
@given(
    arguments=st.dictionaries(
        st.sampled_from(
            [
                "action",
                "event_id",
                "query",
                "time_min",
                "time_max",
                "start",
                "attendees",
                "recurrence",
                "calendar_id",
                "summary",
            ]
        ),
        st.none()
        | st.integers()
        | st.text(max_size=30)
        | st.lists(st.text(max_size=10), max_size=3),
        max_size=6,
    )
)
async def test_any_arguments_are_an_answer_or_a_tool_error(
    tool: CalendarTool, user: User, arguments: dict[str, Any]
) -> None:
    try:
        answer = await tool.run(arguments, call(user))
    except ToolError:
        return
    assert isinstance(answer, dict)


async def test_a_trip_of_whole_days_is_made_and_lengthened_by_its_last_day(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    made = await tool.run(
        {"action": "create", "summary": "Trip", "start": "2030-03-01", "end": "2030-03-03"},
        call(user),
    )
    longer = await tool.run(
        {"action": "update", "event_id": made["event_id"], "end": "2030-03-05"}, call(user)
    )

    assert (made["kind"], made["last_day"]) == ("multi_day", "2030-03-03")
    assert (longer["start"], longer["last_day"]) == ("2030-03-01", "2030-03-05")
    stored = google.state.calendar(browser.email).events[made["event_id"]]
    assert stored["end"] == {"date": "2030-03-06"}  # exclusive, as Google keeps it


async def test_one_day_of_a_weekly_event_is_moved_and_the_rest_stay(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    weekly = _timed("Piano lesson", _day(1), "17:00", "18:00")
    google.state.seed(browser.email, [{**weekly, "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"]}])

    found = await tool.run({"action": "find", "query": "piano"}, call(user))
    first = found["events"][0]
    moved = await tool.run(
        {"action": "update", "event_id": first["event_id"], "start": f"{_day(2)}T17:00"},
        call(user),
    )
    again = await tool.run({"action": "find", "query": "piano"}, call(user))

    assert found["count"] == 3 and first["recurring"] is True
    assert moved["start"].startswith(f"{_day(2)}T17:00")
    assert [e["start"][:10] for e in again["events"]] == [_day(2), _day(8), _day(15)]


#: A move's new start as models write it, and the local start it means (None: refused).
MOVE_CORPUS = [
    ("2030-01-09T15:00", "2030-01-09T15:00:00+01:00"),
    ("2030-01-09T15:00:00", "2030-01-09T15:00:00+01:00"),
    ("2030-01-09T15:00:00+01:00", "2030-01-09T15:00:00+01:00"),
    ("2030-01-09T14:00:00Z", "2030-01-09T15:00:00+01:00"),
    ("2030-01-09T09:00:00-05:00", "2030-01-09T15:00:00+01:00"),
    ("someday soon", None),
    ("2030-02-30T15:00", None),
    ("25:00", None),
]


@pytest.mark.parametrize(("start", "meant"), MOVE_CORPUS)
async def test_a_moves_start_as_models_write_it(
    tool: CalendarTool,
    user: User,
    browser: Browser,
    google: GoogleStandIn,
    start: str,
    meant: str | None,
) -> None:
    [event] = google.state.seed(browser.email, [_timed("Dentist", "2030-01-08", "10:00", "10:30")])
    await tool.run({"action": "find", "query": "dentist", "time_min": "2030-01-01"}, call(user))

    if meant is None:
        with pytest.raises(ToolError):
            await tool.run(
                {"action": "update", "event_id": event["id"], "start": start}, call(user)
            )
        assert google.state.operations("events.patch") == []
        return
    moved = await tool.run(
        {"action": "update", "event_id": event["id"], "start": start}, call(user)
    )
    assert (moved["start"], moved["end"][11:16]) == (meant, "15:30")


@pytest.mark.parametrize(
    "bounds",
    [{"time_min": "2031-05-01"}, {"time_max": "2020-05-01"}, {}, {"time_max": "2020-05-01T10:00"}],
)
async def test_a_find_with_one_bound_or_none_looks_around_it(
    tool: CalendarTool, user: User, bounds: dict[str, str]
) -> None:
    found = await tool.run({"action": "find", "query": "dentist", **bounds}, call(user))
    assert found["count"] == 0 and found["from"] < found["to"]
