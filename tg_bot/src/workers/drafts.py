"""Live answers: the assistant's drafts (`queue:drafts`) shown while it writes.

A draft is a preview the final answer replaces, so nothing here is retried: each entry is
acked as it is read, and a draft that is stale (older than `MAX_AGE_S`), older than one
already shown, or of an answer already delivered is dropped. Per answer only the newest draft
waiting counts; one gate in Redis (the hash `live_answers.live_key`) keeps the order
and the pace across tg_bot processes and tells the drafts that the final is on its way.

Private chats get `sendMessageDraft` (an animated, ephemeral draft; the final `sendMessage`
replaces it) at most every `stream_draft_interval_seconds`. Groups get one message on the
first draft, then edits at most every `stream_edit_interval_seconds`, each only when the
send limiter has a slot free right now (a draft never waits for one, so it never delays a
final answer); the response handler makes the final's first part an edit of that message
(`domain/live_answers.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import redis.asyncio as aioredis
from prometheus_client import Counter
from pydantic import ValidationError

from common.infrastructure.clock import utcnow
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import ChatType, DraftMessage
from common.infrastructure.redis_keys import TG_BOT_GROUP, Names
from tg_bot.src.clients.errors import (
    TelegramBadRequest,
    TelegramError,
    TelegramParseError,
    TelegramRetryAfter,
)
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.domain.live_answers import LIVE_TTL_S, live_key, part_id
from tg_bot.src.domain.rate_limiter import SendLimiter
from tg_bot.src.domain.splitting import split_html
from tg_bot.src.settings import Settings
from tg_bot.src.workers.response_handler import plain_text

log = get_logger(__name__)

DRAFTS_SHOWN = Counter("smart_assistant_tg_drafts_shown_total", "Drafts shown, by how", ["how"])
DRAFTS_DROPPED = Counter(
    "smart_assistant_tg_drafts_dropped_total", "Drafts not shown, by why", ["why"]
)

#: A draft older than this is not worth showing: a newer one or the final is coming.
MAX_AGE_S = 5.0

# KEYS: the answer's live hash, the sent marker of its final's first part.
# ARGV: the draft's seq, the interval in ms, the TTL in s, 1 to record it as shown (else only
# ask). Returns -1 (the final is out or on its way), -2 (a newer draft was shown), the ms to
# wait (too soon after the last one), or 0 (show it).
_GATE = """
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'final') == 1 then
  return -1
end
if tonumber(ARGV[1]) <= tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') then return -2 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = tonumber(redis.call('HGET', KEYS[1], 'at') or '0') + tonumber(ARGV[2]) - now
if wait > 0 then return wait end
if ARGV[4] ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'at', now)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 0
"""

# KEYS: the live hash. ARGV: the Telegram message id. Returns 1 when the final came first
# (that message is then an orphan), else records it and returns 0.
_RECORD = """
if redis.call('HEXISTS', KEYS[1], 'final') == 1 then return 1 end
redis.call('HSET', KEYS[1], 'telegram_message_id', ARGV[1])
return 0
"""


def draft_id(answer_id: uuid.UUID) -> int:
    """sendMessageDraft's id for an answer: non-zero, 31 bits, the same on every process."""
    return answer_id.int % (2**31 - 1) + 1


def render(draft: DraftMessage, renderer: MarkdownRenderer, limit: int) -> str:
    """The draft as Telegram HTML: its text, then its status in italics; the first part
    only when it is longer than a message may be ("" when there is nothing to show)."""
    shown = renderer.render(draft.text) if draft.text.strip() else ""
    if draft.status:
        status = f"<i>{html.escape(draft.status)}</i>"
        shown = f"{shown}\n\n{status}" if shown else status
    parts = split_html(shown, limit)
    return parts[0] if parts else ""


#: What XREADGROUP answers: per stream, its entries as (id, fields).
_Read = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None


@dataclass
class _Answer:
    """The newest draft of one answer waiting to be shown, and the task showing them."""

    pending: DraftMessage
    task: asyncio.Task[None] | None = None


class DraftsWorker:
    def __init__(
        self,
        telegram: TelegramClient,
        limiter: SendLimiter,
        redis: aioredis.Redis,
        names: Names,
        settings: Settings,
        *,
        consumer: str | None = None,
        block_ms: int = 100,
        others: Callable[[uuid.UUID], DraftsWorker | None] | None = None,
    ) -> None:
        """`others`: the worker of a bots row's bot, which shows that bot's drafts (None: it
        is not running here, and its drafts are dropped: they are best effort)."""
        self._others = others
        self._telegram = telegram
        self._limiter = limiter
        self._redis = redis
        self._names = names
        self._settings = settings
        self._consumer = consumer or f"drafts-{uuid.uuid4().hex[:12]}"
        self._block_ms = block_ms
        self._renderer = MarkdownRenderer()
        self._gate = redis.register_script(_GATE)
        self._record = redis.register_script(_RECORD)
        self._answers: dict[uuid.UUID, _Answer] = {}
        #: Chats Telegram asked to slow down (429), until when (loop time).
        self._paused: dict[int, float] = {}
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Read until `stop()`, then let the drafts being shown finish."""
        grouped = False
        while not self._stopping.is_set():
            try:
                if not grouped:  # Redis may be down at start: made once it answers
                    await self._ensure_group()
                    grouped = True
                await self._read_once()
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
                log.warning("drafts_read_failed", error=str(exc)[:200])
                await asyncio.sleep(1.0)
        tasks = [a.task for a in self._answers.values() if a.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self._settings.shutdown_grace_seconds)
        with contextlib.suppress(aioredis.RedisError, OSError):  # it holds nothing: all acked
            await self._redis.xgroup_delconsumer(self._names.drafts, TG_BOT_GROUP, self._consumer)

    async def _ensure_group(self) -> None:
        """From now on: drafts written while no tg_bot was reading are stale anyway."""
        with contextlib.suppress(aioredis.ResponseError):  # BUSYGROUP: it exists
            await self._redis.xgroup_create(self._names.drafts, TG_BOT_GROUP, id="$", mkstream=True)

    async def _read_once(self) -> None:
        # redis-py types the answer for pipelines and decoded clients too; ours answers bytes.
        found = cast(
            _Read,
            await self._redis.xreadgroup(
                TG_BOT_GROUP,
                self._consumer,
                {self._names.drafts: ">"},
                count=256,
                block=self._block_ms,
            ),
        )
        for _stream, entries in found or []:
            if not entries:
                continue
            await self._redis.xack(self._names.drafts, TG_BOT_GROUP, *(e[0] for e in entries))
            for _entry_id, fields in entries:
                self.offer(fields.get(b"data", b""))

    def offer(self, data: bytes | str) -> None:
        """One entry's payload: kept as its answer's newest draft, and shown in due time."""
        try:
            draft = DraftMessage.model_validate_json(data)
        except ValidationError:
            DRAFTS_DROPPED.labels("malformed").inc()
            return
        if draft.bot_id is not None and self._others is not None:
            other = self._others(draft.bot_id)
            if other is None:
                DRAFTS_DROPPED.labels("unknown_bot").inc()
            else:
                other.take(draft)
            return
        self.take(draft)

    def take(self, draft: DraftMessage) -> None:
        """Keep `draft` as its answer's newest and show it in due time."""
        answer = self._answers.get(draft.message_id)
        if answer is None:
            answer = self._answers[draft.message_id] = _Answer(draft)
        elif draft.seq > answer.pending.seq:
            answer.pending = draft
        else:
            DRAFTS_DROPPED.labels("out_of_order").inc()
            return
        if answer.task is None:
            answer.task = asyncio.create_task(self._show_answer(draft.message_id))

    async def _show_answer(self, answer_id: uuid.UUID) -> None:
        """Show the newest waiting draft of one answer until none is left."""
        answer = self._answers[answer_id]
        done = 0
        try:
            while answer.pending.seq > done:
                draft = answer.pending
                wait_s = await self._show(draft)
                if wait_s > 0:  # too soon: whichever is newest by then goes
                    await asyncio.sleep(wait_s)
                    continue
                done = draft.seq
        except Exception:
            log.exception("draft_failed", answer_id=str(answer_id))
        finally:
            del self._answers[answer_id]

    async def _show(self, draft: DraftMessage) -> float:
        """Shows `draft` if it is still worth it; returns the seconds to wait when it came
        too soon after the previous one."""
        text = self._worth_showing(draft)
        if text is None:
            return 0.0
        wait_s = await self._admit(draft)
        if wait_s != 0:
            return max(wait_s, 0.0)
        try:
            if draft.chat_type == ChatType.PRIVATE:
                await self._draft(draft, text)
            else:
                await self._live(draft, text)
        except TelegramRetryAfter as exc:
            self._paused[draft.chat_id] = asyncio.get_running_loop().time() + exc.retry_after
            DRAFTS_DROPPED.labels("rate_limited").inc()
        except TelegramError as exc:
            DRAFTS_DROPPED.labels("refused").inc()
            log.info("draft_refused", chat_id=draft.chat_id, error=str(exc)[:200])
        return 0.0

    def _worth_showing(self, draft: DraftMessage) -> str | None:
        """The draft as HTML, or None when it is stale, its chat is paused, or it is empty."""
        if utcnow() - draft.created_at > timedelta(seconds=MAX_AGE_S):
            DRAFTS_DROPPED.labels("stale").inc()
            return None
        if self.paused(draft.chat_id):
            DRAFTS_DROPPED.labels("rate_limited").inc()
            return None
        return render(draft, self._renderer, self._settings.max_message_length) or None

    async def _admit(self, draft: DraftMessage) -> float:
        """Through the gate (and, for an edit, the send limiter, which counts it): 0 to show
        it now, the seconds to wait, or -1 when it is not to be shown."""
        private = draft.chat_type == ChatType.PRIVATE
        settings = self._settings
        interval = (
            settings.stream_draft_interval_seconds
            if private
            else settings.stream_edit_interval_seconds
        )
        answer_id = str(draft.message_id)
        keys = [  # one Cluster slot (`live_key`)
            live_key(self._names, answer_id),
            self._names.telegram_sent_part(str(part_id(answer_id, 0))),
        ]
        args = [draft.seq, round(interval * 1000), LIVE_TTL_S]
        if not private:  # only with a slot free right now: a draft never waits for one
            wait_s = await self._pass(keys, [*args, 0])
            if wait_s == 0:
                wait_s = await self._limiter.try_acquire(draft.chat_id)
            if wait_s != 0:
                return wait_s
        return await self._pass(keys, [*args, 1])

    async def _pass(self, keys: list[str], args: list[int]) -> float:
        """The gate's verdict: the seconds to wait, 0 to go, or -1 when dropped (counted)."""
        verdict = int(await self._gate(keys=keys, args=args))
        if verdict == -1:
            DRAFTS_DROPPED.labels("delivered").inc()
        elif verdict == -2:
            DRAFTS_DROPPED.labels("out_of_order").inc()
        return -1.0 if verdict < 0 else verdict / 1000

    def paused(self, chat_id: int) -> bool:
        """Whether Telegram's last 429 for the chat still holds its drafts back."""
        until = self._paused.get(chat_id)
        if until is None:
            return False
        if until > asyncio.get_running_loop().time():
            return True
        del self._paused[chat_id]
        return False

    async def _draft(self, draft: DraftMessage, text: str) -> None:
        """A private chat: the draft bubble, animated as it grows."""
        ident = draft_id(draft.message_id)
        thread = draft.message_thread_id
        try:
            await self._telegram.send_message_draft(
                draft.chat_id, ident, text, message_thread_id=thread
            )
        except TelegramParseError:
            await self._telegram.send_message_draft(
                draft.chat_id, ident, plain_text(text), parse_mode=None, message_thread_id=thread
            )
        DRAFTS_SHOWN.labels("draft").inc()

    async def _live(self, draft: DraftMessage, text: str) -> None:
        """A group: one message, edited as the answer grows."""
        live = live_key(self._names, str(draft.message_id))
        current = await self._redis.hget(live, "telegram_message_id")
        if current is None:
            await self._first_message(draft, text, live)
            return
        try:
            await self._edit(draft.chat_id, int(current), text)
        except TelegramParseError:
            await self._edit(draft.chat_id, int(current), plain_text(text), parse_mode=None)
        DRAFTS_SHOWN.labels("edit").inc()

    async def _first_message(self, draft: DraftMessage, text: str, live: str) -> None:
        try:
            sent = await self._send(draft, text, "HTML")
        except TelegramParseError:
            sent = await self._send(draft, plain_text(text), None)
        message_id = int(str(sent["message_id"]))
        DRAFTS_SHOWN.labels("message").inc()
        if await self._record(keys=[live], args=[message_id]):
            # The final went out while this was on its way: it stands alone, this goes.
            with contextlib.suppress(TelegramError):
                await self._telegram.call(
                    "deleteMessage", {"chat_id": draft.chat_id, "message_id": message_id}
                )

    async def _send(
        self, draft: DraftMessage, text: str, parse_mode: str | None
    ) -> dict[str, object]:
        return await self._telegram.send_message(
            draft.chat_id,
            text,
            parse_mode=parse_mode,
            reply_to_message_id=draft.reply_to_telegram_message_id,
            message_thread_id=draft.message_thread_id,
        )

    async def _edit(
        self, chat_id: int, message_id: int, text: str, parse_mode: str | None = "HTML"
    ) -> None:
        try:
            await self._telegram.edit_message_text(chat_id, message_id, text, parse_mode=parse_mode)
        except TelegramParseError:
            raise
        except TelegramBadRequest as exc:
            if "not modified" not in exc.description:
                raise
