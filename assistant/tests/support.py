"""What the assistant's tests share: a config document for rest_service's import, a
deployment (rest_service and assistant processes with the stand-ins), and message helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis.asyncio as aioredis
from structlog.typing import EventDict

from assistant.src.tools.base import Actor, ToolCallOrigin
from common.infrastructure.queue_messages import ChatType, IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import ConfigSnapshot, Message, SnapshotTool, TelegramUser, ToolType
from ops.processes import ServiceProcess, Stack
from sandbox.llm_server import LlmStandIn
from sandbox.open_meteo import OpenMeteoStandIn
from tests.streams import stream_entries
from tests.waiting import until

TIME_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["now", "convert", "resolve", "set_timezone"]},
        "timezone": {"type": "string"},
        "time": {"type": "string"},
        "to_timezone": {"type": "string"},
        "phrase": {"type": "string"},
    },
    "required": ["action"],
}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "minLength": 1},
        "days": {"type": "integer", "minimum": 1, "maximum": 16},
    },
    "required": ["location"],
}
#: MCP_STDIO_SERVERS of the shared platform's rest_service: names an mcp tool may give.
STDIO_SERVERS = {
    "files": {"command": "/usr/local/bin/mcp-files", "args": ["--root", "/srv"]},
    "orders": {"command": "mcp-orders", "env": ["ORDERS_TOKEN"]},
}
QUERY_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "minLength": 1}},
    "required": ["query"],
}


def call_context(timezone: str = "Europe/Moscow", user_id: str = "u1") -> ToolCallOrigin:
    actor = Actor(user_id=user_id, conversation_key=user_id, chat_id=1, timezone=timezone)
    return ToolCallOrigin(actor, "m1", uuid.UUID(int=1), "0", 0)


def tool_spec(
    tool_type: str,
    *,
    name: str | None = None,
    input_schema: dict[str, Any] | None = None,
    tool_id: uuid.UUID | str | None = None,
    sub_assistant_id: uuid.UUID | str | None = None,
) -> SnapshotTool:
    """A tool as the config snapshot carries it."""
    return SnapshotTool.model_validate(
        {
            "id": tool_id or uuid.uuid4(),
            "name": name or tool_type,
            "tool_type": ToolType(tool_type),
            "description": "",
            "input_schema": input_schema or {"type": "object", "properties": {}},
            "sub_assistant_id": sub_assistant_id,
        }
    )


@dataclass
class TestConfig:
    """Names in one test's config; unique per test where rest_service wants them unique."""

    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    instructions: str = "You are a test secretary."

    @property
    def secretary(self) -> str:
        return f"secretary-{self.suffix}"

    @property
    def helper(self) -> str:
        return f"helper-{self.suffix}"

    @property
    def primary(self) -> str:
        return f"primary-{self.suffix}"

    @property
    def fallback(self) -> str:
        return f"fallback-{self.suffix}"

    def document(self, llm_url: str) -> dict[str, Any]:
        """The secretary with time, weather and a helper sub-assistant; the helper has time
        and may ask itself (the depth limit stops it)."""
        provider = f"sandbox-{self.suffix}"
        return {
            "providers": [{"name": provider, "base_url": llm_url, "api_key": "sk-sandbox"}],
            "models": [
                {"provider": provider, "provider_model_name": self.primary, "is_default": True},
                {"provider": provider, "provider_model_name": self.fallback, "is_fallback": True},
            ],
            "assistants": [
                {"name": self.secretary, "is_secretary": True, "instructions": self.instructions},
                {
                    "name": self.helper,
                    "instructions": "You are a test helper.",
                    # Runs the same way, on chat completions with an emulated thread.
                    "assistant_type": "openai_api",
                    "openai_assistant_id": "asst_legacy",
                },
            ],
            "tools": [
                {
                    "name": "time",
                    "tool_type": "time",
                    "description": "Time",
                    "input_schema": TIME_SCHEMA,
                },
                {
                    "name": "weather",
                    "tool_type": "weather",
                    "description": "Weather for a place",
                    "input_schema": WEATHER_SCHEMA,
                },
                {
                    "name": "ask_helper",
                    "tool_type": "sub_assistant",
                    "description": "Ask the helper",
                    "input_schema": QUERY_SCHEMA,
                    "sub_assistant": self.helper,
                },
            ],
            "links": [
                {"assistant": self.secretary, "tool": "time"},
                {"assistant": self.secretary, "tool": "weather"},
                {"assistant": self.secretary, "tool": "ask_helper", "sub_assistant": self.helper},
                {"assistant": self.helper, "tool": "time"},
                {"assistant": self.helper, "tool": "ask_helper", "sub_assistant": self.helper},
            ],
        }


#: Settings of every assistant a test starts: stand-ins, fast retries and claims.
FAST_ASSISTANT = {
    "OPENAI_API_KEY": "sk-default",
    "LLM_RETRY_BASE_SECONDS": "0.01",
    "LLM_TIMEOUT_SECONDS": "10",
    "QUEUE_CLAIM_IDLE_MS": "1500",
    "QUEUE_CLAIM_INTERVAL_SECONDS": "0.3",
    # Long enough that a process slowed by a busy test machine keeps its chats' locks.
    "QUEUE_LOCK_TTL_MS": "5000",
    "REST_RETRY_SECONDS": "0.5",
    "CONFIG_POLL_SECONDS": "1",
    "SHUTDOWN_GRACE_SECONDS": "3",
    # No running summary behind the tests that read the model's last request; the summary's
    # own tests (test_summaries.py) start an assistant that makes them.
    "SUMMARY_AFTER_MESSAGES": "1000",
}

#: The assistant process the end-to-end tests share.
SHARED = "assistant"


@dataclass
class Platform:
    """What the end-to-end tests share: rest_service with their config, the stand-ins, and
    an assistant process started on first use. One Redis prefix for all."""

    stack: Stack
    llm: LlmStandIn
    open_meteo: OpenMeteoStandIn
    names: Names
    secrets: dict[str, str]
    config: TestConfig = field(default_factory=TestConfig)

    @property
    def rest_url(self) -> str:
        return self.stack.url("rest_service")

    def import_config(self, document: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.stack.import_config(document or self.config.document(self.llm.base_url))

    async def put_back_its_config(self, rest: RestClient) -> None:
        """The secretary, default and fallback model hold those roles again, active, if another
        file on this worker's database changed them since (one of each at a time; under xdist
        files run in any order: a default left to a file whose stand-in is gone sent every turn
        to the fallback), and the running assistant has seen it. Importing the document again
        puts back whatever was taken, deactivated or deleted."""
        if self._holds_its_roles(await rest.get_config()):
            return
        await asyncio.to_thread(self.import_config)
        await self.config_seen(rest)

    async def config_seen(self, rest: RestClient) -> None:
        """The running shared assistant has seen the latest config version."""
        shared = self.stack.processes.get(SHARED)
        if shared is None or not shared.running:
            return  # an assistant that starts reads the config then
        latest = await rest.get_config_version()
        async with httpx.AsyncClient(timeout=5) as http:

            async def seen() -> bool:
                health = (await http.get(f"{shared.url}/health")).json()
                return bool(health["checks"]["config"]["version"] >= latest)

            await until(seen, message=f"the assistant saw config version {latest}")

    def _holds_its_roles(self, config: ConfigSnapshot) -> bool:
        """`config` lists only active rows."""
        models = {m.provider_model_name: m for m in config.models}
        primary, fallback = models.get(self.config.primary), models.get(self.config.fallback)
        return (
            config.secretary is not None
            and config.secretary.name == self.config.secretary
            and any(a.name == self.config.helper for a in config.assistants)
            and primary is not None
            and primary.is_default
            and fallback is not None
            and fallback.is_fallback
        )

    def start_assistant(self, name: str = SHARED, **env: str) -> ServiceProcess:
        full = {
            **FAST_ASSISTANT,
            "OPENAI_BASE_URL": self.llm.base_url,
            "GEOCODING_API_URL": self.open_meteo.geocoding_url,
            "WEATHER_API_URL": self.open_meteo.forecast_url,
            **env,
        }
        process = self.stack.processes.get(name)
        if process is not None and not process.running and not env:
            return self.stack.restart(name)
        return self.stack.start("assistant", name=name, env=full)

    def assistants(self) -> list[ServiceProcess]:
        return [p for p in self.stack.processes.values() if p.service == "assistant"]


@dataclass
class Deployment:
    """One test's view of the platform: its own reply stream, fresh stand-in scripts."""

    platform: Platform
    admin: RestClient
    rest: RestClient
    redis: aioredis.Redis
    replies: str = field(default_factory=lambda: f"test:replies:{uuid.uuid4().hex[:8]}")
    started: list[str] = field(default_factory=list)

    @property
    def llm(self) -> LlmStandIn:
        return self.platform.llm

    @property
    def open_meteo(self) -> OpenMeteoStandIn:
        return self.platform.open_meteo

    @property
    def names(self) -> Names:
        return self.platform.names

    @property
    def config(self) -> TestConfig:
        return self.platform.config

    @property
    def stack(self) -> Stack:
        return self.platform.stack

    async def assistant(self) -> ServiceProcess:
        """The module's shared assistant, started if it is not running."""
        process = self.stack.processes.get(SHARED)
        if process is not None and process.running:
            return process
        return await asyncio.to_thread(self.platform.start_assistant)

    async def another_assistant(self, name: str, **env: str) -> ServiceProcess:
        """One more assistant process on the same queue, stopped when the test ends."""
        self.started.append(name)
        return await asyncio.to_thread(self.platform.start_assistant, name, **env)

    async def user(
        self, first_name: str, *, timezone: str | None = None, language: str = "en"
    ) -> TelegramUser:
        telegram_id = uuid.uuid4().int % 10**12
        user, _made = await self.rest.get_or_create_user(
            telegram_id, username=first_name.lower(), first_name=first_name, language=language
        )
        if timezone:
            user = TelegramUser.model_validate(
                await self.rest.update_user(user.id, timezone=timezone)
            )
        return user

    async def send(
        self,
        user: TelegramUser,
        text: str,
        *,
        chat_id: int | None = None,
        group: bool = False,
        reply_stream: str | None = None,
        **fields: Any,
    ) -> IncomingMessage:
        """`fields` are the message's other fields (another channel's ids)."""
        message = IncomingMessage(
            message_id=uuid.uuid4(),
            chat_id=chat_id if chat_id is not None else int(user.telegram_id),
            chat_type=ChatType.GROUP if group else ChatType.PRIVATE,
            user_id=user.id,
            telegram_user_id=user.telegram_id,
            username=user.username,
            first_name=user.first_name,
            language_code=user.language,
            text=text,
            reply_stream=reply_stream or self.replies,
            **fields,
        )
        await self.redis.xadd(self.names.to_secretary, {"data": message.to_json()})
        return message

    async def answers(self, stream: str | None = None) -> list[OutgoingMessage]:
        entries = await stream_entries(self.redis, self.names.stream(stream or self.replies))
        return [OutgoingMessage.model_validate_json(fields[b"data"]) for _id, fields in entries]

    async def answer_to(
        self, message: IncomingMessage, *, stream: str | None = None, timeout: float = 20.0
    ) -> OutgoingMessage:
        async def found() -> OutgoingMessage | None:
            wanted = str(message.message_id)
            return next((a for a in await self.answers(stream) if a.correlation_id == wanted), None)

        return await until(found, timeout, f"no answer to {message.text!r}")

    async def ask(self, user: TelegramUser, text: str, **options: Any) -> OutgoingMessage:
        return await self.answer_to(await self.send(user, text, **options))

    async def thread_messages(
        self, conversation_key: str, assistant_name: str | None = None
    ) -> list[Message]:
        """Every stored message of the conversation's thread with that assistant."""
        assistant_id = await self.assistant_id(assistant_name or self.config.secretary)
        threads = await self.rest.list_threads(
            conversation_key=conversation_key, assistant_id=assistant_id
        )
        if not threads:
            return []
        return await self.rest.list_messages(threads[0].thread_id, limit=1000)

    def import_models(self, models: list[tuple[str, list[str], bool]]) -> None:
        """Models (name, capabilities, active) on the test config's provider, the LLM
        stand-in; the assistant reads the new config version before its next message."""
        provider = f"sandbox-{self.config.suffix}"
        self.platform.import_config(
            {
                "providers": [
                    {"name": provider, "base_url": self.llm.base_url, "api_key": "sk-sandbox"}
                ],
                "models": [
                    {
                        "provider": provider,
                        "provider_model_name": name,
                        "capabilities": capabilities,
                        "is_active": active,
                    }
                    for name, capabilities, active in models
                ],
            }
        )

    async def assistant_id(self, name: str) -> str:
        assistants = await self.admin.get_json("/api/assistants/", limit=1000)
        return next(a["id"] for a in assistants if a["name"] == name)


@asynccontextmanager
async def running_until_stopped(
    loop: Callable[[asyncio.Event], Coroutine[Any, Any, Any]], logs: list[EventDict]
) -> AsyncIterator[Callable[[str, int], Any]]:
    """`loop(stop)` running in a task for the block, given a wait for `times` log entries
    of an event; stopped after, and it must end cleanly."""
    stop = asyncio.Event()
    task = asyncio.create_task(loop(stop))

    async def logged(event: str, times: int) -> None:
        def seen() -> bool:
            return sum(entry["event"] == event for entry in logs) >= times

        await until(seen, 10, f"{times} x {event}")

    try:
        yield logged
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert task.exception() is None
