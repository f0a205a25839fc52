"""What the model reads back from the calendar tool when something is wrong, against the real
calendar service and the Google stand-in: arguments of the wrong shape name their field,
Google down is said to be Google, an event deleted meanwhile is to be found again, a refused
guest names the field; and what it reads when all goes well carries the place of the event."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.src.tools.base import ToolError
from assistant.src.tools.calendar_tool import CalendarTool
from common.infrastructure.wire import User
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser

# The calendar tool's fixtures (services, a connected user with a Google account of its own).
from tests.test_calendar_tool_actions import _day, _timed, cal_rest, call, tool, tool_services, user

__all__ = ["cal_rest", "tool", "tool_services", "user"]


async def shown(tool: CalendarTool, user: User, query: str) -> dict[str, Any]:
    """The event found by `query`, as the model was shown it (it may then be changed)."""
    found = await tool.run({"action": "find", "query": query}, call(user))
    (event,) = found["events"]
    return event


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"action": "list", "time_min": 20300102}, "'time_min' must be a string"),
        (
            {"action": "create", "summary": "Sync", "start": "2030-01-02T09:00", "attendees": 5},
            "'attendees' must be a list of email addresses",
        ),
        (
            {"action": "create", "summary": "Sync", "start": "2030-01-02T09:00", "recurrence": 7},
            "'recurrence' must be an RRULE",
        ),
    ],
)
async def test_an_argument_of_the_wrong_shape_names_its_field(
    tool: CalendarTool, user: User, google: GoogleStandIn, arguments: dict[str, Any], named: str
) -> None:
    with pytest.raises(ToolError, match=named):
        await tool.run(arguments, call(user))
    assert google.state.operations("events.insert") == []


async def test_an_event_is_shown_with_its_place_and_an_update_needs_a_change(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    google.state.seed(
        browser.email, [{**_timed("Dentist", _day(2), "10:00", "11:00"), "location": "Main St 5"}]
    )
    event = await shown(tool, user, "Dentist")
    assert event["location"] == "Main St 5"

    with pytest.raises(ToolError, match="needs something to change: summary, start"):
        await tool.run({"action": "update", "event_id": event["event_id"]}, call(user))
    invited = await tool.run(
        {"action": "update", "event_id": event["event_id"], "attendees": ["ann@example.com"]},
        call(user),
    )
    assert invited["attendees"] == ["ann@example.com"]


async def test_an_event_deleted_in_google_meanwhile_is_to_be_found_again(
    tool: CalendarTool, user: User, browser: Browser, google: GoogleStandIn
) -> None:
    [seeded] = google.state.seed(browser.email, [_timed("Gym", _day(3), "18:00", "19:00")])
    event = await shown(tool, user, "Gym")
    calendar = google.state.calendar(browser.email)
    google.state.delete(calendar, seeded["id"])

    with pytest.raises(ToolError, match="no such event or calendar any more"):
        await tool.run(
            {"action": "update", "event_id": event["event_id"], "summary": "Gym (late)"},
            call(user),
        )


async def test_google_down_is_said_to_be_google_for_the_model_to_pass_on(
    tool: CalendarTool, user: User, google: GoogleStandIn
) -> None:
    google.state.queue_fault("events.list", 503, "backendError", count=50)
    with pytest.raises(ToolError, match="Google Calendar is unavailable right now"):
        await tool.run({"action": "list"}, call(user))


async def test_a_guest_google_refuses_is_an_error_naming_why(
    tool: CalendarTool, user: User, google: GoogleStandIn
) -> None:
    with pytest.raises(ToolError) as refused:
        await tool.run(
            {
                "action": "create",
                "summary": "Sync",
                "start": f"{_day(1)}T09:00",
                "attendees": ["not an address"],
            },
            call(user),
        )
    assert "(attendees: " in str(refused.value)
    assert "not an email address: 'not an address'" in str(refused.value)
    assert google.state.operations("events.insert") == []
