"""The stand-in's events.patch, events.delete, freeBusy.query and calendarList.list: served
at the discovery document's paths with its HTTP methods, answering its response schemas."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox.google_api import GoogleStandIn, create_app
from sandbox.google_schema import discovery_document, method, validate
from sandbox.google_state import AccessToken

EMAIL = "user@example.com"
WORK = "work@group.calendar.google.com"
#: (discovery resource, method, the stand-in's route name)
METHODS = [
    ("events", "patch", "events.patch"),
    ("events", "delete", "events.delete"),
    ("events", "get", "events.get"),
    ("freebusy", "query", "freebusy.query"),
    ("calendarList", "list", "calendarList.list"),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.mark.parametrize(("resource", "name", "route"), METHODS)
def test_each_route_is_where_discovery_says_with_its_method(
    resource: str, name: str, route: str
) -> None:
    described = method(resource, name)
    served = create_app().router[route]
    base = discovery_document()["servicePath"]  # "calendar/v3/"
    assert _shape(served.canonical) == _shape(f"/{base}{described['path']}")
    routes = [r for r in served if r.method == described["httpMethod"]]
    assert routes, f"{route} is not served with {described['httpMethod']}"


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    async with GoogleStandIn() as stand_in:
        stand_in.state.tokens["t0ken"] = AccessToken(EMAIL, [], 4_000_000_000, None)
        stand_in.state.calendar(EMAIL, "Europe/Berlin")
        stand_in.state.add_calendar(EMAIL, WORK, "Work")
        yield stand_in


@pytest.fixture
async def http(google: GoogleStandIn) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": "Bearer t0ken"}
    async with httpx.AsyncClient(base_url=f"{google.url}/calendar/v3", headers=headers) as c:
        yield c


def _response(resource: str, name: str) -> str:
    return str(method(resource, name)["response"]["$ref"])


async def test_patch_delete_free_busy_and_the_list_answer_google_s_schemas(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    [event] = google.state.seed(
        EMAIL,
        [
            {
                "summary": "Dentist",
                "start": {"dateTime": "2025-06-03T10:00:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2025-06-03T11:00:00", "timeZone": "Europe/Berlin"},
            }
        ],
    )
    google.state.seed(
        EMAIL,
        [
            {
                "summary": "Review",
                "start": {"dateTime": "2025-06-03T10:30:00+02:00"},
                "end": {"dateTime": "2025-06-03T12:00:00+02:00"},
            }
        ],
        WORK,
    )
    path = f"/calendars/primary/events/{event['id']}"

    patched = await http.patch(path, json={"summary": "Dentist (moved)", "location": "Main St"})
    listed = await http.get("/users/me/calendarList")
    busy = await http.post(
        "/freeBusy",
        json={
            "timeMin": "2025-06-03T00:00:00Z",
            "timeMax": "2025-06-04T00:00:00Z",
            "timeZone": "Europe/Berlin",
            "items": [{"id": "primary"}, {"id": WORK}, {"id": "nobody@x.com"}],
        },
    )
    deleted = await http.delete(path)
    again = await http.delete(path)
    never = await http.delete("/calendars/primary/events/abcdefgh")

    validate(_response("events", "patch"), patched.json())
    assert patched.json()["summary"] == "Dentist (moved)" and patched.json()["sequence"] == 1
    validate(_response("calendarList", "list"), listed.json())
    assert [(c["id"], c.get("primary", False)) for c in listed.json()["items"]] == [
        (EMAIL, True),
        (WORK, False),
    ]
    validate(_response("freebusy", "query"), busy.json())
    calendars = busy.json()["calendars"]
    assert calendars["primary"]["busy"] == [
        {"start": "2025-06-03T10:00:00+02:00", "end": "2025-06-03T11:00:00+02:00"}
    ]
    assert calendars[WORK]["busy"][0]["end"] == "2025-06-03T12:00:00+02:00"
    assert calendars["nobody@x.com"]["errors"] == [{"domain": "global", "reason": "notFound"}]
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert again.status_code == 410 and never.status_code == 404


async def test_a_patch_google_would_refuse_is_refused(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    [event] = google.state.seed(
        EMAIL, [{"summary": "A", "start": {"date": "2025-06-03"}, "end": {"date": "2025-06-04"}}]
    )
    path = f"/calendars/primary/events/{event['id']}"

    invented = await http.patch(path, json={"attendeesCount": 3})
    backwards = await http.patch(
        path, json={"start": {"date": "2025-06-05"}, "end": {"date": "2025-06-04"}}
    )
    text_search = await http.get(
        "/calendars/primary/events", params={"q": "nothing like it", "singleEvents": "true"}
    )

    assert invented.status_code == 400 and "attendeesCount" in invented.text
    assert backwards.status_code == 400
    assert text_search.json()["items"] == []
    assert google.state.calendar(EMAIL).events[event["id"]]["start"] == {"date": "2025-06-03"}


async def test_one_instance_of_a_repeating_event_moves_or_goes_alone(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    google.state.seed(
        EMAIL,
        [
            {
                "summary": "Standup",
                "start": {"dateTime": "2025-06-03T09:00:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2025-06-03T09:15:00", "timeZone": "Europe/Berlin"},
                "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
            }
        ],
    )
    window = {
        "timeMin": "2025-06-01T00:00:00Z",
        "timeMax": "2025-06-30T00:00:00Z",
        "singleEvents": "true",
        "orderBy": "startTime",
        "timeZone": "Europe/Berlin",
    }
    first, second, third = (await http.get("/calendars/primary/events", params=window)).json()[
        "items"
    ]
    base = "/calendars/primary/events"

    moved = await http.patch(
        f"{base}/{second['id']}",
        json={
            "start": {"dateTime": "2025-06-11T10:00:00+02:00"},
            "end": {"dateTime": "2025-06-11T10:15:00+02:00"},
        },
    )
    got = await http.get(f"{base}/{second['id']}")
    gone = await http.delete(f"{base}/{third['id']}")
    after = (await http.get("/calendars/primary/events", params=window)).json()["items"]

    validate(_response("events", "patch"), moved.json())
    validate(_response("events", "get"), got.json())
    assert got.json()["start"]["dateTime"] == "2025-06-11T10:00:00+02:00"
    assert gone.status_code == 204
    assert [(e["id"], e["start"]["dateTime"]) for e in after] == [
        (first["id"], "2025-06-03T09:00:00+02:00"),
        (second["id"], "2025-06-11T10:00:00+02:00"),
    ]
    assert (await http.delete(f"{base}/{third['id']}")).status_code == 410
