"""Several Google accounts per user (work and personal), through the service's routes against
the Google stand-in (real processes: rest_service, the service): each connected after its
owner's confirmation, reads spanning all of them, writes into the default one unless another
is named, and one account's dead grant leaving the others working."""

from __future__ import annotations

import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect, timed
from tests.tiers import examples
from tests.users import make_user

SHARED = "team@group.calendar.google.com"
WINDOW = {"time_min": "2025-06-01", "time_max": "2025-06-08"}


def _other(browser: Browser) -> Browser:
    """The same person's second Google account, in the same browser."""
    return Browser(browser.google, f"home-{uuid.uuid4().hex[:8]}@example.com", browser.service_url)


async def _two_accounts(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> tuple[User, Browser]:
    user = await make_user(rest, "Europe/Berlin")
    home = _other(browser)
    for one in (browser, home):
        google.state.calendar(one.email, "Europe/Berlin")
        assert (await connect(api, one, str(user.id))).status_code == 200
    return user, home


async def _create(api: httpx.AsyncClient, user: User, **extra: str) -> dict[str, object]:
    body = {"summary": "Planning", "start": "2025-06-05T10:00", "end": "2025-06-05T11:00"}
    made = await api.post(f"/events/{user.id}", json=body | extra)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def test_each_account_is_picked_on_googles_account_chooser(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    _user, home = await _two_accounts(api, browser, rest, google)

    assert google.state.chosen_accounts == [browser.email, home.email]


async def test_events_span_both_accounts_and_say_which(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.seed(browser.email, [timed("Standup", "2025-06-03T09:00", "2025-06-03T09:15")])
    google.state.seed(home.email, [timed("Dentist", "2025-06-03T08:00", "2025-06-03T08:30")])

    answer = await api.get(f"/events/{user.id}", params=WINDOW)
    only_home = await api.get(f"/events/{user.id}", params={**WINDOW, "account": "home-"})

    assert answer.status_code == 200, answer.text
    assert [(e["summary"], e["account"], e["calendar_id"]) for e in answer.json()["events"]] == [
        ("Dentist", home.email, home.email),
        ("Standup", browser.email, browser.email),
    ]
    assert answer.json()["reconnect_accounts"] == []
    assert [e["summary"] for e in only_home.json()["events"]] == ["Dentist"]


async def test_a_calendar_both_accounts_share_is_read_once(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.add_calendar(browser.email, SHARED, "Team")
    google.state.add_calendar(home.email, SHARED, "Team")
    google.state.other_calendars[home.email][SHARED] = google.state.other_calendars[browser.email][
        SHARED
    ]
    google.state.seed(
        browser.email, [timed("Retro", "2025-06-04T09:00", "2025-06-04T10:00")], SHARED
    )

    events = (await api.get(f"/events/{user.id}", params=WINDOW)).json()["events"]
    calendars = (await api.get(f"/calendars/{user.id}")).json()

    assert [(e["summary"], e["account"]) for e in events] == [("Retro", browser.email)]
    assert [(c["id"], c["account"], c["default"]) for c in calendars["calendars"]] == [
        (browser.email, browser.email, True),
        (SHARED, browser.email, False),
        (home.email, home.email, False),
    ]
    assert (calendars["default_account"], calendars["default_calendar_id"]) == (
        browser.email,
        browser.email,
    )


async def test_free_busy_merges_both_accounts(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.seed(browser.email, [timed("Standup", "2025-06-03T13:00", "2025-06-03T14:00")])
    google.state.seed(home.email, [timed("Dentist", "2025-06-03T13:30", "2025-06-03T15:00")])

    body = (
        await api.post(
            f"/freebusy/{user.id}",
            json={"time_min": "2025-06-03T12:00", "time_max": "2025-06-03T18:00"},
        )
    ).json()

    assert body["calendars"] == [browser.email, home.email]
    assert body["busy"] == [
        {"start": "2025-06-03T13:00:00+02:00", "end": "2025-06-03T15:00:00+02:00"}
    ]


async def test_new_events_go_to_the_default_account_unless_another_is_named(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)

    first = await _create(api, user)
    named = await _create(api, user, account=home.email.upper())
    by_calendar = await _create(api, user, calendar_id=home.email)
    chosen = await api.put(f"/auth/default/{user.id}", json={"account": "home-"})
    after = await _create(api, user)

    assert (first["account"], first["calendar_id"]) == (browser.email, browser.email)
    assert (named["account"], by_calendar["account"]) == (home.email, home.email)
    assert chosen.status_code == 200, chosen.text
    assert [(a["account"], a["default"]) for a in chosen.json()["accounts"]] == [
        (home.email, True),
        (browser.email, False),
    ]
    assert after["account"] == home.email
    assert len(google.state.calendar(home.email).events) == 3
    assert len(google.state.calendar(browser.email).events) == 1


async def test_an_event_of_the_second_account_is_changed_and_deleted_by_its_calendar(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.add_calendar(home.email, SHARED, "Family")
    [event] = google.state.seed(
        home.email, [timed("Dentist", "2025-06-03T10:00", "2025-06-03T10:45")], SHARED
    )
    path = f"/events/{user.id}/{event['id']}"

    moved = await api.patch(path, params={"calendar_id": SHARED}, json={"summary": "Dentist!"})
    gone = await api.delete(path, params={"calendar_id": SHARED, "account": home.email})

    assert moved.status_code == 200, moved.text
    assert (moved.json()["summary"], moved.json()["account"]) == ("Dentist!", home.email)
    assert gone.json() == {
        "deleted": True,
        "event_id": event["id"],
        "calendar_id": SHARED,
        "account": home.email,
    }


async def test_the_default_calendar_of_the_other_account_makes_it_the_default(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.add_calendar(home.email, SHARED, "Family")

    chosen = await api.put(f"/calendars/{user.id}/default", json={"calendar_id": SHARED})
    made = await _create(api, user)

    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["default_account"], chosen.json()["default_calendar_id"]) == (
        home.email,
        SHARED,
    )
    assert (made["account"], made["calendar_id"]) == (home.email, SHARED)


async def test_one_dead_grant_leaves_the_other_account_working_and_is_named(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.seed(browser.email, [timed("Standup", "2025-06-03T09:00", "2025-06-03T09:15")])
    google.state.invalidate_grants(home.email)
    google.state.expire_access_tokens(home.email)

    events = await api.get(f"/events/{user.id}", params=WINDOW)
    status = (await api.get(f"/auth/status/{user.id}")).json()
    into_home = await api.post(
        f"/events/{user.id}",
        json={"summary": "A", "start": "2025-06-05", "end": "2025-06-06", "account": home.email},
    )
    google.state.invalidate_grants(browser.email)
    google.state.expire_access_tokens(browser.email)
    nothing = await api.get(f"/events/{user.id}", params=WINDOW)
    from_shared = await api.delete(
        f"/events/{user.id}/abc123", params={"calendar_id": SHARED}
    )  # no account answers whose calendar it is: the default's reconnect

    assert events.status_code == 200, events.text
    body = events.json()
    assert [e["summary"] for e in body["events"]] == ["Standup"]
    assert body["reconnect_accounts"] == [home.email] and body["reconnect_url"]
    assert [(a["account"], a["valid"]) for a in status["accounts"]] == [
        (browser.email, True),
        (home.email, False),
    ]
    assert status["valid"] is True
    assert into_home.status_code == 409
    assert into_home.json()["accounts"] == [home.email]
    assert nothing.status_code == 409
    assert nothing.json()["error"] == "calendar_reconnect_required"
    assert from_shared.status_code == 409
    assert from_shared.json()["accounts"] == [browser.email]
    assert sorted(nothing.json()["accounts"]) == sorted([browser.email, home.email])


async def test_connecting_an_account_again_refreshes_it(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)
    google.state.add_calendar(home.email, SHARED, "Family")
    await api.put(f"/calendars/{user.id}/default", json={"calendar_id": SHARED})
    google.state.invalidate_grants(home.email)
    google.state.expire_access_tokens(home.email)
    await api.get(f"/events/{user.id}", params=WINDOW)

    assert (await connect(api, home, str(user.id))).status_code == 200

    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert [(a["account"], a["valid"], a["default"]) for a in status["accounts"]] == [
        (home.email, True, True),
        (browser.email, True, False),
    ]
    assert (await _create(api, user))["calendar_id"] == SHARED  # its default calendar kept


async def test_access_is_each_accounts_own(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)

    link = (await api.get(f"/auth/url/{user.id}", params={"access": "mail"})).json()
    await home.open(await home.consent_redirect(link["auth_url"]))
    assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"]

    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert status["account"] == browser.email and status["access"] == ["calendar"]
    assert [(a["account"], a["access"]) for a in status["accounts"]] == [
        (browser.email, ["calendar"]),
        (home.email, ["calendar", "mail"]),
    ]


async def test_disconnecting_one_account_keeps_the_other_as_the_default(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    user, home = await _two_accounts(api, browser, rest, google)

    ambiguous = await api.delete(f"/auth/{user.id}", params={"account": "example.com"})
    gone = await api.delete(f"/auth/{user.id}", params={"account": browser.email})
    status = (await api.get(f"/auth/status/{user.id}")).json()
    unknown = await api.put(f"/auth/default/{user.id}", json={"account": browser.email})
    everything = await api.delete(f"/auth/{user.id}")

    assert ambiguous.status_code == 422 and "account" in ambiguous.text
    assert gone.json() == {
        "disconnected": True,
        "revoked": True,
        "account": browser.email,
        "default_account": home.email,
    }
    assert [(a["account"], a["default"]) for a in status["accounts"]] == [(home.email, True)]
    assert status["account"] == home.email
    assert unknown.status_code == 422
    assert everything.json()["disconnected"] is True
    assert not (await api.get(f"/auth/status/{user.id}")).json()["connected"]
    assert (await api.put(f"/auth/default/{user.id}", json={"account": "x"})).status_code == 409


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(account=st.one_of(st.text(max_size=40), st.integers(), st.none()))
async def test_any_account_argument_is_answered_without_a_server_error(
    api: httpx.AsyncClient, rest: RestClient, account: object
) -> None:
    user = await make_user(rest)
    for method, path, kwargs in (
        ("PUT", f"/auth/default/{user.id}", {"json": {"account": account}}),
        ("DELETE", f"/auth/{user.id}", {"params": {"account": str(account)}}),
        ("GET", f"/events/{user.id}", {"params": {"account": str(account)}}),
        (
            "POST",
            f"/events/{user.id}",
            {
                "json": {
                    "summary": "A",
                    "start": "2025-06-05",
                    "end": "2025-06-06",
                    "account": account,
                }
            },
        ),
    ):
        answer = await api.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert answer.status_code in (200, 409, 422), (method, account, answer.text)


async def test_mail_is_read_in_the_account_that_allowed_it_not_only_the_default(
    api: httpx.AsyncClient, browser: Browser, rest: RestClient, google: GoogleStandIn
) -> None:
    """Work is the default (calendar only); mail was allowed on the home account: mail
    reads home's mailbox, and the calendar still writes into work's."""
    user = await make_user(rest, "Europe/Berlin")
    home = _other(browser)
    assert (await connect(api, browser, str(user.id))).status_code == 200
    assert (await connect(api, home, str(user.id), "mail")).status_code == 200
    google.mail.seed(home.email, [{"from": "anna@example.org", "subject": "Lunch at home"}])

    found = await api.get(f"/mail/{user.id}/messages")
    made = await _create(api, user)

    assert found.status_code == 200, found.text
    assert [m["subject"] for m in found.json()["messages"]] == ["Lunch at home"]
    assert made["account"] == browser.email
