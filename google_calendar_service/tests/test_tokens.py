"""The user's tokens: refreshed when expired (and written back), refreshed once on a 401,
given up on `invalid_grant`, encrypted at rest, and never in a log."""

from __future__ import annotations

import httpx
import psycopg2

from common.infrastructure.postgres_url import sync_url
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect


async def _stored_token(rest: RestClient, user: User) -> str:
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None
    return stored.credentials["token"]


async def _expire_stored_token(rest: RestClient, user: User) -> None:
    """The stored access token's expiry passes (Google would still take it a while)."""
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None
    expired = stored.credentials | {"expiry": "2020-01-01T00:00:00+00:00"}
    await rest.put_calendar_credentials(user.id, expired)


async def test_an_expired_access_token_is_refreshed_and_the_new_one_kept(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient, user: User
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200
    issued = await _stored_token(rest, user)
    await _expire_stored_token(rest, user)

    first = await api.get(f"/events/{user.id}")
    second = await api.get(f"/events/{user.id}")

    assert (first.status_code, second.status_code) == (200, 200)
    assert google.state.token_grants == ["authorization_code", "refresh_token"]
    refreshed = await _stored_token(rest, user)
    assert refreshed != issued and refreshed in google.state.tokens
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None and stored.credentials["expiry"] > "2025"


async def test_a_401_refreshes_once_and_repeats_the_call(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient, user: User
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200
    issued = await _stored_token(rest, user)
    google.state.expire_access_tokens(browser.email)

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 200, answer.text
    # Reading every calendar begins with the calendar list: the first call to meet the 401.
    assert [s.status for s in google.state.operations("calendarList.list")] == [401, 200]
    assert [s.status for s in google.state.operations("events.list")] == [200]
    assert google.state.token_grants == ["authorization_code", "refresh_token"]
    assert await _stored_token(rest, user) != issued


async def test_invalid_grant_marks_the_credentials_and_asks_to_reconnect(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, rest: RestClient, user: User
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200
    google.state.invalidate_grants(browser.email)  # the user revoked access at Google

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 409
    body = answer.json()
    assert body["error"] == "calendar_reconnect_required" and "reconnect" in body["detail"]
    assert body["auth_url"].startswith(f"{google.url}/o/oauth2/auth?")
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None and stored.valid is False
    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert (status["connected"], status["valid"]) == (True, False)
    again = await api.get(f"/events/{user.id}")  # known dead: Google is not asked again
    assert again.json()["error"] == "calendar_reconnect_required"
    assert google.state.token_grants == ["authorization_code", "refresh_token"]
    assert (await connect(api, browser, str(user.id))).status_code == 200  # reconnecting works
    assert (await api.get(f"/events/{user.id}")).status_code == 200


async def test_tokens_are_encrypted_at_rest_and_never_logged(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: User,
    database_url: str,
    calendar_process: ServiceProcess,
    rest_process: ServiceProcess,
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200
    await _expire_stored_token(rest, user)
    assert (await api.get(f"/events/{user.id}")).status_code == 200  # a refresh too
    secrets_issued = google.state.issued_secrets()
    assert len(secrets_issued) >= 4  # a code, a refresh token, two access tokens

    conn = psycopg2.connect(sync_url(database_url).replace("+psycopg2", ""))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM calendar_credentials WHERE user_id = %s", (str(user.id),))
            [row] = cur.fetchall()
    finally:
        conn.close()
    raw = " ".join(str(column) for column in row)
    logs = calendar_process.logs() + rest_process.logs()
    assert "calendar_token_refreshed" in logs  # DEBUG logs were on and were read
    for secret in secrets_issued:
        assert secret not in raw
        assert secret not in logs
