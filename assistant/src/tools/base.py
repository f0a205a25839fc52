"""The tool base: one class per `tool_type`, registered by subclassing.

A tool sees the stored `input_schema` (what the model sees too), gets arguments already
fitted to it (`arguments.py`) and validated, and acts for the envelope's user
(`ToolCallOrigin.actor`), never for a user named in its arguments. It raises `ToolError`
for anything the model should read.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

import aiohttp
import redis.asyncio as aioredis

from assistant.src.settings import Settings
from common.features.calendar_client import CalendarClient
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import SnapshotTool

if TYPE_CHECKING:
    from jsonschema import ValidationError
    from jsonschema.protocols import Validator

    from assistant.src.assistants.drawing import Painter

#: Every tool class by `tool_type`; filled as the modules of this package are imported.
TOOL_TYPES: dict[str, type[BaseTool]] = {}

_MAX_REPORTED_ERRORS = 5
_MAX_ERROR_CHARS = 300


class ToolError(Exception):
    """What went wrong, in words the model can act on; it becomes the tool's result."""


@dataclass(frozen=True)
class Actor:
    """Who a message is from and where: the only user a tool may act for."""

    user_id: str
    conversation_key: str
    chat_id: int
    timezone: str
    language: str | None = None
    name: str | None = None
    username: str | None = None
    is_group: bool = False
    #: rest_service knows the user (rows may reference `user_id`).
    registered: bool = True
    #: Where the message came from (`telegram`, `cli`, `cron`): a lead's source.
    channel: str = "telegram"
    #: The bots row the conversation is with (decision 0048); None: the default bot.
    bot_id: UUID | None = None
    #: The stream the conversation's answers take (a handoff's operator replies go there).
    reply_stream: str = "queue:to_telegram"
    #: The channel the conversation is in and its id there (None for Telegram): a reminder
    #: made here fires here.
    answer_channel: Channel = Channel.TELEGRAM
    channel_chat_id: str | None = None

    @property
    def stored_user_id(self) -> str | None:
        return self.user_id if self.registered else None

    @property
    def label(self) -> str:
        return self.name or (f"@{self.username}" if self.username else "user")


@dataclass(frozen=True)
class ToolCallOrigin:
    """Where a tool call comes from: whose message, which one, which assistant, and the
    call's place in the turn (what idempotency keys and ownership checks are made of)."""

    actor: Actor
    message_id: str
    assistant_id: UUID
    #: The call's position in the turn ("2"; "2/0" inside a sub-assistant), so a redelivered
    #: message repeats the same keys.
    position: str
    depth: int
    #: The user pressed Yes to exactly this call (assistant/src/confirmed.py): a tool that
    #: always asks first (mail's send) now acts.
    confirmed: bool = False

    @property
    def idempotency_key(self) -> str:
        """What a tool that writes passes along, so a redelivery writes nothing twice."""
        return f"{self.message_id}:{self.position}"


@dataclass(frozen=True)
class SubAssistantRequest:
    assistant_id: UUID
    query: str
    call: ToolCallOrigin


SubAssistantRunner = Callable[[SubAssistantRequest], Awaitable[str]]


@dataclass(frozen=True)
class ToolServices:
    """What tools may use; `delegate` runs another assistant on the message's config.
    `http` is the process's one session for outside HTTP APIs; `clock` is now (aware), which a
    test may replace with one it moves on instead of waiting."""

    settings: Settings
    redis: aioredis.Redis
    names: Names
    rest: RestClient
    http: aiohttp.ClientSession
    delegate: SubAssistantRunner | None = None
    clock: Callable[[], datetime] = utcnow
    #: The turn's image model, for `draw` (None: no turn built it, so nothing is drawn).
    painter: Painter | None = None

    @cached_property
    def calendar(self) -> CalendarClient:
        settings = self.settings
        return CalendarClient(
            self.http,
            settings.google_calendar_service_url,
            settings.own_service_token,
            settings.tool_timeout_seconds,
        )


class BaseTool(ABC):
    tool_type: ClassVar[str]
    #: What the tool returns comes from outside (a web page, search results, another
    #: server's answer): text anyone may have written, read as data, never as instructions.
    #: A turn that ran such a tool asks the user before it stores or removes anything.
    reads_outside_content: ClassVar[bool] = False

    def __init_subclass__(cls, tool_type: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if tool_type:
            cls.tool_type = tool_type
            TOOL_TYPES[tool_type] = cls

    def __init__(self, spec: SnapshotTool, services: ToolServices) -> None:
        self.spec = spec
        self.services = services

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def timeout(self) -> float:
        return self.services.settings.tool_timeout_seconds

    def definition(self) -> dict[str, Any]:
        """The function the model sees: the stored name, description and schema."""
        return {
            "type": "function",
            "function": {
                "name": self.spec.name,
                "description": self.spec.description or self.spec.name,
                "parameters": self.spec.input_schema,
            },
        }

    def validate(self, arguments: Any) -> None:
        """Raise `ToolError` naming every way `arguments` break the stored schema. jsonschema
        is imported by the first call a model makes, not at start (a turn without tools never
        needs it)."""
        from jsonschema.exceptions import SchemaError

        try:
            validator = _validator(json.dumps(self.spec.input_schema, sort_keys=True))
        except SchemaError as exc:
            raise ToolError(f"the tool's stored input_schema is invalid: {exc.message}") from exc
        try:
            errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
            described = [_describe(e) for e in errors[:_MAX_REPORTED_ERRORS]]
        except RecursionError as exc:
            raise ToolError("invalid arguments: nested too deeply") from exc
        if errors:
            raise ToolError("invalid arguments: " + "; ".join(described))

    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        """This call would store or remove something of the user's (a fact, a reminder, an
        event, an invitation): after outside content it waits for the user's Yes."""
        return False

    def asks_first(self, arguments: dict[str, Any]) -> bool:
        """This call only asks the user (Yes / No) and acts on their Yes: it is never held."""
        return False

    @abstractmethod
    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        """The result, JSON-serializable; `ToolError` for what the model should read."""


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Validator:
    import jsonschema.validators

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _describe(error: ValidationError) -> str:
    """The validator's message, cut short: it quotes the offending value, which may be huge."""
    where = "/".join(str(p) for p in error.absolute_path)[:_MAX_ERROR_CHARS]
    message = error.message
    if len(message) > _MAX_ERROR_CHARS:
        message = f"{message[: _MAX_ERROR_CHARS // 2]} … {message[-_MAX_ERROR_CHARS // 2 :]}"
    return f"{where}: {message}" if where else message
