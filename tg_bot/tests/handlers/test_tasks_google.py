"""/tasks google: Google Tasks sync turned on (the link when Google Tasks is not allowed yet)
and off; with sync on, /tasks and a ✓ sync first, and say so when Google can't be reached.
Real handlers, Redis, the shared calendar stack (rest_service, google_calendar_service, the
Google stand-in) and the Telegram stand-in."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.settings import load_settings
from common.infrastructure.wire import TaskStatus, TelegramUser
from google_calendar_service.src.settings import ACCESS_SCOPES
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from sandbox.telegram_api import TelegramStandIn
from tests.calendar_stack import Browser, connect, google_tasks_of, query_of
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.users import UserDirectory
from tg_bot.src.handlers.base import Services
from tg_bot.src.handlers.commands import Reply
from tg_bot.src.main import default_commands
from tg_bot.src.settings import Settings
from tg_bot.tests.handlers.test_buttons import tapper_for, the_edit


@pytest.fixture
def rest(stack_rest: RestClient) -> RestClient:
    """The calendar stack's rest_service (the one the calendar service syncs with)."""
    return stack_rest


@pytest.fixture
async def services(
    bot_env: dict[str, str],
    rest_process: ServiceProcess,
    calendar_process: ServiceProcess,
    redis: aioredis.Redis,
    names: Names,
    telegram: TelegramStandIn,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Services]:
    monkeypatch.setenv("REST_SERVICE_URL", rest_process.url)
    monkeypatch.setenv("GOOGLE_CALENDAR_SERVICE_URL", calendar_process.url)
    config = load_settings(Settings)
    async with (
        RestClient(rest_process.url, config.own_service_token) as rest,
        client_session() as http,
        TelegramClient(config.telegram_api_base, config.telegram_token, retries=0) as client,
    ):
        users = UserDirectory(rest, 0)
        yield Services(config, rest, users, redis, names, default_commands(), http, client)


async def test_google_gives_the_link_then_syncs_lists_and_ticks_then_turns_off(
    services: Services,
    user: TelegramUser,
    rest: RestClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
) -> None:
    ann = tapper_for(services, user)
    await connect(api, browser, str(user.id))  # the calendar only

    asked = await ann.command("/tasks google")

    assert isinstance(asked, Reply) and "allow Google Tasks" in asked.text
    [[allow]] = asked.buttons
    assert allow.url and allow.text == "Allow Google Tasks"
    assert set(ACCESS_SCOPES["tasks"]) <= set(query_of(allow.url)["scope"].split())
    await rest.create_task(user.id, "Pay rent")
    await browser.open(await browser.consent_redirect(allow.url))
    assert (await api.post(f"/auth/confirm/{user.id}")).json()["confirmed"]

    on = await ann.command("/tasks google")
    assert isinstance(on, str) and on.startswith("Google Tasks sync is on"), on
    assert list(await google_tasks_of(google, browser.email)) == ["Pay rent"]

    async with httpx.AsyncClient(base_url=google.url) as http:
        await http.post(f"/_sandbox/tasks/{browser.email}", json={"title": "Call the plumber"})
    listing = await ann.command("/tasks")
    assert isinstance(listing, Reply) and "Call the plumber" in listing.text
    [[first, _]] = listing.buttons
    done = the_edit(await ann.press(first, 900, listing.text), 900)
    assert done.text.startswith("Done:")
    completed = [t for t in (await google_tasks_of(google, browser.email)).values()
                 if t["status"] == "completed"]  # fmt: skip
    assert len(completed) == 1 and completed[0]["title"] in listing.text

    off = await ann.command("/tasks google off")
    assert off == "Google Tasks sync is off. Both lists stay as they are."
    await rest.create_task(user.id, "Private errand")
    await ann.command("/tasks")
    assert "Private errand" not in await google_tasks_of(google, browser.email)


async def test_google_unreachable_is_said_above_the_list_and_nothing_is_lost(
    services: Services,
    user: TelegramUser,
    rest: RestClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
) -> None:
    ann = tapper_for(services, user)
    never = await ann.command("/tasks google")  # never connected: the link all the same
    assert isinstance(never, Reply) and never.buttons[0][0].url
    await connect(api, browser, str(user.id), "tasks")
    google.state.queue_fault("tasks.list", 503, "backendError", count=100)

    on = await ann.command("/tasks google")
    assert isinstance(on, str) and "sync is on" in on and "can't be reached" in on
    await rest.create_task(user.id, "Renew passport")
    listing = await ann.command("/tasks")
    assert isinstance(listing, Reply)
    assert listing.text.startswith("Google Tasks can't be reached right now")
    assert "Renew passport" in listing.text

    google.state.faults.clear()
    await ann.command("/tasks")
    assert list(await google_tasks_of(google, browser.email)) == ["Renew passport"]
    assert [t.title for t in await rest.list_tasks(user.id, status=TaskStatus.open)] == [
        "Renew passport"
    ]


async def test_google_when_the_calendar_service_is_down_is_an_apology(
    services: Services, user: TelegramUser
) -> None:
    down = services.settings.model_copy(
        update={"google_calendar_service_url": "http://127.0.0.1:9"}
    )
    ann = tapper_for(dataclasses.replace(services, settings=down), user)
    sorry = "Sorry, I can't reach Google Tasks right now. Try again later."
    assert await ann.command("/tasks google") == sorry
    assert await ann.command("/tasks google off") == sorry
