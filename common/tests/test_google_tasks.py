"""`sync_if_on` and the calendar client's task sync calls against the real rest_service and
google_calendar_service (and the Google stand-in): nothing asked of Google while sync is off;
access not granted yet is nothing to do yet; the calendar service or Google unreachable is
`unreachable`, never an error."""

from __future__ import annotations

import socket

import aiohttp
import httpx
import pytest

from common.features.calendar_client import CalendarClient, GoogleAccessNotGranted
from common.features.google_tasks import sync_if_on
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from common.tests import test_calendar_client
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect
from tests.users import make_user

#: The calendar client on the shared stack, as test_calendar_client makes it.
http, calendar = test_calendar_client.http, test_calendar_client.calendar


@pytest.fixture
async def ann(stack_rest: RestClient) -> TelegramUser:
    return await make_user(stack_rest)


async def test_off_google_is_not_asked_and_on_without_access_is_nothing_to_do_yet(
    calendar: CalendarClient,
    stack_rest: RestClient,
    ann: TelegramUser,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
) -> None:
    assert (await sync_if_on(stack_rest, calendar, str(ann.id))).enabled is False
    await connect(api, browser, str(ann.id))
    with pytest.raises(GoogleAccessNotGranted) as refused:
        await calendar.turn_task_sync(str(ann.id), on=True)
    assert refused.value.auth_url

    waiting = await sync_if_on(stack_rest, calendar, str(ann.id))

    assert (waiting.enabled, waiting.unreachable, waiting.pushed) == (True, False, 0)
    assert google.state.operations("tasks.list") == []
    off = await calendar.turn_task_sync(str(ann.id), on=False)
    assert off.enabled is False and not (await stack_rest.get_task_sync(ann.id)).enabled


async def test_google_or_the_calendar_service_unreachable_is_said_not_raised(
    calendar: CalendarClient,
    http: aiohttp.ClientSession,
    stack_rest: RestClient,
    ann: TelegramUser,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    secrets: dict[str, str],
) -> None:
    await connect(api, browser, str(ann.id), "tasks")
    assert (await calendar.turn_task_sync(str(ann.id), on=True)).enabled
    await stack_rest.create_task(ann.id, "Renew passport")
    google.state.queue_fault("tasks.list", 503, "backendError", count=100)

    assert (await sync_if_on(stack_rest, calendar, str(ann.id))).unreachable

    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{spare.getsockname()[1]}"
        gone = CalendarClient(http, nobody, secrets["SERVICE_API_TOKEN"], timeout=5)
        assert (await sync_if_on(stack_rest, gone, str(ann.id))).unreachable
    google.state.faults.clear()
    sent = await sync_if_on(stack_rest, calendar, str(ann.id))
    assert (sent.unreachable, sent.pushed) == (False, 1)
