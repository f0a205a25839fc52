"""Finding, moving, deleting events, free/busy and several calendars, through the service's
routes against the Google stand-in (real processes: rest_service, the service)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect, timed
from tests.users import make_user

WORK = "work-calendar@group.calendar.google.com"


async def _connected(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> User:
    user = await make_user(rest, "Europe/Berlin")
    assert (await connect(api, browser, str(user.id))).status_code == 200
    google.state.calendar(browser.email, "Europe/Berlin")
    google.state.add_calendar(browser.email, WORK, "Work")
    return user


async def test_find_reads_every_calendar_and_keeps_what_mentions_the_words(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)
    google.state.seed(browser.email, [timed("Dentist", "2025-06-03T10:00", "2025-06-03T11:00")])
    google.state.seed(
        browser.email,
        [
            timed("Standup", "2025-06-03T09:00", "2025-06-03T09:15"),
            timed("Dentist for Tom", "2025-06-02T08:00", "2025-06-02T08:30"),
        ],
        WORK,
    )
    window = {"time_min": "2025-06-01", "time_max": "2025-06-08"}

    everything = (await api.get(f"/events/{user.id}", params=window)).json()
    found = (await api.get(f"/events/{user.id}", params={**window, "q": "dentist"})).json()

    assert [e["summary"] for e in everything["events"]] == [
        "Dentist for Tom",
        "Standup",
        "Dentist",
    ]
    assert [(e["summary"], e["calendar_id"]) for e in found["events"]] == [
        ("Dentist for Tom", WORK),
        ("Dentist", browser.email),
    ]
    assert {s.params.get("q") for s in google.state.operations("events.list")} >= {"dentist"}


async def test_moving_an_event_to_another_day_keeps_its_length(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)
    [event] = google.state.seed(
        browser.email, [timed("Dentist", "2025-06-03T10:00", "2025-06-03T10:45")]
    )

    answer = await api.patch(
        f"/events/{user.id}/{event['id']}",
        params={"calendar_id": browser.email},
        json={"start": "2025-06-04T15:00"},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["start"] == "2025-06-04T15:00:00+02:00"
    assert body["end"] == "2025-06-04T15:45:00+02:00"
    stored = google.state.calendar(browser.email).events[event["id"]]
    assert stored["summary"] == "Dentist" and stored["sequence"] == 1
    assert len(google.state.operations("events.patch")) == 1


async def test_an_update_checks_what_it_is_given(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)
    [event] = google.state.seed(
        browser.email, [timed("Dentist", "2025-06-03T10:00", "2025-06-03T10:45")]
    )
    path = f"/events/{user.id}/{event['id']}"

    nothing = await api.patch(path, json={})
    backwards = await api.patch(path, json={"start": "2025-06-04T15:00", "end": "2025-06-04T14:00"})
    garbage_id = await api.patch(f"/events/{user.id}/x!y", json={"summary": "A"})
    unknown = await api.patch(f"/events/{user.id}/{uuid.uuid4().hex}", json={"summary": "A"})

    assert nothing.status_code == 422
    assert backwards.status_code == 422
    assert garbage_id.status_code in (404, 422)
    assert unknown.status_code == 404
    assert google.state.calendar(browser.email).events[event["id"]]["summary"] == "Dentist"


async def test_a_delete_happens_once_and_a_repeat_says_it_was_gone(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)
    [event] = google.state.seed(
        browser.email, [timed("Dentist", "2025-06-03T10:00", "2025-06-03T10:45")], WORK
    )
    path = f"/events/{user.id}/{event['id']}"

    first = await api.delete(path, params={"calendar_id": WORK})
    again = await api.delete(path, params={"calendar_id": WORK})
    never = await api.delete(f"/events/{user.id}/{uuid.uuid4().hex}")

    assert first.json() == {
        "deleted": True,
        "event_id": event["id"],
        "calendar_id": WORK,
        "account": browser.email,
    }
    assert again.status_code == 200 and again.json()["deleted"] is False
    assert never.status_code == 404
    assert event["id"] not in google.state.other_calendars[browser.email][WORK].events


async def test_free_busy_merges_two_calendars_and_gives_the_gaps(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)
    google.state.seed(browser.email, [timed("Dentist", "2025-06-03T13:00", "2025-06-03T14:00")])
    google.state.seed(
        browser.email,
        [
            timed("Review", "2025-06-03T13:30", "2025-06-03T15:00"),
            {
                **timed("Focus", "2025-06-03T16:00", "2025-06-03T17:00"),
                "transparency": "transparent",
            },
        ],
        WORK,
    )

    answer = await api.post(
        f"/freebusy/{user.id}",
        json={"time_min": "2025-06-03T12:00", "time_max": "2025-06-03T18:00"},
    )

    body = answer.json()
    assert answer.status_code == 200, answer.text
    assert body["calendars"] == [browser.email, WORK] and body["unreadable"] == []
    assert body["busy"] == [
        {"start": "2025-06-03T13:00:00+02:00", "end": "2025-06-03T15:00:00+02:00"}
    ]
    assert body["free"] == [
        {"start": "2025-06-03T12:00:00+02:00", "end": "2025-06-03T13:00:00+02:00"},
        {"start": "2025-06-03T15:00:00+02:00", "end": "2025-06-03T18:00:00+02:00"},
    ]


async def test_the_default_calendar_takes_new_events_and_is_kept(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)

    before = (await api.get(f"/calendars/{user.id}")).json()
    chosen = await api.put(f"/calendars/{user.id}/default", json={"calendar_id": WORK})
    unknown = await api.put(f"/calendars/{user.id}/default", json={"calendar_id": "nope@x.com"})
    made = await api.post(
        f"/events/{user.id}",
        json={
            "summary": "Planning",
            "start": "2025-06-05T10:00",
            "end": "2025-06-05T11:00",
            "attendees": ["anna@example.com", "bob@example.com"],
            "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        },
    )
    after = (await api.get(f"/calendars/{user.id}")).json()

    assert before["default_calendar_id"] == browser.email
    assert [(c["id"], c["primary"]) for c in before["calendars"]] == [
        (browser.email, True),
        (WORK, False),
    ]
    assert chosen.status_code == 200 and chosen.json()["default_calendar_id"] == WORK
    assert unknown.status_code == 422
    assert made.status_code == 201, made.text
    event = made.json()
    assert event["calendar_id"] == WORK
    assert event["attendees"] == ["anna@example.com", "bob@example.com"]
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3"] and event["recurring"]
    assert after["default_calendar_id"] == WORK
    assert len(google.state.other_calendars[browser.email][WORK].events) == 1
    listed = await api.get(
        f"/events/{user.id}", params={"time_min": "2025-06-01", "time_max": "2025-06-30"}
    )
    assert [e["start"][:10] for e in listed.json()["events"]] == [
        "2025-06-05",
        "2025-06-12",
        "2025-06-19",
    ]


async def test_a_create_refuses_bad_guests_and_rules(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user = await _connected(api, browser, rest, google)
    base = {"summary": "X", "start": "2025-06-05T10:00", "end": "2025-06-05T11:00"}

    guest = await api.post(f"/events/{user.id}", json={**base, "attendees": ["anna"]})
    rule = await api.post(f"/events/{user.id}", json={**base, "recurrence": ["every monday"]})
    no_freq = await api.post(f"/events/{user.id}", json={**base, "recurrence": ["RRULE:COUNT=2"]})

    assert [guest.status_code, rule.status_code, no_freq.status_code] == [422, 422, 422]
    assert google.state.operations("events.insert") == []


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    event_id=st.text(min_size=1, max_size=40),
    calendar_id=st.text(min_size=1, max_size=30),
    guests=st.lists(st.text(max_size=20), max_size=3),
    rule=st.text(max_size=40),
)
async def test_whatever_ids_and_fields_come_in_the_answer_is_never_a_500(
    api: httpx.AsyncClient,
    browser: Browser,
    rest: RestClient,
    google: GoogleStandIn,
    event_id: str,
    calendar_id: str,
    guests: list[str],
    rule: str,
) -> None:
    user = await _user_once(api, browser, rest, google)
    path = f"/events/{user.id}/{quote(event_id, safe='')}"
    params = {"calendar_id": calendar_id}

    answers = [
        await api.patch(path, params=params, json={"summary": "x", "attendees": guests}),
        await api.delete(path, params=params),
        await api.get(f"/events/{user.id}", params={"q": event_id, **params}),
        await api.post(
            f"/events/{user.id}",
            json={"summary": "x", "start": "2030-01-01", "end": "2030-01-02", "recurrence": [rule]},
        ),
    ]

    assert all(a.status_code < 500 for a in answers), [(a.status_code, a.text) for a in answers]


_CONNECTED: dict[str, User] = {}


async def _user_once(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> User:
    """One connected user for all of a property test's examples (connecting costs seconds)."""
    if browser.email not in _CONNECTED:
        _CONNECTED[browser.email] = await _connected(api, browser, rest, google)
    return _CONNECTED[browser.email]


async def test_times_sent_as_null_are_left_as_they_are(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    """A client that sends every field, the unchanged ones as null: only the name changes."""
    user = await _connected(api, browser, rest, google)
    [event] = google.state.seed(
        browser.email, [timed("Dentist", "2025-06-03T10:00", "2025-06-03T10:45")]
    )

    answer = await api.patch(
        f"/events/{user.id}/{event['id']}",
        params={"calendar_id": browser.email},
        json={"summary": "Dentist (Dr. Weiss)", "start": None, "end": None, "attendees": None},
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["summary"] == "Dentist (Dr. Weiss)"
    assert (body["start"], body["end"]) == (
        "2025-06-03T10:00:00+02:00",
        "2025-06-03T10:45:00+02:00",
    )
    stored = google.state.calendar(browser.email).events[event["id"]]
    assert stored["start"]["dateTime"].startswith("2025-06-03T10:00")
