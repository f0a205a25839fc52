"""google_calendar_service against real processes, for its own tests and for those of its
callers (tg_bot's /calendar, the calendar client): rest_service (Postgres, Redis), the service
itself and the Google stand-in (its own thread; tests arrange consent, events and faults on
`google.state` directly). Loaded by the root conftest.py.

Starting processes is what costs time on a busy machine, so rest_service and the calendar
service are started once per test session and shared; every test has users and a Google
account of its own, and the stand-in forgets queued faults and seen requests between tests.
A test that needs other settings starts a service of its own (`start_calendar`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from ops.processes import ServiceProcess, Stack
from sandbox.google_api import GoogleStandIn, serving_in_thread
from tests.harness import REST_LOOPS_OFF, base_env
from tests.streams import stream_entries

#: The callback's public address as registered with Google; the test's browser reaches it
#: on whatever port the service got (`Browser.open`).
PUBLIC_URL = "http://calendar.test"
REDIRECT_URI = f"{PUBLIC_URL}/auth/callback"

#: Backoff fast enough for tests, still exponential with jitter.
FAST_RETRIES = {
    "GOOGLE_RETRY_BASE_SECONDS": "0.05",
    "GOOGLE_RETRY_MAX_SECONDS": "0.4",
    "GOOGLE_MAX_RETRIES": "4",
}


@pytest.fixture(scope="session")
def google_server() -> Iterator[GoogleStandIn]:
    with serving_in_thread() as stand_in:
        yield stand_in


@pytest.fixture
def google(google_server: GoogleStandIn) -> GoogleStandIn:
    google_server.state.reset_activity()
    return google_server


@pytest.fixture(scope="session")
def shared_prefix(session_prefix: str) -> str:
    return f"{session_prefix}gcal:"


@pytest.fixture(scope="session")
def shared_stack(
    database_url: str,
    redis_url: str,
    shared_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """The harness's `stack`, once per session (the same environment `service_env` gives)."""
    env = base_env(database_url, redis_url, shared_prefix, secrets)
    stack = Stack(env, Path(tmp_path_factory.mktemp("gcal_stack")))
    try:
        yield stack
    finally:
        stack.stop_all()


def calendar_env(google: GoogleStandIn, **settings: str) -> dict[str, str]:
    return {**google.settings(), **FAST_RETRIES, "GOOGLE_REDIRECT_URI": REDIRECT_URI, **settings}


@pytest.fixture(scope="session")
def rest_process(shared_stack: Stack) -> ServiceProcess:
    """Its loops off: it outlives the file that starts it (tests/shared_services.py)."""
    return shared_stack.start("rest_service", env=REST_LOOPS_OFF)


@pytest.fixture(scope="session")
def calendar_process(
    shared_stack: Stack, rest_process: ServiceProcess, google_server: GoogleStandIn
) -> ServiceProcess:
    return shared_stack.start("google_calendar_service", env=calendar_env(google_server))


@pytest.fixture
async def stack_rest(
    rest_process: ServiceProcess, secrets: dict[str, str]
) -> AsyncIterator[RestClient]:
    """A client of the stack's rest_service (the one the calendar service works with)."""
    async with RestClient(rest_process.url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


async def google_tasks_of(google: GoogleStandIn, email: str) -> dict[str, dict[str, Any]]:
    """`email`'s Google Tasks as Google holds them (the stand-in's control route), by title;
    deleted ones left out."""
    async with httpx.AsyncClient(base_url=google.url) as http:
        found = (await http.get(f"/_sandbox/tasks/{email}")).json()
    return {t["title"]: t for t in found if not t.get("deleted")}


@pytest.fixture
def shared_names(shared_prefix: str) -> Names:
    """The Redis names the shared services use."""
    return Names(shared_prefix)


def service_client(url: str, secrets: dict[str, str]) -> httpx.AsyncClient:
    """The service's API as our services call it (with the service token)."""
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=30)


@pytest.fixture
async def api(
    calendar_process: ServiceProcess, secrets: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(calendar_process.url, secrets) as client:
        yield client


@dataclass
class Browser:
    """The user's browser: follows the connect link to the stand-in and back. It signs in
    to Google as this test's own account."""

    google: GoogleStandIn
    email: str
    service_url: str

    async def consent_redirect(self, auth_url: str, *, grant: bool = True) -> str:
        """Open the link; the stand-in's consent screen answers with the callback URL."""
        self.google.state.queue_consent(grant, self.email)
        async with httpx.AsyncClient() as http:
            answer = await http.get(auth_url)
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def open(self, url: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            return await http.get(url.replace(PUBLIC_URL, self.service_url, 1))


@pytest.fixture
def browser(google: GoogleStandIn, calendar_process: ServiceProcess) -> Browser:
    return Browser(google, f"{uuid.uuid4().hex[:10]}@example.com", calendar_process.url)


StartCalendar = Callable[..., ServiceProcess]


@pytest.fixture
def start_calendar(
    stack: Stack, google: GoogleStandIn, rest_process: ServiceProcess, browser: Browser
) -> StartCalendar:
    """A calendar service of this test's own (its `names`), other settings as keywords."""

    def start(**settings: str) -> ServiceProcess:
        env = calendar_env(google, REST_SERVICE_URL=rest_process.url, **settings)
        process = stack.start("google_calendar_service", env=env)
        browser.service_url = process.url
        return process

    return start


async def consent(
    api: httpx.AsyncClient, browser: Browser, user_id: str, access: str | None = None
) -> httpx.Response:
    """`user_id`'s link (asking for `access` beside the calendar, if given) opened in
    `browser` and consented: the callback page's response (the account is then pending,
    waiting for the user's confirmation)."""
    link = await api.get(f"/auth/url/{user_id}", params={"access": access} if access else {})
    assert link.status_code == 200, link.text
    return await browser.open(await browser.consent_redirect(link.json()["auth_url"]))


async def connect(
    api: httpx.AsyncClient, browser: Browser, user_id: str, access: str | None = None
) -> httpx.Response:
    """The whole connect flow for `user_id`, the owner's `/calendar confirm` included; the
    callback page's response."""
    page = await consent(api, browser, user_id, access)
    if page.status_code == 200:
        confirmed = await api.post(f"/auth/confirm/{user_id}")
        assert confirmed.json()["confirmed"], confirmed.text
    return page


def timed(summary: str, start: str, end: str, zone: str = "Europe/Berlin") -> dict[str, object]:
    """A timed event as Google's API takes it, to seed the stand-in with."""
    return {
        "summary": summary,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
    }


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def sent_to(redis: aioredis.Redis, names: Names, chat_id: int) -> list[OutgoingMessage]:
    """What was queued for one chat on `queue:to_telegram`."""
    entries = await stream_entries(redis, names.to_telegram)
    messages = [OutgoingMessage.model_validate_json(fields[b"data"]) for _, fields in entries]
    return [m for m in messages if m.chat_id == chat_id]
