"""The service's Google side in-process against the stand-in: what each answer of Google's
becomes (the error that tells the caller what to do, a retry, an honest "unreachable"), the
code exchange and revocation when Google refuses or is down, and the connect link's state."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from google.oauth2.credentials import Credentials

from common.features.calendar_client import GoogleAccess
from common.infrastructure.errors import NotFoundError
from common.infrastructure.redis_keys import Names
from google_calendar_service.src.clients.google import CalendarSession, GoogleCalendarClient
from google_calendar_service.src.domain.oauth import OAuthClient, OAuthStates
from google_calendar_service.src.errors import (
    DuplicateEventError,
    EventGoneError,
    GoogleAuthRejectedError,
    GoogleRejectedError,
    GoogleUnavailableError,
    InvalidGrantError,
    OAuthCallbackError,
)
from google_calendar_service.src.settings import Settings
from ops.infra import free_port
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import FAST_RETRIES, REDIRECT_URI, query_of

STATE = "s" * 43


def settings_for(google: GoogleStandIn, **overrides: str) -> Settings:
    env = {**google.settings(), **FAST_RETRIES, "GOOGLE_REDIRECT_URI": REDIRECT_URI}
    return Settings.model_validate(
        {"environment": "test", **{k.lower(): v for k, v in env.items()}, **overrides}
    )


async def consented(
    google: GoogleStandIn, settings: Settings, email: str, access: Sequence[GoogleAccess] = ()
) -> Credentials:
    """The tokens of `email`'s consent (to the calendar, and `access`), as the callback's
    exchange gets them."""
    oauth = OAuthClient(settings)
    url, verifier = oauth.authorization_url(STATE, access)
    google.state.queue_consent(True, email)
    async with httpx.AsyncClient() as http:
        answer = await http.get(url)
    return await oauth.exchange(query_of(answer.headers["location"])["code"], verifier)


@pytest.fixture(autouse=True)
def plain_http_to_the_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the service sets at start when every OAuth URL is this machine's."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


@pytest.fixture
def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
async def session(
    google: GoogleStandIn, email: str
) -> AsyncIterator[tuple[GoogleCalendarClient, CalendarSession]]:
    settings = settings_for(google)
    client = GoogleCalendarClient(settings)
    async with client.session(await consented(google, settings, email)) as calendar:
        yield client, calendar


EVENT = {
    "summary": "Dentist",
    "start": {"dateTime": "2026-03-02T09:00:00Z"},
    "end": {"dateTime": "2026-03-02T10:00:00Z"},
}


@pytest.mark.parametrize(
    ("status", "reason", "error", "says"),
    [
        (404, None, NotFoundError, "no such event"),
        (410, "deleted", EventGoneError, "deleted"),
        (403, "forbidden", GoogleAuthRejectedError, "Google answered 403"),
        (400, None, GoogleRejectedError, "Google Calendar rejected the request"),
        (412, None, GoogleUnavailableError, "Google Calendar answered 412"),
    ],
)
async def test_each_refusal_of_google_s_is_the_error_that_says_what_it_means(
    google: GoogleStandIn,
    session: tuple[GoogleCalendarClient, CalendarSession],
    email: str,
    status: int,
    reason: str | None,
    error: type[Exception],
    says: str,
) -> None:
    client, calendar = session
    google.state.queue_fault("events.get", status, reason)
    with pytest.raises(error, match=says):
        await client.get_event(calendar, "abcde12345", "UTC")
    assert [seen.status for seen in google.state.operations("events.get")] == [status]


async def test_an_event_id_taken_already_is_a_duplicate(
    google: GoogleStandIn, session: tuple[GoogleCalendarClient, CalendarSession], email: str
) -> None:
    client, calendar = session
    made = await client.insert_event(calendar, {**EVENT, "id": "abcde12345"})
    assert made["id"] == "abcde12345"
    with pytest.raises(DuplicateEventError):
        await client.insert_event(calendar, {**EVENT, "id": "abcde12345"})


async def test_a_google_busy_past_every_retry_is_unavailable_saying_so(
    google: GoogleStandIn, session: tuple[GoogleCalendarClient, CalendarSession]
) -> None:
    client, calendar = session
    google.state.queue_fault("calendars.get", 503, count=100)
    with pytest.raises(GoogleUnavailableError, match=r"busy \(503 backendError\)"):
        await client.primary_calendar_id(calendar)
    assert len(google.state.operations("calendars.get")) == 5  # GOOGLE_MAX_RETRIES=4


async def test_the_primary_calendar_is_the_account_s_address(
    session: tuple[GoogleCalendarClient, CalendarSession], email: str
) -> None:
    client, calendar = session
    assert await client.primary_calendar_id(calendar) == email


async def test_a_revoked_grant_is_invalid_and_a_refused_client_is_rejected(
    google: GoogleStandIn, session: tuple[GoogleCalendarClient, CalendarSession], email: str
) -> None:
    client, calendar = session
    google.state.expire_access_tokens(email)
    google.state.queue_fault("token", 401, "invalid_client", message="Unauthorized")
    with pytest.raises(GoogleAuthRejectedError, match="refused to refresh"):
        await client.primary_calendar_id(calendar)
    google.state.reset_activity()
    google.state.invalidate_grants(email)
    with pytest.raises(InvalidGrantError, match="revoked or expired"):
        await client.primary_calendar_id(calendar)
    assert google.state.operations("calendars.get")[-1].status == 401


async def test_an_unreachable_google_is_unavailable_after_the_retries(
    google: GoogleStandIn, email: str
) -> None:
    settings = settings_for(google)
    credentials = await consented(google, settings, email)
    nowhere = settings_for(
        google, google_api_base_url=f"http://127.0.0.1:{free_port()}/calendar/v3/"
    )
    client = GoogleCalendarClient(nowhere)
    async with client.session(credentials) as calendar:
        with pytest.raises(GoogleUnavailableError, match="could not be reached"):
            await client.primary_calendar_id(calendar)


async def test_a_code_google_will_not_take_asks_for_a_new_link(google: GoogleStandIn) -> None:
    oauth = OAuthClient(settings_for(google))
    _url, verifier = oauth.authorization_url(STATE)
    with pytest.raises(OAuthCallbackError, match="ask for a new link"):
        await oauth.exchange("4/made-up", verifier)


async def test_a_token_endpoint_that_is_down_is_unavailable_and_a_revoke_there_is_false(
    google: GoogleStandIn,
) -> None:
    port = free_port()
    down = OAuthClient(
        settings_for(
            google,
            google_token_uri=f"http://127.0.0.1:{port}/token",
            google_revoke_uri=f"http://127.0.0.1:{port}/revoke",
        )
    )
    _url, verifier = down.authorization_url(STATE)
    with pytest.raises(GoogleUnavailableError, match="could not be reached"):
        await down.exchange("4/any", verifier)
    assert await down.revoke("1//any") is False


async def test_revoking_a_grant_works_once(google: GoogleStandIn, email: str) -> None:
    settings = settings_for(google)
    credentials = await consented(google, settings, email)
    oauth = OAuthClient(settings)
    assert credentials.refresh_token
    assert await oauth.revoke(credentials.refresh_token) is True
    assert await oauth.revoke(credentials.refresh_token) is False


@pytest.mark.parametrize("state", [None, "", "x" * 129, "has space", "semi;colon", "ü" * 10])
async def test_a_state_that_cannot_be_ours_is_refused_without_asking_redis(
    redis: aioredis.Redis, names: Names, state: str | None
) -> None:
    assert await OAuthStates(redis, names, 600).consume(state) is None


async def test_a_state_is_taken_once_and_an_old_one_is_refused(
    redis: aioredis.Redis, names: Names
) -> None:
    states = OAuthStates(redis, names, 600)
    state = states.new_state()
    await states.remember(state, "u1", "verifier")
    taken = await states.consume(state)
    assert taken is not None and (taken.user_id, taken.code_verifier) == ("u1", "verifier")
    assert await states.consume(state) is None
    old: dict[str, Any] = {"user_id": "u1", "code_verifier": "v", "created_at": time.time() - 601}
    await redis.set(names.oauth_state(state), json.dumps(old))
    assert await states.consume(state) is None


async def test_a_session_closes_its_connections_to_google_when_the_operation_ends(
    google: GoogleStandIn, email: str
) -> None:
    """httplib2 keeps a connection open until the garbage collector finds it (a
    ResourceWarning then): each operation's session closes its own."""
    settings = settings_for(google)
    client = GoogleCalendarClient(settings)
    async with client.session(await consented(google, settings, email)) as calendar:
        assert await client.primary_calendar_id(calendar) == email
        connections = list(calendar.service._http.http.connections.values())
        assert [c.sock is not None for c in connections] == [True]
    assert [c.sock for c in connections] == [None]
