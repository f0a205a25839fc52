"""The whole system for end-to-end tests: every service a real process, the outside world
the sandbox stand-ins, driven the way a user drives it, through Telegram.

`running_system()` makes a database of its own (a copy of a migrated one), starts
rest_service, imports the shipped `rest_service/seed/default_config.json` through the config
import (its provider pointed at the LLM stand-in), starts google_calendar_service,
cron_service, assistant, tg_bot and channels, and yields a `System`: the stand-ins (to script
the LLM, arrange Google, read what Telegram got) and helpers to say something in a chat and
await the bot's answer there. With `one_process`, the six run in one process
(ops/one_process.py), each with the same settings of its own as in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.infrastructure.redis_keys import Names
from ops.processes import Stack
from ops.services import NAMES, ROOT
from sandbox import telegram_updates as build
from sandbox.google_api import GoogleStandIn, serving_in_thread
from sandbox.llm_server import LlmStandIn, RecordedRequest
from sandbox.mcp_stdio_probe import probe_server
from sandbox.open_meteo import OpenMeteoStandIn
from sandbox.search_stand_in import SearchStandIn
from sandbox.telegram_api import SentMessage, TelegramStandIn
from tests.harness import MigratedDatabases, base_env, query
from tests.waiting import NotInTime, until, until_sync
from tg_bot.tests.conftest import FAST_BOT

Json = dict[str, Any]

#: The models the seed creates from DEFAULT_MODEL and FALLBACK_MODEL.
DEFAULT_MODEL = "sandbox-default"
FALLBACK_MODEL = "sandbox-fallback"

#: The calendar callback's address as registered with Google; the test's browser reaches
#: it on whatever port the service got.
PUBLIC_CALENDAR_URL = "http://calendar.test"

#: Fast retries and polls, limits high enough not to matter: the tests wait on events,
#: and a busy machine must not make them wait on backoffs.
ASSISTANT_ENV = {
    "LLM_RETRY_BASE_SECONDS": "0.01",
    "LLM_TIMEOUT_SECONDS": "15",
    "CONFIG_POLL_SECONDS": "1",
    "REST_RETRY_SECONDS": "0.5",
    "SHUTDOWN_GRACE_SECONDS": "2",
    "EVENT_ALERT_INTERVAL_SECONDS": "1",
    # No running summary joins the requests a scenario reads from the LLM stand-in
    # (assistant/tests/test_summaries.py proves the summary with its own assistant).
    "SUMMARY_AFTER_MESSAGES": "1000",
}
#: Who stdio MCP servers run as: the tests may run as root, the assistant then needs one.
MCP_USER = "nobody" if os.geteuid() == 0 else ""
#: tg_bot shows no live answers here: the assistant still streams every turn and publishes
#: drafts (so every scenario runs the streamed path), but a group's answer arrives as one
#: message, which `say` can wait for. Live answers have their own end-to-end tests
#: (tests/test_live_answers.py, assistant/tests/test_live_answers.py).
BOT_ENV = {
    **FAST_BOT,
    "TYPING_INTERVAL_SECONDS": "0.5",
    "LOG_LEVEL": "DEBUG",
    "STREAM_ANSWERS": "false",
}
CRON_ENV = {
    "CRON_UPDATE_DEBOUNCE": "0.05",
    "CRON_RECOVERY_INTERVAL": "1",
    "CRON_RECOVERY_MIN_AGE": "2",
}
CALENDAR_ENV = {
    "GOOGLE_REDIRECT_URI": f"{PUBLIC_CALENDAR_URL}/auth/callback",
    "GOOGLE_RETRY_BASE_SECONDS": "0.05",
    "GOOGLE_RETRY_MAX_SECONDS": "0.4",
}

_URL = re.compile(r"https?://[^\s\"'<>)\]]+")

#: The two shapes of the system: a process per service, and all services in one process.
MODES = ("processes", "one_process")
#: A test of a module with `parametrize_modes` that runs in both shapes.
IN_BOTH_MODES = pytest.mark.parametrize("whole_system", MODES, indirect=True)


def parametrize_modes(metafunc: pytest.Metafunc) -> None:
    """A module's `pytest_generate_tests`: its tests run on the system in processes, those
    marked IN_BOTH_MODES in one process too; every test names its shape, so each shape
    starts once for the module."""
    marked = any(
        mark.args[0] == "whole_system" for mark in metafunc.definition.iter_markers("parametrize")
    )
    if "whole_system" in metafunc.fixturenames and not marked:
        metafunc.parametrize("whole_system", MODES[:1], indirect=True)


class TelegramThread:
    """The Telegram stand-in on an event loop of its own thread: it keeps answering the bot
    while a test blocks, and it outlives each test's event loop (module-scoped systems)."""

    def __init__(self, token: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="telegram-stand-in", daemon=True
        )
        self._thread.start()
        self.api = self._run(self._start(token))

    async def _start(self, token: str) -> TelegramStandIn:
        api = TelegramStandIn(token)
        await api.start()
        return api

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _inject(self, update: Json, api: TelegramStandIn | None = None) -> int:
        return (api or self.api).inject(update)

    def inject(self, update: Json, api: TelegramStandIn | None = None) -> int:
        """Queue an update for the bot's getUpdates (on the stand-in's own loop); `api`:
        another bot's (`add_bot`)."""
        return self._run(self._inject(update, api))

    async def _add_bot(self, token: str, username: str) -> TelegramStandIn:
        return self.api.add_bot(token, bot_username=username)

    def add_bot(self, token: str, username: str) -> TelegramStandIn:
        """Another bot served beside the default one (a bots row's, decision 0048)."""
        return self._run(self._add_bot(token, username))

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in list(self.api.sent) if m.chat_id == chat_id]

    def stop(self) -> None:
        self._run(self.api.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass
class Person:
    """Someone who talks to the bot in Telegram."""

    telegram: Json

    @classmethod
    def new(cls, first_name: str, *, language: str = "en") -> Person:
        """Someone new: a Telegram id and a username of their own."""
        telegram_id = 7_000_000_000 + uuid.uuid4().int % 900_000_000
        username = f"{first_name.lower()}_{uuid.uuid4().hex[:8]}"
        return cls(build.user(telegram_id, first_name, username=username, language_code=language))

    @property
    def id(self) -> int:
        return int(self.telegram["id"])

    @property
    def username(self) -> str:
        return str(self.telegram["username"])


@dataclass
class System:
    """The running system and the stand-ins around it, with what a test does to them."""

    stack: Stack
    telegram: TelegramThread
    llm: LlmStandIn
    google: GoogleStandIn
    open_meteo: OpenMeteoStandIn
    secrets: dict[str, str]
    names: Names
    database_url: str
    #: SearXNG's API and the pages it finds; the assistant may read only its port locally.
    search: SearchStandIn | None = None

    # -- Telegram ----------------------------------------------------------------------------

    @property
    def bot_username(self) -> str:
        return self.telegram.api.bot_username

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return self.telegram.sent_to(chat_id)

    async def say(
        self, person: Person, text: str, *, group: Json | None = None, timeout: float = 30
    ) -> SentMessage:
        """`person` writes `text` (in their private chat, or in `group`); the bot's next
        message in that chat."""
        chat = group or build.private_chat(person.telegram)
        before = len(self.sent_to(chat["id"]))
        self.telegram.inject(build.message(chat, person.telegram, text=text))
        return await self.next_message(chat["id"], after=before, timeout=timeout)

    async def mention(
        self, person: Person, group: Json, text: str, timeout: float = 30
    ) -> SentMessage:
        """`@bot text` in a group."""
        return await self.say(person, f"@{self.bot_username} {text}", group=group, timeout=timeout)

    async def next_message(
        self, chat_id: int, *, after: int, containing: str = "", timeout: float = 30
    ) -> SentMessage:
        """The first message to `chat_id` past the first `after` that contains `containing`."""

        def found() -> SentMessage | None:
            return next((m for m in self.sent_to(chat_id)[after:] if containing in m.text), None)

        try:
            return await until(found, timeout, f"{containing!r} in chat {chat_id}")
        except NotInTime:
            seen = [m.text for m in self.sent_to(chat_id)]
            wanted = f"no {containing!r} in chat {chat_id} in {timeout}s"
            raise AssertionError(f"{wanted}: {seen}") from None

    def link_to(self, message: SentMessage, prefix: str) -> str:
        """The link in `message` (a text link or a URL in the text) that starts with `prefix`."""
        links = [e["url"] for e in message.entities if e.get("type") == "text_link"]
        links += _URL.findall(message.text)
        found = [link for link in links if link.startswith(prefix)]
        assert found, f"no link to {prefix} in {message.text!r}"
        return found[0]

    # -- the model -----------------------------------------------------------------------------

    def requests_about(self, text: str) -> list[RecordedRequest]:
        """The completion requests whose latest user message contains `text`."""
        return [
            r for r in list(self.llm.requests) if text in str((r.last("user") or {}).get("content"))
        ]

    def request_about(self, text: str) -> RecordedRequest:
        """The first request of the first turn about `text` (what the model was first told)."""
        found = self.requests_about(text)
        assert found, f"the model was never asked about {text!r}"
        return found[0]

    def tool_results(self, text: str) -> list[Any]:
        """What the tools gave back to the model in the latest turn about `text`."""
        found = self.requests_about(text)
        assert found, f"the model was never asked about {text!r}"
        messages = found[-1].messages
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        tools = [m["content"] for m in messages[last_user:] if m["role"] == "tool"]
        return [_unwrapped(json.loads(content)) for content in tools]

    # -- Google ------------------------------------------------------------------------------

    async def consent(self, auth_url: str, email: str) -> httpx.Response:
        """The user's browser: the consent screen at the Google stand-in (signed in as
        `email`, granting access), then the redirect back to the calendar service."""
        self.google.state.queue_consent(True, email)
        async with httpx.AsyncClient(timeout=30) as http:
            screen = await http.get(auth_url)
            assert screen.status_code == 302, screen.text
            callback = screen.headers["location"]
            service = self.stack.url("google_calendar_service")
            return await http.get(callback.replace(PUBLIC_CALENDAR_URL, service, 1))

    # -- rest_service ------------------------------------------------------------------------

    def admin(self) -> httpx.AsyncClient:
        """The REST API as an administrator."""
        return httpx.AsyncClient(
            base_url=self.stack.url("rest_service"),
            headers={"Authorization": f"Bearer {self.secrets['ADMIN_API_TOKEN']}"},
            timeout=30,
        )

    async def assistant_has_latest_config(self, timeout: float = 10) -> int:
        """Wait until the running assistant reports the config version rest_service has
        (it hears `config:updated`, or polls); that version."""
        async with self.admin() as admin, httpx.AsyncClient(timeout=5) as http:
            latest = (await admin.get("/api/config/version")).json()["version"]

            async def seen() -> bool:
                health = (await http.get(f"{self.stack.url('assistant')}/health")).json()
                return bool(health["checks"]["config"]["version"] >= latest)

            await until(seen, timeout, f"the assistant saw version {latest}")
            return int(latest)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Raw SQL on the system's database."""
        return query(self.database_url, sql, *params)

    def user_row(self, person: Person) -> Json | None:
        rows = self.query(
            "SELECT id, timezone, preferred_model FROM users WHERE telegram_id = %s", person.id
        )
        if not rows:
            return None
        user_id, timezone, model = rows[0]
        return {"id": str(user_id), "timezone": timezone, "preferred_model": model}

    def reminder_runs(self, person: Person) -> list[str]:
        """The outcomes of the fires of `person`'s jobs, in the order they were due."""
        rows = self.query(
            "SELECT r.outcome FROM cron_job_runs r JOIN cron_jobs j ON j.id = r.job_id "
            "JOIN users u ON u.id = j.user_id WHERE u.telegram_id = %s ORDER BY r.scheduled_for",
            person.id,
        )
        return [outcome for (outcome,) in rows]


def seed_document(env: dict[str, str]) -> Json:
    """The shipped default configuration with its placeholders filled from `env`, as the
    seed fills them on a fresh install: its provider is the LLM stand-in."""
    raw = (ROOT / "rest_service" / "seed" / "default_config.json").read_text(encoding="utf-8")
    # The voice and picture models as rest_service's settings default them (no picture
    # model), unless `env` names others.
    media = {"TRANSCRIPTION_MODEL": "whisper-1", "SPEECH_MODEL": "tts-1", "IMAGE_MODEL": ""}
    values = {**media, **{k: env[k] for k in media if env.get(k)}}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "DEFAULT_MODEL", "FALLBACK_MODEL"):
        values[name] = env[name]
    for name, value in values.items():
        raw = raw.replace(f"${{{name}}}", value)
    document = json.loads(raw)
    document["models"] = [m for m in document["models"] if m["provider_model_name"]]
    return document


def _import_seed(stack: Stack) -> None:
    stack.import_config(seed_document(stack.env))


def _start_services(stack: Stack, settings: dict[str, dict[str, str]]) -> None:
    """rest_service first (everyone is told its URL); the calendar service beside
    cron_service while the config is imported; then the ones that are told the calendar
    service's URL (the assistant loads the imported config as it starts), and channels."""
    stack.start("rest_service", env=settings.get("rest_service"))
    with ThreadPoolExecutor(3) as pool:
        waves = (
            (
                lambda: _import_seed(stack),
                lambda: stack.start(
                    "google_calendar_service", env=settings["google_calendar_service"]
                ),
                lambda: stack.start("cron_service", env=settings["cron_service"]),
            ),
            (
                lambda: stack.start("assistant", env=settings["assistant"]),
                lambda: stack.start("tg_bot", env=settings["tg_bot"]),
                lambda: stack.start("channels", env=settings.get("channels")),
            ),
        )
        for wave in waves:
            for future in [pool.submit(start) for start in wave]:
                future.result()


def _start_one_process(stack: Stack, settings: dict[str, dict[str, str]]) -> None:
    """All six in one process, each with its settings; the config imported once rest_service
    answers, then waited for until the assistant holds it (as it does starting after it)."""
    stack.launch_one_process({name: settings.get(name, {}) for name in NAMES})
    stack.wait_healthy(["rest_service"])
    imported = stack.import_config(seed_document(stack.env))["version"]
    stack.wait_healthy(NAMES)

    def assistant_holds_it() -> bool:
        url = f"{stack.url('assistant')}/health"
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(json.load(response)["checks"]["config"]["version"] >= imported)

    until_sync(assistant_holds_it, 30, f"the assistant holds config version {imported}")


@contextlib.contextmanager
def running_system(
    databases: MigratedDatabases,
    redis_url: str,
    key_prefix: str,
    secrets: dict[str, str],
    workdir: Path,
    extra_env: Mapping[str, Mapping[str, str]] | None = None,
    *,
    one_process: bool = False,
) -> Iterator[System]:
    """Every service as a process (or all in one); `extra_env` adds settings of a service's
    (by its name)."""
    database_url = databases.create()
    llm = LlmStandIn().start_in_thread()
    open_meteo = OpenMeteoStandIn().start_in_thread()
    search = SearchStandIn().start_in_thread()
    telegram = TelegramThread(secrets["TELEGRAM_TOKEN"])
    stack: Stack | None = None
    try:
        with serving_in_thread() as google:
            env = {
                **base_env(database_url, redis_url, key_prefix, secrets),
                "OPENAI_BASE_URL": llm.base_url,
                "OPENAI_API_KEY": "sk-sandbox",
                "DEFAULT_MODEL": DEFAULT_MODEL,
                "FALLBACK_MODEL": FALLBACK_MODEL,
                "TELEGRAM_API_BASE": telegram.api.url,
                # rest_service checks the names, the assistant starts the server.
                "MCP_STDIO_SERVERS": json.dumps({"probe": probe_server(MCP_USER).model_dump()}),
            }
            stack = Stack(env, workdir)
            settings = {
                "google_calendar_service": {**google.settings(), **CALENDAR_ENV},
                "assistant": {
                    **ASSISTANT_ENV,
                    "GEOCODING_API_URL": open_meteo.geocoding_url,
                    "WEATHER_API_URL": open_meteo.forecast_url,
                    "SEARXNG_URL": search.base_url,
                    "WEB_FETCH_ALLOW_HOSTS": search.host,
                    "MCP_HTTP_ALLOW_HOSTS": "127.0.0.1",
                    "MCP_STDIO_USER": MCP_USER,
                },
                "cron_service": CRON_ENV,
                "tg_bot": BOT_ENV,
            }
            for service, added in (extra_env or {}).items():
                settings[service] = {**settings.get(service, {}), **added}
            if one_process:
                _start_one_process(stack, settings)
            else:
                _start_services(stack, settings)
            yield System(
                stack,
                telegram,
                llm,
                google,
                open_meteo,
                secrets,
                Names(key_prefix),
                database_url,
                search,
            )
    finally:
        if stack is not None:
            stack.stop_all(together=True)  # each takes a moment to finish what it holds
        telegram.stop()
        llm.stop_thread()
        open_meteo.stop_thread()
        search.stop_thread()
        databases.drop(database_url)


def _unwrapped(result: Any) -> Any:
    """A tool result as the tool gave it: outside content comes to the model in an envelope
    that marks it as data (`outside_content`)."""
    if isinstance(result, dict) and "outside_content" in result and "note" in result:
        return result["outside_content"]
    return result
