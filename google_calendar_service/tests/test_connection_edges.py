"""Edges of a calendar connection: a callback with its state but no code, an account Google
will not name, a second request for the account already connected, a token Google stops
taking mid-call, and tokens stored without an expiry."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect, consent, query_of, sent_to


async def test_a_callback_with_its_state_but_no_code_is_refused_and_the_link_spent(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    link = (await api.get(f"/auth/url/{user.id}")).json()["auth_url"]
    callback = await browser.consent_redirect(link)
    without_code = callback.split("?")[0] + f"?state={query_of(callback)['state']}"

    page = await browser.open(without_code)

    assert page.status_code == 400 and "no authorization code" in page.text
    assert "authorization_code" not in google.state.token_grants
    assert await rest.get_pending_calendar_credentials(user.id) is None
    again = await browser.open(callback)  # the state went with the refused callback
    assert again.status_code == 400 and "already used" in again.text


async def test_an_account_google_will_not_name_is_still_offered_for_confirmation(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    """The address is only shown to the owner: without it the connection is still made,
    and the owner is asked about "an account" rather than nothing being asked at all."""
    google.state.queue_fault("calendars.get", 403, "insufficientPermissions")

    page = await consent(api, browser, str(user.id))

    assert page.status_code == 200, page.text
    assert google.state.token_grants == ["authorization_code"]
    pending = await rest.get_pending_calendar_credentials(user.id)
    assert pending is not None and pending.credentials["refresh_token"]
    assert not pending.credentials.get("account")
    [told] = await sent_to(redis, shared_names, user.telegram_id)
    assert "/calendar confirm" in told.text and browser.email not in told.text
    confirmed = await api.post(f"/auth/confirm/{user.id}")
    assert confirmed.json()["confirmed"] is True
    assert (await api.get(f"/events/{user.id}")).status_code == 200


async def test_declining_a_second_request_for_the_connected_account_keeps_it_working(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    """Revoking at Google ends the account's whole grant: declining a repeated request for
    the account already connected must not cut the connection that works."""
    assert (await connect(api, browser, str(user.id))).status_code == 200
    assert (await consent(api, browser, str(user.id))).status_code == 200

    declined = await api.post(f"/auth/decline/{user.id}")

    assert declined.json() == {"declined": True, "account": browser.email}
    assert not [s for s in google.state.seen if s.operation == "revoke"]
    grants = [g for g in google.state.grants.values() if g.email == browser.email]
    assert grants and not any(grant.revoked for grant in grants)
    assert await rest.get_pending_calendar_credentials(user.id) is None
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None and stored.valid
    assert (await api.get(f"/events/{user.id}")).status_code == 200


async def test_a_token_google_refuses_mid_call_asks_to_reconnect_without_condemning_it(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    """A 403 that is not a rate limit (access narrowed at Google): the user gets a link to
    reconnect; the tokens are not marked dead, as only `invalid_grant` proves that."""
    assert (await connect(api, browser, str(user.id))).status_code == 200
    google.state.queue_fault("calendarList.list", 403, "forbidden", message="Access denied.")

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "calendar_reconnect_required"
    assert body["auth_url"].startswith(f"{google.url}/o/oauth2/auth?")
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None and stored.valid
    assert (await api.get(f"/events/{user.id}")).status_code == 200


async def test_tokens_stored_without_an_expiry_are_used_as_they_are(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None
    await rest.put_calendar_credentials(user.id, stored.credentials | {"expiry": None})

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 200, answer.text
    assert google.state.token_grants == ["authorization_code"]  # nothing to refresh
    kept = await rest.get_calendar_credentials(user.id)
    assert kept is not None and kept.credentials["token"] == stored.credentials["token"]


async def test_an_expired_token_without_a_refresh_token_asks_to_reconnect(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    """Nothing to refresh with (a grant stored without its refresh token): Google is not
    asked, and the user gets the link to connect again rather than an error."""
    assert (await connect(api, browser, str(user.id))).status_code == 200
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None
    expired = {"refresh_token": None, "expiry": "2020-01-01T00:00:00+00:00"}
    await rest.put_calendar_credentials(user.id, stored.credentials | expired)

    answer = await api.get(f"/events/{user.id}")

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "calendar_reconnect_required"
    assert google.state.token_grants == ["authorization_code"]
    assert not google.state.operations("events.list")
