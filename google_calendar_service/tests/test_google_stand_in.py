"""The Google stand-in itself: Google's shapes (checked against the discovery document),
PKCE, and the errors tests ask it for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.google_api import GoogleStandIn
from sandbox.google_schema import SchemaDriftError, validate
from sandbox.google_state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, pkce_challenge

REDIRECT = "http://127.0.0.1:9/cb"


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    async with GoogleStandIn() as stand_in:
        yield stand_in


def _authorization(verifier: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": DEFAULT_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "https://www.googleapis.com/auth/calendar",
        "state": "s",
        "access_type": "offline",
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        **extra,
    }


async def _code(http: httpx.AsyncClient, google: GoogleStandIn, verifier: str) -> str:
    params = _authorization(verifier)
    answer = await http.get(f"{google.url}/o/oauth2/auth", params=params)
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


async def _exchange(http: httpx.AsyncClient, google: GoogleStandIn, code: str, verifier: str):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    form |= {"code_verifier": verifier}
    auth = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    return await http.post(f"{google.url}/token", data=form, auth=auth)


async def test_a_code_needs_its_pkce_verifier(google: GoogleStandIn) -> None:
    verifier = "v" * 64
    async with httpx.AsyncClient() as http:
        wrong = await _exchange(http, google, await _code(http, google, verifier), "w" * 64)
        right = await _exchange(http, google, await _code(http, google, verifier), verifier)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert right.status_code == 200 and right.json()["refresh_token"]


async def test_the_account_chooser_is_asked_with_consent_and_odd_prompts_are_refused(
    google: GoogleStandIn,
) -> None:
    google.state.queue_consent(True, "home@example.com")
    async with httpx.AsyncClient() as http:
        url = f"{google.url}/o/oauth2/auth"
        chosen = await http.get(
            url, params=_authorization("v" * 64, prompt="consent select_account")
        )
        refused = [
            await http.get(url, params=_authorization("v" * 64, prompt=prompt))
            for prompt in ("login", "none select_account")
        ]
    assert chosen.status_code == 302 and "code=" in chosen.headers["location"]
    assert google.state.chosen_accounts == ["home@example.com"]
    assert [(r.status_code, "invalid_request" in r.text) for r in refused] == [(400, True)] * 2
    assert "prompt" in refused[0].text and "login" in refused[0].text


async def test_event_lists_follow_the_discovery_document(google: GoogleStandIn) -> None:
    verifier = "v" * 64
    google.state.seed(
        "user@example.com",
        [
            {
                "summary": "Birthday",
                "eventType": "birthday",
                "start": {"date": "1990-06-02"},
                "end": {"date": "1990-06-03"},
                "recurrence": ["RRULE:FREQ=YEARLY"],
            },
            {
                "summary": "Standup",
                "start": {"dateTime": "2025-06-02T09:00:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": "2025-06-02T09:15:00", "timeZone": "Europe/Berlin"},
            },
        ],
    )
    async with httpx.AsyncClient() as http:
        tokens = (
            await _exchange(http, google, await _code(http, google, verifier), verifier)
        ).json()
        answer = await http.get(
            f"{google.url}/calendar/v3/calendars/primary/events",
            params={
                "timeMin": "2025-06-01T00:00:00Z",
                "timeMax": "2025-06-03T00:00:00Z",
                "singleEvents": "true",
                "orderBy": "startTime",
            },
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    body = answer.json()
    validate("Events", body)
    assert [e["summary"] for e in body["items"]] == ["Birthday", "Standup"]
    assert body["items"][0]["id"].endswith("_20250602")


def test_a_field_google_does_not_have_is_caught() -> None:
    with pytest.raises(SchemaDriftError, match="attendeesCount"):
        validate("Event", {"id": "abcde", "attendeesCount": 3})
    with pytest.raises(SchemaDriftError, match="date-time"):
        validate("Event", {"start": {"dateTime": "2025-06-02 09:00"}})
