"""A connection is bound to its owner: a connect link is a bearer, so
whoever opens it can at most make a *pending* request that the link's Telegram user confirms
or declines in their own chat; until then nothing reads it, and unanswered it expires."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

import asyncpg
import httpx
import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, StartCalendar, connect, consent, sent_to, service_client
from tests.waiting import NotInTime, until

TOMORROW_EVENT = {
    "summary": "V's private appointment",
    "start": {"dateTime": "2030-01-02T09:00:00Z"},
    "end": {"dateTime": "2030-01-02T10:00:00Z"},
}
RANGE = {"time_min": "2030-01-01", "time_max": "2030-01-05"}


def stranger(google: GoogleStandIn, browser: Browser) -> Browser:
    """V: someone else with a Google account of their own, holding A's link."""
    return Browser(google, f"v-{uuid.uuid4().hex[:8]}@example.com", browser.service_url)


def _grants_of(google: GoogleStandIn, email: str) -> list[bool]:
    return [g.revoked for g in google.state.grants.values() if g.email == email]


async def test_a_link_opened_by_another_account_is_a_request_the_owner_declines(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    v = stranger(google, browser)
    google.state.seed(v.email, [TOMORROW_EVENT])

    page = await consent(api, v, str(user.id))  # A's link, V's consent

    assert page.status_code == 200 and "connected" not in page.text
    [asked] = await sent_to(redis, shared_names, user.telegram_id)
    assert v.email in asked.text and "/calendar decline" in asked.text
    events = await api.get(f"/events/{user.id}", params=RANGE)
    assert events.status_code == 409 and events.json()["error"] == "calendar_not_connected"
    assert "V's private" not in events.text

    declined = await api.post(f"/auth/decline/{user.id}")

    assert declined.json() == {"declined": True, "account": v.email}
    assert _grants_of(google, v.email) == [True]  # V's consent is withdrawn at Google
    assert await rest.get_pending_calendar_credentials(user.id) is None
    assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"] is False
    events = await api.get(f"/events/{user.id}", params=RANGE)
    assert events.status_code == 409 and "V's private" not in events.text


async def test_a_stranger_s_consent_leaves_the_owner_s_connection_as_it_was(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, user: TelegramUser
) -> None:
    google.state.seed(browser.email, [{**TOMORROW_EVENT, "summary": "A's own meeting"}])
    assert (await connect(api, browser, str(user.id))).status_code == 200
    v = stranger(google, browser)
    google.state.seed(v.email, [TOMORROW_EVENT])

    assert (await consent(api, v, str(user.id))).status_code == 200

    events = (await api.get(f"/events/{user.id}", params=RANGE)).json()
    assert [e["summary"] for e in events["events"]] == ["A's own meeting"]
    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert (status["account"], status["pending_account"]) == (browser.email, v.email)
    assert (await api.post(f"/auth/decline/{user.id}")).json()["declined"]
    assert _grants_of(google, browser.email) == [False]
    events = (await api.get(f"/events/{user.id}", params=RANGE)).json()
    assert [e["summary"] for e in events["events"]] == ["A's own meeting"]


async def test_the_owner_confirms_their_own_account_and_reads_their_events(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, user: TelegramUser
) -> None:
    google.state.seed(browser.email, [{**TOMORROW_EVENT, "summary": "A's own meeting"}])
    assert (await consent(api, browser, str(user.id))).status_code == 200
    assert (await api.get(f"/events/{user.id}", params=RANGE)).status_code == 409

    confirmed = await api.post(f"/auth/confirm/{user.id}")

    assert confirmed.json() == {"confirmed": True, "account": browser.email, "default": True}
    events = (await api.get(f"/events/{user.id}", params=RANGE)).json()
    assert [e["summary"] for e in events["events"]] == ["A's own meeting"]
    assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"] is False


async def test_confirming_another_account_adds_it_beside_the_first_revoking_nothing(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, user: TelegramUser
) -> None:
    assert (await connect(api, browser, str(user.id))).status_code == 200
    second = stranger(google, browser)  # the owner's other Google account

    assert (await connect(api, second, str(user.id))).status_code == 200

    status = (await api.get(f"/auth/status/{user.id}")).json()
    assert status["account"] == browser.email and status["pending"] is False
    assert [a["account"] for a in status["accounts"]] == [browser.email, second.email]
    assert _grants_of(google, browser.email) == [False]
    assert _grants_of(google, second.email) == [False]


async def test_an_unanswered_request_expires_and_its_grant_is_revoked(
    start_calendar: StartCalendar,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
    secrets: dict[str, str],
) -> None:
    service = start_calendar(
        CALENDAR_CONFIRM_TTL_SECONDS="1", CALENDAR_EXPIRY_INTERVAL_SECONDS="0.2"
    )
    async with service_client(service.url, secrets) as api:
        assert (await consent(api, browser, str(user.id))).status_code == 200
        assert await rest.get_pending_calendar_credentials(user.id) is not None

        async def dropped() -> bool:  # by the service's own sweep, nobody asks; then revoked
            gone = await rest.get_pending_calendar_credentials(user.id) is None
            return gone and _grants_of(google, browser.email) == [True]

        with contextlib.suppress(NotInTime):
            await until(dropped, 5, "the pending credentials dropped and revoked")
        assert await rest.get_pending_calendar_credentials(user.id) is None
        assert _grants_of(google, browser.email) == [True]
        assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"] is False
        assert (await api.get(f"/events/{user.id}")).status_code == 409


async def made_earlier(database_url: str, user: TelegramUser, seconds: float) -> None:
    """The user's pending request as if it came `seconds` ago: its time passes, not the test's."""
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        changed = await connection.execute(
            "UPDATE calendar_credentials SET pending_since = pending_since - $2::interval "
            "WHERE user_id = $1 AND status = 'pending'",
            user.id,
            timedelta(seconds=seconds),
        )
        assert changed == "UPDATE 1", changed
    finally:
        await connection.close()


async def test_a_late_confirmation_is_refused_even_before_the_sweep(
    start_calendar: StartCalendar,
    browser: Browser,
    rest: RestClient,
    user: TelegramUser,
    secrets: dict[str, str],
    database_url: str,
) -> None:
    service = start_calendar(
        CALENDAR_CONFIRM_TTL_SECONDS="1", CALENDAR_EXPIRY_INTERVAL_SECONDS="3600"
    )
    async with service_client(service.url, secrets) as api:
        assert (await consent(api, browser, str(user.id))).status_code == 200
        await made_earlier(database_url, user, 1.3)

        confirmed = await api.post(f"/auth/confirm/{user.id}")

        assert confirmed.json()["confirmed"] is False
        assert await rest.get_calendar_credentials(user.id) is None
        assert await rest.get_pending_calendar_credentials(user.id) is None


async def test_disconnect_also_drops_a_waiting_request(
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    user: TelegramUser,
) -> None:
    v = stranger(google, browser)
    assert (await consent(api, v, str(user.id))).status_code == 200

    gone = await api.delete(f"/auth/{user.id}")

    assert gone.json() == {
        "disconnected": False,
        "revoked": False,
        "account": None,
        "default_account": None,
    }
    assert await rest.get_pending_calendar_credentials(user.id) is None
    assert _grants_of(google, v.email) == [True]
