"""Sending: answers from `queue:to_telegram` delivered to Telegram, each exactly as a reader
should see it and within Telegram's limits.

The stream consumer (common.infrastructure.queue) gives at-least-once delivery, one chat at a time
and many chats at once, and drops a message it has already handled. Here each message is rendered
from Markdown to Telegram HTML, split into parts that fit, and every part is sent through the
limiter; a part Telegram accepted is recorded under an id derived from the message id and its
position, so a redelivered message never sends a part twice. The entry is acked only when every part
went out (the handler returns). A 429 makes this chat wait `retry_after` while other chats go on;
network errors and 5xx are retried; a 403 (the user blocked the bot) marks the user blocked and
drops the message.

The message's buttons go under its last part, and every part into its forum topic. An edit
(`edit_telegram_message_id`) changes that message into the first part ("not modified" is
done; a message gone is sent anew). A picture drawn (`photo_blob_key`) goes first as a photo,
then speech (`voice_blob_key`) as a voice message; the first of them carries the text as its
caption when that fits; each blob is deleted once it is out.
"""

from __future__ import annotations

import functools
import html
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.features.blobs import BlobStore
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.logging import get_logger
from common.infrastructure.metrics import answer_delivered
from common.infrastructure.queue import ConsumerConfig, DeadLetter, StreamConsumer
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TG_BOT_GROUP, TO_TELEGRAM, Names
from common.infrastructure.retry import RetryPolicy
from tg_bot.src.clients.errors import (
    TelegramBadRequest,
    TelegramError,
    TelegramForbidden,
    TelegramMigrateChat,
    TelegramNetworkError,
    TelegramParseError,
    TelegramRetryAfter,
    TelegramServerError,
)
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.domain.keyboards import keyboard, markup_of
from tg_bot.src.domain.live_answers import part_id, take_live_message
from tg_bot.src.domain.rate_limiter import SendLimiter, Sleep
from tg_bot.src.domain.splitting import split_html, utf16_len
from tg_bot.src.domain.users import UserDirectory
from tg_bot.src.i18n import CATALOGUE
from tg_bot.src.metrics import ANSWER_SECONDS, PARTS_SENT, SEND_ERRORS
from tg_bot.src.settings import Settings
from tg_bot.src.workers.typing import TypingIndicator

log = get_logger(__name__)

Json = dict[str, Any]
#: How long an operator may reply to a handoff's message in the operator chat.
HANDOFF_RELAY_TTL_S = 30 * 24 * 3600


#: The voice message's and the photo's places among a message's parts (text parts count from 0).
VOICE_PART = -1
PHOTO_PART = -2
#: Telegram's limit for a caption, in characters after the markup is parsed.
CAPTION_MAX = 1024
#: An edit Telegram refuses because there is nothing to change: the part is out.
_NOT_MODIFIED = "message is not modified"
#: An edit of a message that is gone or too old: the part is sent as a new message instead.
_EDIT_IMPOSSIBLE = ("message to edit not found", "message can't be edited")


#: The part is out: its marker must outlast a Redis restart (the client's own retries cover
#: about 3 s), or the entry's redelivery would send it a second time.
_MARK_SENT = RetryPolicy(retries=8, base_s=0.5, max_s=4.0)


def _redis_unavailable(error: object) -> bool:
    return isinstance(error, (RedisConnectionError, RedisTimeoutError, OSError))


def plain_text(markup: str) -> str:
    """What a reader would see of `markup`, for the fallback without parse_mode."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


class MessageDropped(Exception):
    """The message cannot be delivered and must not be retried (the chat blocked the bot)."""


class ResponseHandler:
    def __init__(
        self,
        telegram: TelegramClient,
        limiter: SendLimiter,
        redis: aioredis.Redis,
        names: Names,
        users: UserDirectory,
        typing: TypingIndicator,
        settings: Settings,
        *,
        sleep: Sleep | None = None,
        bot_id: object = None,
    ) -> None:
        """`sleep`: how a retry's delay is spent (a test's clock; by default waited out);
        `bot_id`: the bot it sends as (a bots row's id; None the default bot)."""
        self._bot_id = bot_id
        self._sleep = sleep
        self._telegram = telegram
        self._limiter = limiter
        self._redis = redis
        self._names = names
        self._users = users
        self._typing = typing
        self._settings = settings
        self._renderer = MarkdownRenderer()
        self._blobs = BlobStore(redis, names)

    def consumer(
        self,
        config: ConsumerConfig | None = None,
        *,
        handle: Callable[[OutgoingMessage], Awaitable[None]] | None = None,
        on_dead: Callable[[DeadLetter[OutgoingMessage]], Awaitable[None]] | None = None,
    ) -> StreamConsumer[OutgoingMessage]:
        """`handle`, `on_dead`: instead of this sender's own (each bot's answers go to that
        bot's sender: `workers/bots.py`)."""
        settings = self._settings
        config = config or ConsumerConfig(
            concurrency=settings.send_concurrency,
            block_ms=100,
            claim_idle_ms=settings.queue_claim_idle_ms,
            claim_interval_s=settings.queue_claim_interval_seconds,
            lock_ttl_ms=settings.queue_lock_ttl_ms,
        )
        return StreamConsumer(
            self._redis, self._names, TO_TELEGRAM, TG_BOT_GROUP, OutgoingMessage,
            handle or self.handle, config=config, on_dead=on_dead or self.dead_lettered,
            retry_sleep=self._sleep,
        )  # fmt: skip

    async def handle(self, message: OutgoingMessage) -> None:
        if message.channel is not Channel.TELEGRAM:
            # Its chat_id is a derived number no Telegram chat has: sending would only fail.
            raise Undeliverable(f"a {message.channel.value} answer on Telegram's stream")
        started = time.perf_counter()
        message = await self._live(message)
        parts = split_html(self._renderer.render(message.text), self._settings.max_message_length)
        if not parts and message.voice_blob_key is None and message.photo_blob_key is None:
            log.warning("empty_answer_dropped", chat_id=message.chat_id)
        try:
            chat_id, captioned = await self._media(message, message.chat_id, parts)
            texts = [] if captioned else parts
            for index, part in enumerate(texts):
                last = index == len(texts) - 1
                send = functools.partial(self._part, message, index=index, part=part, last=last)
                chat_id = await self._deliver(message, chat_id, index, send)
        except MessageDropped:
            pass
        else:
            ANSWER_SECONDS.observe(time.perf_counter() - started)
            answer_delivered(message.channel, message.received_at, message.model_seconds, utcnow())
            log.info("answer_sent", chat_id=message.chat_id, parts=len(parts), kind=message.kind)
        await self._typing.answered(message)

    async def _live(self, message: OutgoingMessage) -> OutgoingMessage:
        """A streamed answer's drafts stop here; in a group its first part is an edit of the
        message the drafts were shown in (`workers/drafts.py`)."""
        if not self._settings.stream_answers or message.edit_telegram_message_id is not None:
            return message
        live = await take_live_message(self._redis, self._names, str(message.message_id))
        if live is None:
            return message
        return message.model_copy(update={"edit_telegram_message_id": live})

    async def dead_lettered(self, dead: DeadLetter[OutgoingMessage]) -> None:
        """An answer that could not be delivered: the chat gets a short plain-text apology
        instead of silence (an error answer itself gets none, so nothing loops; another
        channel's answer has no Telegram chat to apologise in)."""
        message = dead.message
        if message is None or message.kind == "error" or message.channel is not Channel.TELEGRAM:
            return
        language = await self._chat_language(message.chat_id)
        apology = plain_text(self._renderer.render(CATALOGUE.text(language, "error.generic")))
        try:
            async with self._limiter.sending(message.chat_id):
                await self._telegram.send_message(
                    message.chat_id, apology, parse_mode=None,
                    message_thread_id=message.message_thread_id,
                )  # fmt: skip
        except TelegramError as exc:
            log.warning(
                "undelivered_answer_apology_failed", chat_id=message.chat_id, error=str(exc)
            )
            return
        log.info("undelivered_answer_apologised", chat_id=message.chat_id, reason=dead.reason)

    async def _chat_language(self, chat_id: int) -> str | None:
        """A private chat's id is its user's: the language they last wrote in there."""
        if chat_id <= 0:
            return None
        recent = await self._redis.get(self._names.recent_language(chat_id, chat_id))
        return recent.decode() if isinstance(recent, bytes) else recent

    async def _deliver(
        self,
        message: OutgoingMessage,
        chat_id: int,
        index: int,
        send: Callable[[int], Awaitable[None]],
    ) -> int:
        """Send one part (`send(chat_id)`) unless it already went out; returns the chat id
        it went to."""
        sent_key = self._sent_key(message, index)
        if await self._redis.exists(sent_key):
            return chat_id
        while True:
            try:
                async with self._limiter.sending(chat_id):
                    await send(chat_id)
            except TelegramMigrateChat as exc:
                log.info("group_migrated", chat_id=chat_id, new_chat_id=exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except TelegramRetryAfter as exc:
                SEND_ERRORS.labels("retry_after").inc()
                log.warning("telegram_rate_limited", chat_id=chat_id, retry_after=exc.retry_after)
                raise RetryLater(exc.retry_after, f"429 for chat {chat_id}") from None
            except (TelegramNetworkError, TelegramServerError) as exc:
                SEND_ERRORS.labels("unavailable").inc()
                log.warning("telegram_unavailable", chat_id=chat_id, error=str(exc))
                raise RetryLater(self._settings.send_outage_retry_seconds, str(exc)) from None
            except TelegramForbidden as exc:
                await self._blocked(chat_id, exc)
                raise MessageDropped from None
            break
        PARTS_SENT.inc()
        await _MARK_SENT.run(
            lambda: self._redis.set(sent_key, "1", ex=self._settings.sent_part_ttl_seconds),
            retry_exception=_redis_unavailable,
            name="mark_part_sent",
        )
        return chat_id

    def _sent_key(self, message: OutgoingMessage, index: int) -> str:
        return self._names.telegram_sent_part(str(part_id(message.message_id, index)))

    async def _part(
        self, message: OutgoingMessage, chat_id: int, index: int, part: str, last: bool
    ) -> None:
        """One text part: the first edits `edit_telegram_message_id` when there is one; the
        last carries the buttons."""
        markup = markup_of(message) if last else None
        edit = message.edit_telegram_message_id
        reply_to = message.reply_to_telegram_message_id if index == 0 else None
        if index == 0 and edit is not None and chat_id == message.chat_id:
            # An edit carries inline buttons only: the phone keyboard needs a new message.
            inline = keyboard(message.buttons) if last else None
            if await self._edit(chat_id, edit, part, inline):
                if last and inline is None and markup is not None:
                    await self._phone_keyboard(message, chat_id, markup)
                return
            async with self._limiter.sending(chat_id):  # the refused edit took this slot
                sent = await self._send(chat_id, part, reply_to, message.message_thread_id, markup)
            await self._relayed(message, chat_id, sent)
            return
        sent = await self._send(chat_id, part, reply_to, message.message_thread_id, markup)
        await self._relayed(message, chat_id, sent)

    async def _phone_keyboard(
        self, message: OutgoingMessage, chat_id: int, markup: dict[str, Any]
    ) -> None:
        """The "Share my phone number" keyboard under a finished draft (a streamed answer,
        edited into place, which cannot take it): one short message with the button's own
        words carries it, or the customer never sees the button the answer speaks of."""
        label = html.escape(message.request_phone or "", quote=False)
        async with self._limiter.sending(chat_id):
            await self._send(chat_id, label, None, message.message_thread_id, markup)

    async def _relayed(self, message: OutgoingMessage, chat_id: int, sent: Json) -> None:
        """A handoff's message in the operator chat: an operator's reply to it reaches the
        customer (`handlers/handoffs.py`), for as long as the handoff may last."""
        if message.handoff_id is None or not isinstance(sent.get("message_id"), int):
            return
        key = self._names.handoff_relay(
            str(message.bot_id) if message.bot_id else None, chat_id, sent["message_id"]
        )
        await self._redis.set(key, str(message.handoff_id), ex=HANDOFF_RELAY_TTL_S)

    async def _send(
        self,
        chat_id: int,
        part: str,
        reply_to: int | None,
        thread: int | None,
        markup: dict[str, Any] | None = None,
    ) -> Json:
        """`thread`: a forum topic's id, so the answer stays in the topic. The message sent."""
        try:
            return await self._telegram.send_message(
                chat_id, part, reply_to_message_id=reply_to, message_thread_id=thread,
                reply_markup=markup,
            )  # fmt: skip
        except TelegramParseError as exc:
            SEND_ERRORS.labels("parse").inc()
            log.error("html_refused_sent_as_text", chat_id=chat_id, error=str(exc))
            return await self._telegram.send_message(
                chat_id, plain_text(part), parse_mode=None, reply_to_message_id=reply_to,
                message_thread_id=thread, reply_markup=markup,
            )  # fmt: skip

    async def _edit(
        self, chat_id: int, message_id: int, part: str, markup: dict[str, Any] | None
    ) -> bool:
        """Edit the message into `part`; False when it cannot be edited (send it instead)."""
        try:
            try:
                await self._telegram.edit_message_text(
                    chat_id, message_id, part, reply_markup=markup
                )
            except TelegramParseError as exc:
                SEND_ERRORS.labels("parse").inc()
                log.error("html_refused_edited_as_text", chat_id=chat_id, error=str(exc))
                await self._telegram.edit_message_text(
                    chat_id, message_id, plain_text(part), parse_mode=None, reply_markup=markup
                )
        except TelegramBadRequest as exc:
            reason = exc.description.lower()
            if _NOT_MODIFIED in reason:
                return True
            if any(gone in reason for gone in _EDIT_IMPOSSIBLE):
                log.info("edit_impossible_sent_anew", chat_id=chat_id, error=exc.description)
                return False
            raise
        return True

    async def _media(
        self, message: OutgoingMessage, chat_id: int, parts: list[str]
    ) -> tuple[int, bool]:
        """Send the picture, then the speech audio, if any, first; returns the chat id and
        whether a caption carried the whole text (decided by the text alone, so a redelivery
        decides alike)."""
        captioned = False
        media = (
            (message.photo_blob_key, PHOTO_PART, self._telegram.send_photo),
            (message.voice_blob_key, VOICE_PART, self._telegram.send_voice),
        )
        for key, part, send in media:
            if key is None:
                continue
            caption = None if captioned else self._caption(message, parts)
            chat_id, sent = await self._medium(message, chat_id, _Medium(key, part, send), caption)
            captioned = captioned or (sent and caption is not None)
        return chat_id, captioned

    async def _medium(
        self, message: OutgoingMessage, chat_id: int, medium: _Medium, caption: str | None
    ) -> tuple[int, bool]:
        """One file with `caption`; returns the chat id and whether it is out (now or before);
        a blob gone is left to the text."""
        if await self._redis.exists(self._sent_key(message, medium.part)):
            await self._blobs.delete(medium.key)
            return chat_id, True
        data = await self._blobs.get(medium.key)
        if data is None:
            log.warning("media_missing_sent_as_text", chat_id=chat_id, blob_key=medium.key)
            return chat_id, False
        markup = markup_of(message) if caption is not None else None

        async def send(chat: int) -> None:
            await self._send_file(message, chat, medium, data, caption, markup)

        chat_id = await self._deliver(message, chat_id, medium.part, send)
        await self._blobs.delete(medium.key)
        return chat_id, True

    @staticmethod
    def _caption(message: OutgoingMessage, parts: list[str]) -> str | None:
        """The text as the file's caption when it is one part within Telegram's caption
        limit (an edit keeps its text in the edited message)."""
        if len(parts) != 1 or message.edit_telegram_message_id is not None:
            return None
        return parts[0] if utf16_len(plain_text(parts[0])) <= CAPTION_MAX else None

    async def _send_file(
        self,
        message: OutgoingMessage,
        chat_id: int,
        medium: _Medium,
        data: bytes,
        caption: str | None,
        markup: dict[str, Any] | None,
    ) -> None:
        how: dict[str, Any] = {
            "reply_markup": markup,
            "message_thread_id": message.message_thread_id,
            "reply_to_message_id": message.reply_to_telegram_message_id,
        }
        try:
            await medium.send(chat_id, data, caption=caption, **how)
        except TelegramParseError as exc:
            SEND_ERRORS.labels("parse").inc()
            log.error("html_refused_caption_as_text", chat_id=chat_id, error=str(exc))
            plain = plain_text(caption or "")
            await medium.send(chat_id, data, caption=plain, parse_mode=None, **how)

    async def _blocked(self, chat_id: int, exc: TelegramForbidden) -> None:
        SEND_ERRORS.labels("forbidden").inc()
        log.warning("message_dropped_bot_blocked", chat_id=chat_id, error=exc.description)
        # a private chat's id is the user's Telegram id; `blocked` is about the default bot
        if chat_id > 0 and self._bot_id is None:
            await self._users.set_blocked(chat_id, True)


@dataclass(frozen=True)
class _Medium:
    """A file an answer carries: its blob, its place among the parts, how Telegram takes it."""

    key: str
    part: int
    send: Callable[..., Awaitable[Any]]
