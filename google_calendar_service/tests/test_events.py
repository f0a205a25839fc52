"""Reading and writing events through google-api-python-client against the stand-in: every
page, the user's time zone, kinds of event, backoff, and creates that never double."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect
from tests.users import make_user


async def _connected_user(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, timezone: str = "Europe/Berlin"
) -> User:
    user = await make_user(rest, timezone)
    assert (await connect(api, browser, str(user.id))).status_code == 200
    return user


async def test_a_user_who_never_connected_gets_the_link(
    api: httpx.AsyncClient, google: GoogleStandIn, user: User
) -> None:
    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "calendar_not_connected" and "connect" in body["detail"]
    assert body["auth_url"].startswith(f"{google.url}/o/oauth2/auth?")


async def test_2600_events_across_pages_are_all_returned(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient
) -> None:
    user = await _connected_user(api, browser, rest)
    first = datetime(2025, 3, 1, tzinfo=UTC)
    google.state.seed(
        browser.email,
        [
            {
                "summary": f"Event {i}",
                "start": {"dateTime": (first + timedelta(minutes=10 * i)).isoformat()},
                "end": {"dateTime": (first + timedelta(minutes=10 * i + 5)).isoformat()},
            }
            for i in reversed(range(2600))
        ],
    )

    answer = await api.get(
        f"/events/{user.id}", params={"time_min": "2025-03-01", "time_max": "2025-03-31"}
    )

    body = answer.json()
    assert answer.status_code == 200 and body["count"] == 2600
    assert [e["summary"] for e in body["events"]] == [f"Event {i}" for i in range(2600)]
    pages = google.state.operations("events.list")
    assert len(pages) == 11 and all(p.params["singleEvents"] == "true" for p in pages)
    assert {p.params["orderBy"] for p in pages} == {"startTime"}


async def test_a_berlin_morning_is_shown_to_a_tokyo_user_at_tokyo_time(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient
) -> None:
    user = await _connected_user(api, browser, rest, timezone="Asia/Tokyo")
    google.state.seed(
        browser.email,
        [
            {
                "summary": "Berlin standup",
                "start": {"dateTime": "2025-06-02T09:00:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2025-06-02T09:30:00", "timeZone": "Europe/Berlin"},
            },
            {"summary": "Holiday", "start": {"date": "2025-06-02"}, "end": {"date": "2025-06-03"}},
            {"summary": "Trip", "start": {"date": "2025-06-01"}, "end": {"date": "2025-06-04"}},
            {
                "summary": "Mum",
                "eventType": "birthday",
                "start": {"date": "1960-06-02"},
                "end": {"date": "1960-06-03"},
                "recurrence": ["RRULE:FREQ=YEARLY"],
            },
        ],
    )

    answer = await api.get(
        f"/events/{user.id}", params={"time_min": "2025-06-02", "time_max": "2025-06-03"}
    )

    body = answer.json()
    assert body["timezone"] == "Asia/Tokyo"
    by_summary = {e["summary"]: e for e in body["events"]}
    standup = by_summary["Berlin standup"]
    assert (standup["start"], standup["kind"]) == ("2025-06-02T16:00:00+09:00", "timed")
    assert by_summary["Holiday"]["kind"] == "all_day"
    assert (by_summary["Trip"]["kind"], by_summary["Trip"]["last_day"]) == (
        "multi_day",
        "2025-06-03",
    )
    assert by_summary["Mum"]["kind"] == "birthday" and by_summary["Mum"]["start"] == "2025-06-02"
    asked = google.state.operations("events.list")[-1].params
    assert asked["timeZone"] == "Asia/Tokyo"
    assert asked["timeMin"] == "2025-06-02T00:00:00+09:00"


async def test_rate_limits_back_off_then_succeed(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    calendar_process: ServiceProcess,
) -> None:
    user = await _connected_user(api, browser, rest)
    google.state.queue_fault("events.list", 403, "rateLimitExceeded")
    google.state.queue_fault("events.list", 403, "userRateLimitExceeded")
    google.state.queue_fault("events.list", 429)
    google.state.queue_fault("events.list", 500)
    logged_before = len(calendar_process.logs().splitlines())

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 200, answer.text
    statuses = [s.status for s in google.state.operations("events.list")]
    assert statuses == [403, 403, 429, 500, 200]
    # The waits the service chose: exponential (0.05 s doubling, at most 0.4 s) with equal
    # jitter, so each at least half of its step and at most all of it.
    waits = [
        (event["attempt"], event["delay"])
        for line in calendar_process.logs().splitlines()[logged_before:]
        if line.startswith("{")
        and (event := json.loads(line))["event"] == "retrying"
        and event["call"] == "google events.list"
    ]
    steps = [0.05, 0.1, 0.2, 0.4]
    assert [attempt for attempt, _ in waits] == [1, 2, 3, 4], waits
    assert all(step / 2 <= delay <= step for (_, delay), step in zip(waits, steps, strict=True))


async def test_endless_rate_limits_give_up_within_the_bound(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient
) -> None:
    user = await _connected_user(api, browser, rest)
    google.state.queue_fault("events.list", 429, count=100)

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 503 and answer.json()["error"] == "google_unavailable"
    assert len(google.state.operations("events.list")) == 5  # GOOGLE_MAX_RETRIES=4


async def test_a_bad_request_is_not_retried_and_says_why(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient
) -> None:
    user = await _connected_user(api, browser, rest)
    google.state.queue_fault("events.list", 400, message="Invalid time zone definition.")

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 400
    assert answer.json()["error"] == "google_rejected"
    assert "Invalid time zone definition." in answer.json()["detail"]
    assert len(google.state.operations("events.list")) == 1


async def test_a_retried_create_makes_one_event(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient
) -> None:
    user = await _connected_user(api, browser, rest, timezone="Asia/Tokyo")
    event = {
        "summary": "Dentist",
        "start": "2025-06-02T09:00",
        "end": "2025-06-02T10:00",
        "timezone": "Europe/Berlin",
        "location": "Main St 1",
        "idempotency_key": "message-1:0",
    }

    first = await api.post(f"/events/{user.id}", json=event)
    again = await api.post(f"/events/{user.id}", json=event)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    assert first.json()["start"] == "2025-06-02T16:00:00+09:00"  # shown in the user's zone
    [stored] = google.state.calendar(browser.email).events.values()
    assert stored["start"] == {"dateTime": "2025-06-02T09:00:00+02:00", "timeZone": "Europe/Berlin"}
    statuses = [s.status for s in google.state.operations("events.insert")]
    assert statuses == [200, 409]


async def test_an_event_ending_before_it_starts_is_422_and_never_sent(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient
) -> None:
    user = await _connected_user(api, browser, rest)
    event = {"summary": "x", "start": "2025-06-02T10:00", "end": "2025-06-02T09:00"}

    answer = await api.post(f"/events/{user.id}", json=event)

    assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == "end"
    assert google.state.operations("events.insert") == []
