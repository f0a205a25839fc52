"""Connecting a calendar: the OAuth web flow through google-auth-oauthlib against the stand-in,
and every way a callback must be refused."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.queue_messages import OutgoingKind
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from google_calendar_service.src.settings import ACCESS_SCOPES, SCOPES
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, StartCalendar, connect, query_of, sent_to, service_client
from tests.waiting import until


async def _nothing_connected(
    rest: RestClient, user: TelegramUser, google: GoogleStandIn, redis: aioredis.Redis, names: Names
) -> None:
    assert await rest.get_calendar_credentials(user.id) is None
    assert "authorization_code" not in google.state.token_grants
    assert await sent_to(redis, names, user.telegram_id) == []


async def test_the_full_round_trip_keeps_tokens_pending_and_asks_the_user(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    link = (await api.get(f"/auth/url/{user.id}")).json()
    asked = query_of(link["auth_url"])
    assert link["expires_in"] == 600
    assert set(asked["scope"].split()) == set(SCOPES)
    assert (asked["access_type"], asked["prompt"]) == ("offline", "consent select_account")
    assert asked["code_challenge_method"] == "S256" and len(asked["state"]) >= 40

    page = await browser.open(await browser.consent_redirect(link["auth_url"]))

    assert page.status_code == 200 and "confirm" in page.text
    assert "connected" not in page.text  # whoever opened the link is not its owner
    assert await rest.get_calendar_credentials(user.id) is None
    pending = await rest.get_pending_calendar_credentials(user.id)
    assert pending is not None and pending.status == "pending" and pending.pending_since
    assert pending.credentials["refresh_token"] and pending.credentials["token"]
    assert pending.credentials["account"] == browser.email
    assert google.state.token_grants == ["authorization_code"]  # the PKCE check passed
    [told] = await sent_to(redis, shared_names, user.telegram_id)
    assert told.chat_id == user.telegram_id and told.kind == OutgoingKind.NOTIFICATION
    assert browser.email in told.text and "/calendar confirm" in told.text
    assert "/calendar decline" in told.text and "connected" not in told.text
    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert status == status | {"connected": False, "pending": True}
    assert status["pending_account"] == browser.email

    confirmed = await api.post(f"/auth/confirm/{user.id}")

    assert confirmed.json() == {"confirmed": True, "account": browser.email, "default": True}
    stored = await rest.get_calendar_credentials(user.id)
    assert stored is not None and stored.valid and stored.status == "active"
    assert await rest.get_pending_calendar_credentials(user.id) is None
    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert status == status | {"connected": True, "valid": True, "account": browser.email}
    assert status["pending"] is False


async def test_a_reused_state_is_rejected(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, user: TelegramUser
) -> None:
    link = (await api.get(f"/auth/url/{user.id}")).json()["auth_url"]
    callback = await browser.consent_redirect(link)
    assert (await browser.open(callback)).status_code == 200

    replay = await browser.open(callback)

    assert replay.status_code == 400 and "already used" in replay.text
    assert google.state.token_grants == ["authorization_code"]


async def test_a_tampered_state_is_rejected(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    link = (await api.get(f"/auth/url/{user.id}")).json()["auth_url"]
    callback = await browser.consent_redirect(link)
    state = query_of(callback)["state"]
    forged = callback.replace(state, state[:-1] + ("A" if state[-1] != "A" else "B"))

    page = await browser.open(forged)

    assert page.status_code == 400 and "expired" in page.text
    assert (await browser.open(callback.split("&state=")[0])).status_code == 400
    await _nothing_connected(rest, user, google, redis, shared_names)


async def test_a_denied_consent_is_rejected(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    link = (await api.get(f"/auth/url/{user.id}")).json()["auth_url"]
    callback = await browser.consent_redirect(link, grant=False)
    assert query_of(callback)["error"] == "access_denied"

    page = await browser.open(callback)

    assert page.status_code == 400 and "not granted" in page.text
    await _nothing_connected(rest, user, google, redis, shared_names)


async def test_an_expired_state_is_rejected(
    start_calendar: StartCalendar,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    names: Names,
    secrets: dict[str, str],
) -> None:
    service = start_calendar(OAUTH_STATE_TTL_SECONDS="1")
    async with service_client(service.url, secrets) as api:
        link = (await api.get(f"/auth/url/{user.id}")).json()["auth_url"]
    callback = await browser.consent_redirect(link)
    state = names.oauth_state(query_of(link)["state"])

    async def expired() -> bool:  # as Redis keeps time
        return not await redis.exists(state)

    await until(expired, 10, "the link's state expired")

    page = await browser.open(callback)

    assert page.status_code == 400 and "expired" in page.text
    await _nothing_connected(rest, user, google, redis, names)


async def test_disconnect_revokes_at_google_and_forgets_the_tokens(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200

    gone = await api.delete(f"/auth/{user.id}")

    nothing = {"account": None, "default_account": None}
    assert gone.json() == {"disconnected": True, "revoked": True, **nothing}
    grants = [g for g in google.state.grants.values() if g.email == browser.email]
    assert grants and all(grant.revoked for grant in grants)
    assert await rest.get_calendar_credentials(user.id) is None
    events = await api.get(f"/events/{user.id}")
    assert events.status_code == 409 and events.json()["error"] == "calendar_not_connected"
    again = await api.delete(f"/auth/{user.id}")
    assert again.json() == {"disconnected": False, "revoked": False, **nothing}


async def test_everything_but_the_callback_needs_the_service_token(
    api: httpx.AsyncClient, user: TelegramUser
) -> None:
    for token in (None, "wrong"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=str(api.base_url), headers=headers) as anonymous:
            for method, path in [
                ("GET", f"/auth/url/{user.id}"),
                ("GET", f"/auth/status/{user.id}"),
                ("DELETE", f"/auth/{user.id}"),
                ("POST", f"/auth/confirm/{user.id}"),
                ("POST", f"/auth/decline/{user.id}"),
                ("GET", f"/events/{user.id}"),
                ("POST", f"/events/{user.id}"),
            ]:
                answer = await anonymous.request(method, path)
                assert answer.status_code == 401, (method, path, answer.text)
                assert answer.json()["error"] == "unauthorized"
            callback = await anonymous.get("/auth/callback")
            assert callback.status_code == 400  # reachable, refused for want of a state


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["code", "state", "error", "scope"]),
        st.text(max_size=200),
        max_size=4,
    )
)
def test_any_callback_without_a_live_state_is_a_400_page_and_stores_nothing(
    calendar_process: ServiceProcess, google: GoogleStandIn, params: dict[str, str]
) -> None:
    """Whatever a browser (or an attacker) sends to the open callback: a page, never a 500,
    and no code reaches Google without a state this service issued."""
    page = httpx.get(f"{calendar_process.url}/auth/callback", params=params, timeout=30)

    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Calendar not connected</h1>" in page.text and "Nothing was connected" in page.text
    assert "authorization_code" not in google.state.token_grants


async def test_asking_for_mail_later_keeps_the_calendar_grant(
    api: httpx.AsyncClient, browser: Browser, user: TelegramUser
) -> None:
    await connect(api, browser, str(user.id))
    assert (await api.get(f"/auth/status/{user.id}")).json()["access"] == ["calendar"]

    link = (await api.get(f"/auth/url/{user.id}", params={"access": "mail"})).json()
    asked = query_of(link["auth_url"])
    assert set(asked["scope"].split()) == {*SCOPES, *ACCESS_SCOPES["mail"]}
    assert asked["include_granted_scopes"] == "true"
    await browser.open(await browser.consent_redirect(link["auth_url"]))
    await api.post(f"/auth/confirm/{user.id}")

    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert status["connected"] and status["access"] == ["calendar", "mail"]


async def test_an_unknown_access_is_refused_by_name(
    api: httpx.AsyncClient, user: TelegramUser
) -> None:
    answer = await api.get(f"/auth/url/{user.id}", params={"access": "photos"})
    assert answer.status_code == 422 and "access" in answer.text
