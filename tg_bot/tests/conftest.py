"""tg_bot test fixtures: the Telegram stand-in on a free port, the bot run in-process (the
real `main`, settings from the environment), a rest_service process (and `rest` on it, where
`user` and `make_reminder` are made), stream readers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.logging import reset_logging
from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingMessage,
    incoming_message_id,
)
from common.infrastructure.redis_keys import TO_SECRETARY, TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestClient
from ops.infra import free_port
from ops.processes import ServiceProcess, Stack
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tests.clock import SkippingClock
from tests.harness import REST_LOOPS_OFF
from tests.streams import stream_entries
from tests.waiting import until
from tg_bot.src.main import main

#: Limits high enough not to matter, unless a test sets its own.
FAST_BOT = {
    "POLL_TIMEOUT_SECONDS": "2",
    "POLL_BACKOFF_INITIAL_SECONDS": "0.05",
    "POLL_BACKOFF_MAX_SECONDS": "0.5",
    "SEND_LIMIT_OVERALL_PER_SECOND": "10000",
    "SEND_LIMIT_CHAT_PER_SECOND": "10000",
    "SEND_LIMIT_GROUP_PER_MINUTE": "100000",
    "SEND_RETRY_BACKOFF_SECONDS": "0.05",
    "SEND_OUTAGE_RETRY_SECONDS": "0.2",
    "TELEGRAM_REQUEST_TIMEOUT_SECONDS": "2",
    # A SIGKILLed poller's lease lapses soon, so the process started after it polls soon.
    "POLLER_LEASE_SECONDS": "2",
    "TYPING_INTERVAL_SECONDS": "0.3",
    "TYPING_DELAY_SECONDS": "0",
    "USER_CACHE_SECONDS": "0",
    "LOG_LEVEL": "INFO",
    "SHUTDOWN_GRACE_SECONDS": "1",
}


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn("123456:TEST-token").running() as api:
        yield api


@pytest.fixture
def clock(telegram: TelegramStandIn) -> SkippingClock:
    """A clock for the bot's send limiter (`run_bot(clock=clock)`) on which the stand-in
    records its sends: waits for a slot are skipped, the spacing still shows."""
    skipping = SkippingClock()
    telegram.clock = skipping.now
    return skipping


@pytest.fixture
def bot_env(
    settings_env: dict[str, str], telegram: TelegramStandIn, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The bot's environment, pointed at the stand-in; tests add to it before starting."""
    env = {
        **FAST_BOT,
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_API_BASE": telegram.url,
        "HTTP_PORT": str(free_port()),
        "REST_SERVICE_URL": "http://127.0.0.1:9",  # nothing: a test that needs it starts one
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**settings_env, **env}


@pytest.fixture
def webhook_url(bot_env: dict[str, str]) -> str:
    """Where the stand-in posts in webhook mode: this test's bot's own HTTP server."""
    return f"http://127.0.0.1:{bot_env['HTTP_PORT']}/telegram/webhook"


@pytest.fixture(scope="session")
def rest_service(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
) -> Iterator[ServiceProcess]:
    """One real rest_service process for the tg_bot tests (starting one takes seconds);
    tests keep apart by using Telegram ids of their own."""
    env = {
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"{session_prefix}tg-rest:",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        **REST_LOOPS_OFF,  # it outlives the file that starts it (tests/shared_services.py)
        **secrets,
    }
    stack = Stack(env, tmp_path_factory.mktemp("tg_bot_rest"))
    try:
        yield stack.start("rest_service")
    finally:
        stack.stop_all()


@pytest.fixture
def rest_url(
    rest_service: ServiceProcess, bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """The bot of this test talks to the shared rest_service."""
    monkeypatch.setenv("REST_SERVICE_URL", rest_service.url)
    bot_env["REST_SERVICE_URL"] = rest_service.url
    return rest_service.url


@pytest.fixture
async def own_rest(
    service_env: dict[str, str], bot_env: dict[str, str], tmp_path: Path, monkeypatch
) -> AsyncIterator[RestClient]:
    """A rest_service on this test's Redis prefix (the shared one has its own), so what it
    says on `user:updated` and `pairings:updated` reaches the bot."""
    stack = Stack(service_env, tmp_path)
    try:
        process = stack.start("rest_service")
        monkeypatch.setenv("REST_SERVICE_URL", process.url)
        bot_env["REST_SERVICE_URL"] = process.url
        async with RestClient(process.url, service_env["SERVICE_API_TOKEN"]) as rest:
            yield rest
    finally:
        stack.stop_all()


@pytest.fixture
async def rest(rest_service: ServiceProcess, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_service.url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


RunBot = Callable[..., contextlib.AbstractAsyncContextManager[None]]


@pytest.fixture
def run_bot(bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> RunBot:
    """`async with run_bot(SEND_LIMIT_CHAT_PER_SECOND="5"):` runs tg_bot's real `main`
    in this event loop with these settings, and stops it on the way out; with
    `clock=` (the `clock` fixture) its send limiter keeps time on that clock."""

    @contextlib.asynccontextmanager
    async def running(clock: SkippingClock | None = None, **settings: str) -> AsyncIterator[None]:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        stop = asyncio.Event()
        timing: dict[str, Any] = {} if clock is None else {"clock": clock.now, "sleep": clock.sleep}
        task = asyncio.create_task(main(stop, **timing))
        try:
            await _wait_until_started(task)
            yield
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            reset_logging()

    return running


async def _wait_until_started(task: asyncio.Task[None]) -> None:
    """Until the bot's HTTP server answers (`main` is up), or `main` has ended: then its
    error is raised here."""
    url = f"http://127.0.0.1:{os.environ['HTTP_PORT']}/livez"
    async with httpx.AsyncClient(timeout=2) as http:

        async def started() -> bool:
            if task.done():
                return True
            try:
                await http.get(url)
            except httpx.TransportError:
                return False
            return True

        await until(started, 30, "tg_bot's HTTP server answering")
    if task.done():
        task.result()


async def stream_messages(
    redis: aioredis.Redis, names: Names, stream: str, model: type[Any]
) -> list[Any]:
    entries = await stream_entries(redis, names.stream(stream))
    return [model.model_validate_json(fields[b"data"]) for _id, fields in entries]


async def incoming(redis: aioredis.Redis, names: Names) -> list[IncomingMessage]:
    return await stream_messages(redis, names, TO_SECRETARY, IncomingMessage)


#: The text of the message `queued_before_a_later_one` sends.
LATER = "(a later message)"


async def queued_before_a_later_one(
    telegram: TelegramStandIn, redis: aioredis.Redis, names: Names
) -> tuple[list[IncomingMessage], int]:
    """What is queued once a private message sent now is queued too (a duplicate of an
    earlier update would have come before it), such later ones left out; its update id."""
    person = build.user(random.randint(10**8, 10**9), "Lo")
    later = telegram.inject(build.private_text(person, LATER))
    wanted = incoming_message_id(telegram.bot_id, later)

    async def with_the_later_one() -> list[IncomingMessage]:
        queued = await incoming(redis, names)
        return queued if any(m.message_id == wanted for m in queued) else []

    queued = await until(with_the_later_one, 30, "a later message queued")
    return [m for m in queued if m.text != LATER], later


async def outgoing(redis: aioredis.Redis, names: Names) -> list[OutgoingMessage]:
    return await stream_messages(redis, names, TO_TELEGRAM, OutgoingMessage)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
