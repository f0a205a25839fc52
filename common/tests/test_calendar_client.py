"""The calendar client against the real google_calendar_service (and its Google stand-in):
typed answers for every route the tool and /calendar use, and refusals as typed errors."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from aiohttp import web
from pydantic import BaseModel

from common.features.calendar_client import (
    AuthLink,
    AuthStatus,
    CalendarClient,
    CalendarNotConnected,
    Calendars,
    CalendarServiceUnavailable,
    Confirmation,
    CreatedEvent,
    Declined,
    DeletedEvent,
    Disconnection,
    Event,
    Events,
    FreeBusy,
    GoogleAccessNotGranted,
    TaskSyncReport,
)
from common.features.mail_client import (
    MailDraft,
    MailMessages,
    MailModified,
    MailSent,
    MailThread,
)
from common.infrastructure.errors import NotFoundError, UnauthorizedError, ValidationFailedError
from common.infrastructure.http_client import client_session
from common.tests.test_wire_contract import route_model, wire_shape
from google_calendar_service.src.main import app as calendar_app
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from sandbox.server import ScriptedServer
from tests.calendar_stack import Browser, consent, query_of

RANGE = ("2030-01-01", "2030-01-05")

#: (answer model, method, path of the route it is read from)
ROUTES: list[tuple[type[BaseModel], str, str]] = [
    (AuthLink, "get", "/auth/url/{user_id}"),
    (AuthStatus, "get", "/auth/status/{user_id}"),
    (Confirmation, "post", "/auth/confirm/{user_id}"),
    (Declined, "post", "/auth/decline/{user_id}"),
    (Disconnection, "delete", "/auth/{user_id}"),
    (Events, "get", "/events/{user_id}"),
    (CreatedEvent, "post", "/events/{user_id}"),
    (Event, "patch", "/events/{user_id}/{event_id}"),
    (DeletedEvent, "delete", "/events/{user_id}/{event_id}"),
    (FreeBusy, "post", "/freebusy/{user_id}"),
    (Calendars, "get", "/calendars/{user_id}"),
    (Calendars, "put", "/calendars/{user_id}/default"),
    (TaskSyncReport, "post", "/tasks/{user_id}/sync"),
    (TaskSyncReport, "put", "/tasks/{user_id}/sync"),
    (TaskSyncReport, "delete", "/tasks/{user_id}/sync"),
    (MailMessages, "get", "/mail/{user_id}/messages"),
    (MailThread, "get", "/mail/{user_id}/threads/{thread_id}"),
    (MailDraft, "post", "/mail/{user_id}/drafts"),
    (MailSent, "post", "/mail/{user_id}/send"),
    (MailModified, "post", "/mail/{user_id}/messages/{message_id}/modify"),
]


@pytest.mark.parametrize(
    ("model", "method", "path"), ROUTES, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_the_answer_model_is_the_route_s_schema(
    model: type[BaseModel], method: str, path: str
) -> None:
    """The client's copy of each answer matches the service's OpenAPI: drift fails here."""
    assert wire_shape(model) == route_model(calendar_app.openapi(), method, path, model)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with client_session() as client:
        yield client


@pytest.fixture
def calendar(
    http: aiohttp.ClientSession, calendar_process: ServiceProcess, secrets: dict[str, str]
) -> CalendarClient:
    return CalendarClient(http, calendar_process.url, secrets["SERVICE_API_TOKEN"], timeout=30)


@pytest.fixture
async def user_id(rest_process: ServiceProcess, secrets: dict[str, str]) -> str:
    """A new rest_service user in Berlin, made over plain HTTP."""
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=rest_process.url, headers=headers) as rest:
        made = await rest.post("/api/users/", json={"telegram_id": random.randint(10**8, 10**10)})
        found = str(made.json()["id"])
        await rest.put(f"/api/users/{found}", json={"timezone": "Europe/Berlin"})
    return found


async def test_a_user_never_connected_gets_the_link_as_an_error(
    calendar: CalendarClient, google: GoogleStandIn, user_id: str
) -> None:
    status = await calendar.status(user_id)
    assert (status.connected, status.valid, status.pending) == (False, False, False)
    with pytest.raises(CalendarNotConnected) as caught:
        await calendar.list_events(user_id, *RANGE)
    assert caught.value.reconnect is False and caught.value.status_code == 409
    assert (caught.value.auth_url or "").startswith(f"{google.url}/o/oauth2/auth?")
    link = await calendar.auth_url(user_id)
    assert link.auth_url.startswith(f"{google.url}/o/oauth2/auth?") and link.expires_in > 0


async def test_connect_confirm_create_list_disconnect(
    calendar: CalendarClient, api: httpx.AsyncClient, browser: Browser, user_id: str
) -> None:
    assert (await consent(api, browser, user_id)).status_code == 200
    pending = await calendar.status(user_id)
    assert pending.pending and pending.pending_account == browser.email

    confirmed = await calendar.confirm(user_id)
    assert confirmed.confirmed and confirmed.account == browser.email
    assert (await calendar.decline(user_id)).declined is False  # nothing pending any more

    made = await calendar.create_event(
        user_id,
        summary="Dentist",
        start="2030-01-02T09:00",
        end="2030-01-02T10:00",
        idempotency_key="message-1:0",
    )
    again = await calendar.create_event(
        user_id,
        summary="Dentist",
        start="2030-01-02T09:00",
        end="2030-01-02T10:00",
        idempotency_key="message-1:0",
    )
    assert (made.created, again.created, again.id) == (True, False, made.id)
    assert made.start == "2030-01-02T09:00:00+01:00" and made.kind == "timed"

    found = await calendar.list_events(user_id, *RANGE)
    assert found.timezone == "Europe/Berlin" and found.count == 1
    assert [e.summary for e in found.events] == ["Dentist"]
    assert found.time_min.isoformat() == "2030-01-01T00:00:00+01:00"

    gone = await calendar.disconnect(user_id)
    assert (gone.disconnected, gone.revoked) == (True, True)
    assert (await calendar.status(user_id)).connected is False


async def test_invalid_input_is_a_validation_error_with_its_fields(
    calendar: CalendarClient, api: httpx.AsyncClient, browser: Browser, user_id: str
) -> None:
    assert (await consent(api, browser, user_id)).status_code == 200
    assert (await calendar.confirm(user_id)).confirmed
    with pytest.raises(ValidationFailedError) as caught:
        await calendar.create_event(user_id, summary="x", start="someday", end="2030-01-02")
    assert any("start" in f.field for f in caught.value.fields)


async def test_a_wrong_token_is_unauthorized(
    http: aiohttp.ClientSession, calendar_process: ServiceProcess, user_id: str
) -> None:
    wrong = CalendarClient(http, calendar_process.url, "not-a-token", timeout=30)
    with pytest.raises(UnauthorizedError):
        await wrong.status(user_id)


async def test_no_service_is_unavailable(http: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nobody = CalendarClient(http, f"http://127.0.0.1:{port}", "token", timeout=2)
    with pytest.raises(CalendarServiceUnavailable):
        await nobody.status("00000000-0000-0000-0000-000000000000")


async def test_find_move_free_busy_calendars_delete(
    calendar: CalendarClient, api: httpx.AsyncClient, browser: Browser, user_id: str
) -> None:
    assert (await consent(api, browser, user_id)).status_code == 200
    assert (await calendar.confirm(user_id)).confirmed
    browser.google.state.add_calendar(browser.email, "family@group.calendar.google.com", "Family")
    made = await calendar.create_event(
        user_id, summary="Dentist", start="2030-01-02T09:00", end="2030-01-02T10:00"
    )

    found = await calendar.list_events(user_id, *RANGE, text="dentist")
    moved = await calendar.update_event(
        user_id, made.id, made.calendar_id, {"start": "2030-01-03T11:00"}
    )
    free = await calendar.free_busy(user_id, "2030-01-03T08:00", "2030-01-03T18:00")
    listed = await calendar.calendars(user_id)
    chosen = await calendar.set_default_calendar(user_id, "family@group.calendar.google.com")
    deleted = await calendar.delete_event(user_id, made.id, made.calendar_id)

    assert [e.id for e in found.events] == [made.id] and made.calendar_id == browser.email
    assert (moved.start, moved.end) == ("2030-01-03T11:00:00+01:00", "2030-01-03T12:00:00+01:00")
    assert [(b.start, b.end) for b in free.busy] == [
        ("2030-01-03T11:00:00+01:00", "2030-01-03T12:00:00+01:00")
    ]
    assert len(free.free) == 2 and len(free.calendars) == 2
    assert [c.summary for c in listed.calendars] == [browser.email, "Family"]
    assert chosen.default_calendar_id == "family@group.calendar.google.com"
    assert deleted.deleted
    with pytest.raises(NotFoundError):
        await calendar.update_event(user_id, "abcdef0123", made.calendar_id, {"summary": "x"})


async def test_an_answer_of_another_shape_is_unavailable_naming_the_call() -> None:
    """A 200 whose body is not the answer (another service behind the URL, a proxy's page in
    JSON) is an outage of the calendar, not a crash in the caller."""

    def elsewhere() -> web.Response:
        return web.json_response({"status": "ok", "service": "something else"})

    with ScriptedServer("/calendars/u1", elsewhere) as site:
        async with client_session() as http:
            wrong = CalendarClient(http, f"http://127.0.0.1:{site.port}", "token", timeout=2)
            with pytest.raises(CalendarServiceUnavailable, match="GET /calendars/u1: unexpected"):
                await wrong.calendars("u1")


async def test_a_link_for_mail_asks_google_for_mail_too(
    calendar: CalendarClient, google: GoogleStandIn, user_id: str
) -> None:
    link = await calendar.auth_url(user_id, ["mail"])
    assert "gmail.modify" in query_of(link.auth_url)["scope"]


async def test_an_access_not_granted_is_its_own_error_with_the_link() -> None:
    def refused() -> web.Response:
        body = {"error": "google_access_not_granted", "detail": "no mail", "auth_url": "u"}
        return web.json_response(body, status=409)

    with ScriptedServer("/calendars/u1", refused) as site:
        async with client_session() as http:
            client = CalendarClient(http, f"http://127.0.0.1:{site.port}", "token", timeout=2)
            with pytest.raises(GoogleAccessNotGranted) as caught:
                await client.calendars("u1")
    assert (caught.value.auth_url, caught.value.reconnect) == ("u", False)
