"""Receiving updates: long polling (getUpdates, route, queue, move the offset) here, and the
one queueing path (`UpdateQueue`) that webhooks (workers/webhook.py) share with it.

What a batch of updates leads to (messages for the assistant, the bot's own replies, the
"typing…" marks) is written to Redis in one Lua call together with the new offset. So the
offset moves only once everything is queued, and nothing is queued twice: a crash before
that call leaves the offset where it was and Telegram hands the same updates out again
(their derived message ids make any redelivery downstream harmless too); a crash after it
has nothing left to redo. A second poller that raced ahead is refused by the same call.
A webhook update has no offset: the same call sets a "seen" key for its update_id instead,
so Telegram's redelivery of an update whose 2xx it missed is not queued twice.

The stored offset is not trusted blindly. It is kept per bot id (a new token is a new bot),
and it is never sent to Telegram: the first poll after a start asks for what Telegram still
holds unconfirmed, and later polls send the offset only once, to confirm the batch just
queued. The commit tells replays (ids of the last queued batch) from new updates, and a
batch entirely below the last one from a restarted update_id sequence (after a week without
updates Telegram picks the next id at random), which it follows instead of confirming the
new updates away unseen.

An update that cannot be queued does not stop the others: text Telegram's JSON can carry but
UTF-8 cannot (a lone surrogate "\\ud800", NUL) is cleaned first; an update that still fails
to serialise is skipped with a log line, a metric and a dead letter in `tg_bot:updates:dead`,
and its sender gets an apology. `stalled_for` tells /health when updates wait unqueued.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from common.features.blobs import is_out_of_memory
from common.infrastructure import tracing
from common.infrastructure.errors import DependencyUnavailableError
from common.infrastructure.logging import correlation, get_logger
from common.infrastructure.queue import dead_letter_record
from common.infrastructure.queue_messages import OutgoingKind, OutgoingMessage, answer_message_id
from common.infrastructure.redis_keys import TELEGRAM_UPDATES, TO_SECRETARY, TO_TELEGRAM, Names
from common.infrastructure.retry import OnRetry, RetryPolicy, Stopped
from common.infrastructure.text import clean_tree
from tg_bot.src.clients.errors import (
    TelegramConflict,
    TelegramError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorized,
)
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.clients.types import TgUpdate, TgUser
from tg_bot.src.handlers.base import Outcome
from tg_bot.src.i18n import CATALOGUE
from tg_bot.src.metrics import POLL_ERRORS, UPDATES
from tg_bot.src.settings import Settings
from tg_bot.src.workers.typing import TypingIndicator

log = get_logger(__name__)

#: What the bot asks Telegram for (buttons and edits too).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

# Both receiving modes queue through one Lua call: a guard (the offset for polling, a "seen"
# key per update_id for webhooks) followed by the same queueing body. Its keys share the
# Cluster slot of the stream to the assistant (see `Names.telegram_bot_offset`).
# KEYS[1..g]: the guard's keys; KEYS[g+1]: the stream to the assistant; KEYS[g+2..]: typing
# sets. ARGV[1]: g; ARGV[2]: typing TTL (s); ARGV[3], ARGV[4]: the guard's; ARGV[5..]:
# (update_id, key index, value) triples: XADD data=value to the stream, or ZADD value to a
# typing set, for each id the guard wants. Types are checked before anything is written, so
# a failure writes nothing (no Lua rollback).
# Returns 0 (already queued), 1 (queued) or 2 (queued, the update_id sequence restarted).
_QUEUE = """
local g = tonumber(ARGV[1])
for i = g + 1, #KEYS do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  local want = i <= g + 1 and 'stream' or 'zset'
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. kind)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for j = 5, #ARGV, 3 do
  if wanted(tonumber(ARGV[j])) then
    local index = tonumber(ARGV[j + 1])
    if index <= g + 1 then
      redis.call('XADD', KEYS[index], '*', 'data', ARGV[j + 2])
    else
      redis.call('ZADD', KEYS[index], now, ARGV[j + 2])
      redis.call('EXPIRE', KEYS[index], ARGV[2])
    end
  end
end
return finish()
"""

# Polling. KEYS[1], KEYS[2]: the bot's offset and floor (lowest update_id of the last queued
# batch); ARGV[3]: the new offset; ARGV[4]: the batch's lowest update_id. Ids in
# [floor, offset) were queued already (a replay); a batch wholly below the floor (no floor:
# the offset) is a restarted sequence and is queued whole.
_BY_OFFSET = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(redis.call('GET', KEYS[2]) or current)
local new_offset = tonumber(ARGV[3])
local restarted = new_offset <= floor
if new_offset <= current and not restarted then return 0 end
local function wanted(id) return restarted or id >= current or id < floor end
local function finish()
  redis.call('SET', KEYS[1], new_offset)
  redis.call('SET', KEYS[2], ARGV[4])
  if restarted then return 2 end
  return 1
end
"""

# Webhooks (no offset: Telegram posts one update and sends it again until it hears a 2xx).
# KEYS[1]: the update's "seen" key; ARGV[3]: its TTL (s).
_BY_UPDATE_ID = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local function wanted(_id) return true end
local function finish()
  redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])
  return 1
end
"""

# The bot's own replies go to the stream to Telegram, another Cluster slot, so they are
# queued by a call of their own before the commit, once per update: a crash between the two
# leaves the updates unconfirmed, and their redelivery finds the replies queued.
# KEYS[1]: the stream to Telegram; KEYS[2..]: a "replied" key per update. ARGV[1]: their TTL
# (s); ARGV[2..]: (key index, reply) pairs, XADDed when that key is new. Returns the count.
_REPLY_ONCE = """
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind ~= 'none' and kind ~= 'stream' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' holds a ' .. kind)
end
local fresh = {}
for i = 2, #KEYS do
  fresh[i] = redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) and true or false
end
local sent = 0
for j = 2, #ARGV, 2 do
  if fresh[tonumber(ARGV[j])] then
    redis.call('XADD', KEYS[1], '*', 'data', ARGV[j + 1])
    sent = sent + 1
  end
end
return sent
"""

#: How long a webhook update counts as seen: Telegram keeps an update 24 hours at most.
SEEN_TTL_SECONDS = 24 * 3600
#: Updates a `FullNotice` remembers; past it, it forgets them all and starts again.
_FULL_NOTICE_MEMORY = 10_000


class FullNotice:
    """Redis at its `maxmemory` refuses an update (nothing can be queued, not even a reply):
    once it has refused that update for `after_s`, its private sender hears so once,
    straight from Telegram. A moment's peak (a refused file's buffer) passes by itself. The
    message is queued when Redis has room: polling tries the batch again, and Telegram delivers
    a webhook update again. Both receiving modes share it."""

    def __init__(
        self, telegram: TelegramClient, after_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._telegram = telegram
        self._after_s = after_s
        self._clock = clock
        self._first_refused: dict[int, float] = {}
        self._told: set[int] = set()

    async def refused(self, updates: list[TgUpdate]) -> None:
        now = self._clock()
        if len(self._first_refused) > _FULL_NOTICE_MEMORY:
            self._first_refused.clear()
            self._told.clear()
        due = []
        for update in updates:
            first = self._first_refused.setdefault(update.update_id, now)
            if now - first >= self._after_s and update.update_id not in self._told:
                due.append(update)
        for update in due:
            self._told.add(update.update_id)
            await self._tell(update)
        if due:
            log.warning("redis_full_senders_told", updates=len(due))

    def queued(self, updates: list[TgUpdate]) -> None:
        for update in updates:
            self._first_refused.pop(update.update_id, None)
            self._told.discard(update.update_id)

    async def _tell(self, update: TgUpdate) -> None:
        message = update.message
        if message is None or message.chat.type != "private":
            return
        language = message.sender.language_code if message.sender else None
        with contextlib.suppress(TelegramError):
            await self._telegram.send_message(
                message.chat.id, CATALOGUE.text(language, "error.redis_full"), parse_mode=None
            )


@dataclass(frozen=True)
class Guard:
    """What makes a commit once-only: its script, keys (g of them) and two arguments."""

    script: AsyncScript
    keys: list[str]
    args: tuple[int, int]
    #: Whose updates (the "replied" keys are per bot and update_id).
    bot_id: int


Route = Callable[[TgUpdate], Awaitable[Outcome]]
T = TypeVar("T")


class UpdateQueue:
    """Routes updates and queues what they lead to in one Redis call: the one path of both
    receiving modes, guarded by the offset (polling) or by update_id (webhooks)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        typing: TypingIndicator,
        settings: Settings,
    ) -> None:
        self._redis = redis
        self._names = names
        self._typing = typing
        self._settings = settings
        self._by_offset = redis.register_script(_BY_OFFSET + _QUEUE)
        self._by_update_id = redis.register_script(_BY_UPDATE_ID + _QUEUE)
        self._reply_once = redis.register_script(_REPLY_ONCE)

    def by_offset(self, bot_id: int, new_offset: int, lowest: int) -> Guard:
        keys = [
            self._names.telegram_bot_offset(bot_id),
            self._names.telegram_bot_offset_floor(bot_id),
        ]
        return Guard(self._by_offset, keys, (new_offset, lowest), bot_id)

    def by_update_id(self, bot_id: int, update_id: int) -> Guard:
        keys = [self._names.telegram_webhook_seen(bot_id, update_id)]
        return Guard(self._by_update_id, keys, (SEEN_TTL_SECONDS, 0), bot_id)

    async def seen(self, bot_id: int, update_id: int) -> bool:
        """A webhook update queued before (Telegram had not heard the 2xx): not routed again,
        so a command's side effects do not run twice. The commit checks the same atomically."""
        return bool(await self._redis.exists(self._names.telegram_webhook_seen(bot_id, update_id)))

    async def receive(self, updates: list[TgUpdate], route: Route, guard: Guard) -> int:
        """Route `updates` and queue their outcomes under `guard`; the commit's answer
        (0 already queued, 1 queued, 2 queued after an update_id restart)."""
        updates = [readable(u) for u in updates]
        outcomes = await self._route_all(updates, route)
        committed = await self._queue(outcomes, guard, updates)
        if committed == 0:
            return 0
        for outcome in outcomes:
            UPDATES.labels(outcome.kind).inc()
            if outcome.incoming is not None:
                with correlation(str(outcome.incoming.message_id)):
                    log.info("message_queued", chat_id=outcome.incoming.chat_id)
                self._typing.show(outcome.incoming.chat_id)
        return committed

    async def _route_all(self, updates: list[TgUpdate], route: Route) -> list[Outcome]:
        """Chats concurrently, each chat's updates in order; results in update order."""
        by_chat: dict[object, list[TgUpdate]] = {}
        for update in updates:
            by_chat.setdefault(_chat_of(update), []).append(update)

        async def one_chat(batch: list[TgUpdate]) -> list[Outcome]:
            return [await _traced_route(route, update) for update in batch]

        routed = await asyncio.gather(
            *(one_chat(batch) for batch in by_chat.values()), return_exceptions=True
        )
        failed = next((r for r in routed if isinstance(r, BaseException)), None)
        if failed is not None:  # raised only once every chat is done: nothing runs on
            raise failed
        outcomes = [o for batch in routed if not isinstance(batch, BaseException) for o in batch]
        return sorted(outcomes, key=lambda o: o.update_id)

    async def _queue(self, outcomes: list[Outcome], guard: Guard, updates: list[TgUpdate]) -> int:
        keys = [*guard.keys, self._names.stream(TO_SECRETARY)]
        args: list[str | int] = [len(guard.keys), int(self._settings.typing_max_seconds)]
        args += guard.args
        replies: list[tuple[int, str]] = []
        by_id = {u.update_id: u for u in updates}
        for outcome in outcomes:
            try:
                found, replied = self._entries(outcome, keys, len(guard.keys))
            except ValueError as exc:  # pydantic's serialisation errors are ValueErrors
                found, replied = [], await self._skip(outcome, by_id.get(outcome.update_id), exc)
            args += found
            replies += [(outcome.update_id, reply) for reply in replied]
        await self._check_types(keys[len(guard.keys) :], bool(replies))
        await self._queue_replies(guard.bot_id, replies)
        return int(await guard.script(keys=keys, args=args))

    async def _check_types(self, written: list[str], replies: bool) -> None:
        """A key of the wrong type fails the batch before its replies go out, as it fails
        the commit (which checks again, atomically): so a failure writes nothing."""
        wanted = {written[0]: "stream"} | dict.fromkeys(written[1:], "zset")
        if replies:
            wanted[self._names.stream(TO_TELEGRAM)] = "stream"
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            for key in wanted:
                pipe.type(key)
            kinds = await pipe.execute()
        for (key, want), found in zip(wanted.items(), kinds, strict=True):
            kind = found.decode() if isinstance(found, bytes) else str(found)
            if kind not in ("none", want):
                raise ResponseError(f"WRONGTYPE {key} holds a {kind}")

    async def _queue_replies(self, bot_id: int, replies: list[tuple[int, str]]) -> None:
        """The bot's own replies, each update's once (see `_REPLY_ONCE`)."""
        if not replies:
            return
        keys = [self._names.stream(TO_TELEGRAM)]
        args: list[str | int] = [SEEN_TTL_SECONDS]
        for update_id, reply in replies:
            marker = self._names.telegram_replied(bot_id, update_id)
            if marker not in keys:
                keys.append(marker)
            args += [keys.index(marker) + 1, reply]
        await self._reply_once(keys=keys, args=args)

    def _entries(
        self, outcome: Outcome, keys: list[str], g: int
    ) -> tuple[list[str | int], list[str]]:
        """The commit's triples for one outcome, and its replies; raises if any of it cannot
        be serialised."""
        found: list[str | int] = []
        if outcome.incoming is not None:
            typing_key = self._typing.key(outcome.incoming.chat_id)
            if typing_key not in keys:
                keys.append(typing_key)
            found += [outcome.update_id, g + 1, outcome.incoming.to_json()]
            found += [
                outcome.update_id,
                keys.index(typing_key) + 1,
                str(outcome.incoming.message_id),
            ]
        return found, [reply.to_json() for reply in outcome.replies]

    async def _skip(self, outcome: Outcome, update: TgUpdate | None, exc: Exception) -> list[str]:
        """Record an outcome that cannot be queued (log, metric, dead letter); its sender
        gets an apology instead, when one can be addressed."""
        UPDATES.labels("skipped").inc()
        log.error("update_skipped", update_id=outcome.update_id, error=str(exc)[:300])
        raw = update.model_dump(mode="python", by_alias=True) if update else {}
        dead = dead_letter_record(
            TELEGRAM_UPDATES,
            json.dumps(raw, ensure_ascii=True, default=str),
            f"unqueueable: {type(exc).__name__}: {exc}"[:1000],
            update_id=str(outcome.update_id),
        )
        await self._redis.xadd(self._names.dead(TELEGRAM_UPDATES), dead)
        if outcome.incoming is None:
            return []
        incoming = outcome.incoming
        apology = OutgoingMessage(
            message_id=answer_message_id(incoming.message_id),
            chat_id=incoming.chat_id,
            text=CATALOGUE.text(incoming.language_code, "error.generic"),
            kind=OutgoingKind.ERROR,
            correlation_id=str(incoming.message_id),
            bot_id=incoming.bot_id,
        )
        return [apology.to_json()]


class UpdatePoller:
    def __init__(
        self,
        telegram: TelegramClient,
        redis: aioredis.Redis,
        names: Names,
        queue: UpdateQueue,
        settings: Settings,
    ) -> None:
        self._telegram = telegram
        self._redis = redis
        self._names = names
        self._queue = queue
        self._settings = settings
        # Doubling from the first wait to the most, no jitter: one poller per bot token.
        self._pacing = RetryPolicy(
            retries=None,
            base_s=settings.poll_backoff_initial_seconds,
            max_s=settings.poll_backoff_max_seconds,
            floor=1.0,
            asked_max_s=math.inf,
        )
        self._offset: int | None = None
        self._bot_id: int | None = None
        self.last_contact: float | None = None  # monotonic time of the last answer from Telegram
        self._pending_since: float | None = None  # updates received and not yet queued
        self._last_error = ""
        self.full_notice = FullNotice(telegram, settings.redis_full_notice_after_seconds)

    async def identify(self, stop: asyncio.Event) -> TgUser | None:
        """getMe until it answers (None if asked to stop first)."""
        try:
            me = await self._pacing.run(
                lambda: _until_stopped(self._telegram.get_me(), stop),
                retry_exception=lambda exc: isinstance(exc, TelegramError),
                on_retry=self._failed("get_me"),
                stop=stop,
            )
        except Stopped:
            return None
        if me is None:
            return None
        self._contact()
        self._bot_id = me.id
        log.info("telegram_bot_identified", bot_id=me.id, username=me.username)
        return me

    async def until_done(
        self, call: Callable[[], Awaitable[object]], name: str, stop: asyncio.Event
    ) -> bool:
        """`call()` retried with the poller's backoff until it succeeds (False: stopped
        first); for setWebhook and deleteWebhook, which receiving cannot start without."""
        try:
            await self._pacing.run(
                lambda: _until_stopped(call(), stop),
                retry_exception=lambda exc: isinstance(exc, TelegramError),
                wait_hint=_asked_wait,
                on_retry=self._failed(name),
                stop=stop,
            )
        except Stopped:
            return False
        if stop.is_set():
            return False
        self._contact()
        return True

    def stalled_for(self) -> tuple[float, str] | None:
        """How long updates have waited unqueued, and the last error, if they do."""
        if self._pending_since is None:
            return None
        return time.monotonic() - self._pending_since, self._last_error

    async def run(self, route: Route, stop: asyncio.Event) -> None:
        """Poll until `stop`. A long poll in progress is cut short; a batch being handled is
        finished first, so no Redis call is ever cancelled halfway. `offset` is sent only to
        confirm a batch just queued (see the module docstring). A failure waits with the
        poller's backoff, which an answer resets."""
        if self._bot_id is None:
            raise RuntimeError("identify() first: the offset is kept per bot id")
        self._offset = None
        self._pending_since = None  # a poll of an earlier lease does not count
        with contextlib.suppress(Stopped):
            while await self._pacing.run(
                lambda: self._poll(route, stop),
                # a bug must not stop the bot from receiving for good
                retry_exception=lambda exc: isinstance(exc, Exception),
                wait_hint=_asked_wait,
                on_retry=self._poll_failed,
                stop=stop,
            ):
                pass

    async def _poll(self, route: Route, stop: asyncio.Event) -> bool:
        """One getUpdates and its batch queued; False when `stop` cut the poll short."""
        updates = await _until_stopped(
            self._telegram.get_updates(
                self._offset,
                self._settings.poll_timeout_seconds,
                self._settings.poll_limit,
                ALLOWED_UPDATES,
            ),
            stop,
        )
        if updates is None:
            return False
        self._contact()
        self._offset = None  # this call confirmed it
        if updates:
            self._pending_since = self._pending_since or time.monotonic()
            self._offset = await self._handle(updates, route)
            self._pending_since = None
        return True

    def _poll_failed(self, _attempt: int, delay: float, exc: object) -> None:
        if isinstance(exc, TelegramError | DependencyUnavailableError | aioredis.RedisError):
            self._note_failure("get_updates", exc, delay)
            return
        self._last_error = f"{type(exc).__name__}: {exc}"[:300]
        log.error("update_batch_failed", exc_info=exc)

    async def _handle(self, updates: list[TgUpdate], route: Route) -> int:
        bot = self._bot_id or 0
        new_offset = max(u.update_id for u in updates) + 1
        updates = await self._not_replayed(updates)
        if not updates:  # all queued before: only confirm them
            log.info("updates_replayed_skipped", offset=new_offset)
            return new_offset
        lowest = min(u.update_id for u in updates)
        guard = self._queue.by_offset(bot, new_offset, lowest)
        try:
            committed = await self._queue.receive(updates, route, guard)
        except aioredis.ResponseError as exc:
            if is_out_of_memory(exc):
                await self.full_notice.refused(updates)
            raise  # the batch is tried again, as for any Redis failure
        self.full_notice.queued(updates)
        if committed == 0:
            log.warning("updates_already_queued", offset=new_offset)
        elif committed == 2:
            log.warning("update_id_sequence_restarted", offset=new_offset, lowest=lowest)
        return new_offset

    async def _not_replayed(self, updates: list[TgUpdate]) -> list[TgUpdate]:
        """Without the updates of the last queued batch that Telegram hands out again (it
        had not heard the offset), so a command's side effects do not run twice. The commit
        checks the same again, atomically."""
        bot = self._bot_id or 0
        offset, floor = await self._redis.mget(
            self._names.telegram_bot_offset(bot), self._names.telegram_bot_offset_floor(bot)
        )
        if offset is None:
            return updates
        high = int(offset)
        low = int(floor) if floor is not None else high
        return [u for u in updates if not low <= u.update_id < high]

    def _contact(self) -> None:
        self.last_contact = time.monotonic()

    def _failed(self, call: str) -> OnRetry:
        def noted(_attempt: int, delay: float, exc: object) -> None:
            self._note_failure(call, exc, delay)

        return noted

    def _note_failure(self, call: str, exc: object, delay: float) -> None:
        kind = type(exc).__name__
        POLL_ERRORS.labels(kind).inc()
        self._last_error = f"{call}: {kind}: {exc}"[:300]
        fatal = isinstance(exc, TelegramUnauthorized | TelegramNotFound)
        level = log.error if fatal else log.warning
        if isinstance(exc, TelegramConflict):
            level = log.error  # another instance polls with this token, or a webhook is set
        # the Telegram bot id (after getMe), so each bot's failures are told apart
        level("telegram_poll_failed", call=call, error=str(exc), retry_in=delay, bot=self._bot_id)


def _asked_wait(ending: object) -> float | None:
    """Telegram's retry_after: waited in full, however long (polling sooner is refused)."""
    return ending.retry_after if isinstance(ending, TelegramRetryAfter) else None


async def _until_stopped(call: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`call`'s result, or None (and `call` cancelled) if `stop` is set first."""
    task = asyncio.ensure_future(call)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TelegramError):
        await task
    return None


async def _traced_route(route: Route, update: TgUpdate) -> Outcome:
    """The first span of a message's trace (decision 0069); what it queues carries its
    context, so the assistant's turn and the answer's sending join the same trace."""
    with tracing.span(
        "telegram update", kind="consumer", attributes={"telegram.update_id": update.update_id}
    ):
        outcome = await route(update)
        if not tracing.enabled():
            return outcome
        return dataclasses.replace(
            outcome,
            incoming=outcome.incoming.traced() if outcome.incoming is not None else None,
            replies=[reply.traced() for reply in outcome.replies],
        )


def _chat_of(update: TgUpdate) -> object:
    if update.message is not None:
        return update.message.chat.id
    if update.edited_message is not None:  # after the message it edits, in one batch
        return update.edited_message.chat.id
    if update.my_chat_member is not None:
        return update.my_chat_member.chat.id
    return ("update", update.update_id)


def readable(update: TgUpdate) -> TgUpdate:
    """The update with lone surrogates and NUL in its text replaced (U+FFFD, so entity
    offsets still hold): Telegram's JSON can carry them, UTF-8 and Postgres cannot."""
    raw = update.model_dump(mode="python", by_alias=True, exclude_unset=True)
    cleaned = clean_tree(raw)
    if cleaned == raw:
        return update
    log.warning("update_text_cleaned", update_id=update.update_id)
    UPDATES.labels("cleaned").inc()
    return TgUpdate.model_validate(cleaned)
