"""What a handler gets (one addressed message, `Addressed`, and the bot's `Services`) and what it
gives back (`Outcome`: the message for the assistant and/or the bot's own replies)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp
import redis.asyncio as aioredis

from common.features.calendar_client import CalendarClient
from common.features.catalogue import Texts
from common.features.limits import MessageRateLimit, TokenBudget
from common.infrastructure.clock import utcnow
from common.infrastructure.queue_messages import (
    ChatType,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    answer_message_id,
    conversation_key,
)
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from tg_bot.src.clients.types import TgMessage, TgUser
from tg_bot.src.domain.pairings import PairingDirectory
from tg_bot.src.domain.users import UserDirectory
from tg_bot.src.settings import Settings

if TYPE_CHECKING:
    from tg_bot.src.clients.telegram import TelegramClient
    from tg_bot.src.handlers.commands import CommandRegistry


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is (from getMe): its id derives message ids, its username mentions."""

    id: int
    username: str


@dataclass(frozen=True)
class BotProfile:
    """What a bots row (decision 0048) says about its bot's conversations."""

    id: uuid.UUID
    #: The answer to /start; None: the default greeting.
    greeting: str | None
    #: Telegram user ids allowed to talk to it; empty: everyone.
    allowed_user_ids: frozenset[int]


@dataclass
class Services:
    settings: Settings
    rest: RestClient
    users: UserDirectory
    redis: aioredis.Redis
    names: Names
    commands: CommandRegistry
    #: The process's one session for the other HTTP services (not Telegram: its client has its own).
    http: aiohttp.ClientSession
    #: For what a handler says to Telegram directly (a callback query's answer); None in tools
    #: that route updates without a bot.
    telegram: TelegramClient | None = None
    #: The bots row whose bot these updates came to; None: the default bot (TELEGRAM_TOKEN).
    bot: BotProfile | None = None

    @property
    def bot_id(self) -> uuid.UUID | None:
        return self.bot.id if self.bot else None

    @functools.cached_property
    def calendar(self) -> CalendarClient:
        return CalendarClient(
            self.http,
            self.settings.google_calendar_service_url,
            self.settings.own_service_token,
            timeout=10.0,
        )

    @functools.cached_property
    def message_limit(self) -> MessageRateLimit:
        return MessageRateLimit(
            self.redis, self.names, self.settings.rate_limit_messages_per_minute
        )

    @functools.cached_property
    def token_budget(self) -> TokenBudget:
        return TokenBudget(self.redis, self.names, self.settings.llm_daily_token_budget)

    @functools.cached_property
    def pairings(self) -> PairingDirectory:
        return PairingDirectory(self.rest, self.settings.user_cache_seconds)

    @property
    def pairing_on(self) -> bool:
        """PAIRING applies to the default bot only: a bots row keeps its own list."""
        return self.settings.pairing and self.bot is None

    def allowed(self, telegram_id: int) -> bool:
        """A bots row's own list for its bot (the owner's ALLOWED_TELEGRAM_IDS keep the default
        bot: a shop's bot talks to its customers); empty lets everyone in."""
        allowed = self.bot.allowed_user_ids if self.bot else self.settings.allowed_ids
        return not allowed or telegram_id in allowed


async def claimed(redis: aioredis.Redis, key: str, holder: str, ttl_s: int | None) -> bool:
    """True for the first to claim `key`, and for the same `holder` again (a redelivered
    update comes to the same answer)."""
    if await redis.set(key, holder, nx=True, ex=ttl_s):
        return True
    held = await redis.get(key)
    return bool((held.decode() if isinstance(held, bytes) else held) == holder)


@dataclass(frozen=True)
class Addressed:
    """One message the bot was addressed with, and who sent it."""

    update_id: int
    message: TgMessage
    sender: TgUser
    text: str  # what the sender said to the bot (a group mention stripped)
    incoming_id: uuid.UUID
    catalogue: Texts
    user: User | None = None  # None only for a sender outside the allow-list
    created: bool = False  # the user was made just now
    edited: bool = False  # an edit of the user's last message, answered again
    bot_id: uuid.UUID | None = None  # the bots row whose bot it came to; None: the default bot
    #: When tg_bot began routing the update: the message's and the bot's answers carry it, so
    #: delivering the answer times the whole path (`smart_assistant_answer_seconds`).
    received_at: datetime = field(default_factory=utcnow)

    @property
    def thread_id(self) -> int | None:
        """A forum topic's id: every answer to a topic message goes into that topic."""
        return self.message.message_thread_id if self.message.is_topic_message else None

    @property
    def chat_id(self) -> int:
        return self.message.chat.id

    @property
    def chat_type(self) -> ChatType:
        return ChatType(self.message.chat.type)

    @property
    def is_group(self) -> bool:
        return self.message.chat.is_group

    @property
    def conversation_key(self) -> str:
        """As `IncomingMessage.conversation_key` (each bot's apart); "" for a private chat
        whose sender is not known."""
        if self.user is None and not self.is_group:
            return ""
        user_id = self.user.id if self.user else None
        return conversation_key(self.chat_id, user_id, group=self.is_group, bot_id=self.bot_id)

    @property
    def display_name(self) -> str:
        return self.sender.first_name or self.sender.username or str(self.sender.id)

    def t(self, key: str, **values: object) -> str:
        return self.catalogue.text(key, **values)

    def reply(self, text: str, kind: OutgoingKind = OutgoingKind.REPLY) -> OutgoingMessage:
        """The bot's own answer to this message (its id derived, so a redelivery is one)."""
        return OutgoingMessage(
            message_id=answer_message_id(self.incoming_id),
            chat_id=self.chat_id,
            text=text,
            kind=kind,
            correlation_id=str(self.incoming_id),
            reply_to_telegram_message_id=self.message.message_id if self.is_group else None,
            message_thread_id=self.thread_id,
            bot_id=self.bot_id,
            received_at=self.received_at,
        )

    def incoming(self) -> IncomingMessage:
        """The message for the assistant."""
        if self.user is None:
            raise ValueError("a message for the assistant needs a known user")
        return IncomingMessage(
            message_id=self.incoming_id,
            chat_id=self.chat_id,
            chat_type=self.chat_type,
            user_id=self.user.id,
            telegram_user_id=self.sender.id,
            username=self.sender.username,
            first_name=self.sender.first_name or None,
            language_code=self.sender.language_code or self.user.language,
            text=self.text,
            telegram_message_id=self.message.message_id,
            sent_at=datetime.fromtimestamp(self.message.date, UTC),
            message_thread_id=self.thread_id,
            edited=self.edited,
            bot_id=self.bot_id,
            received_at=self.received_at,
        )


@dataclass
class Outcome:
    """What one update leads to; the poller queues all of it in one step with the offset."""

    update_id: int
    kind: str = "ignored"  # for metrics and logs: queued, command, refused, nontext, ...
    incoming: IncomingMessage | None = None
    replies: list[OutgoingMessage] = field(default_factory=list)
