"""Long polling: getUpdates, route each update, queue what it leads to, move the offset.

What a batch of updates leads to (messages for the assistant, the bot's own replies, the
"typing…" marks) is written to Redis in one Lua call together with the new offset. So the
offset moves only once everything is queued, and nothing is queued twice: a crash before
that call leaves the offset where it was and Telegram hands the same updates out again
(their derived message ids make any redelivery downstream harmless too); a crash after it
has nothing left to redo. A second poller that raced ahead is refused by the same call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

from common.errors import DependencyUnavailableError
from common.logging import correlation, get_logger
from common.names import TO_SECRETARY, TO_TELEGRAM, Names
from tg_bot.src.client.errors import (
    TelegramConflict,
    TelegramError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorized,
)
from tg_bot.src.client.telegram import TelegramClient
from tg_bot.src.client.types import TgUpdate, TgUser
from tg_bot.src.config.settings import Settings
from tg_bot.src.handlers.context import Outcome
from tg_bot.src.metrics import POLL_ERRORS, UPDATES
from tg_bot.src.services.typing import TypingIndicator

log = get_logger(__name__)

ALLOWED_UPDATES = ["message", "my_chat_member"]

# KEYS[1]: the offset; KEYS[2], KEYS[3]: the streams to the assistant and to Telegram;
# KEYS[4..]: typing sets. ARGV[1]: the new offset; ARGV[2]: typing TTL (s);
# ARGV[3..]: (update_id, key index, value) triples: XADD data=value to a stream, or ZADD
# value to a typing set. Types are checked before anything is written, so a failure
# writes nothing (a Lua error does not roll back what came before it).
_COMMIT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local new_offset = tonumber(ARGV[1])
if new_offset <= current then return 0 end
for i = 2, #KEYS do
  local kind = redis.call('TYPE', KEYS[i])['ok']
  local want = i <= 3 and 'stream' or 'zset'
  if kind ~= 'none' and kind ~= want then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' holds a ' .. kind)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for j = 3, #ARGV, 3 do
  if tonumber(ARGV[j]) >= current then
    local index = tonumber(ARGV[j + 1])
    if index <= 3 then
      redis.call('XADD', KEYS[index], '*', 'data', ARGV[j + 2])
    else
      redis.call('ZADD', KEYS[index], now, ARGV[j + 2])
      redis.call('EXPIRE', KEYS[index], ARGV[2])
    end
  end
end
redis.call('SET', KEYS[1], new_offset)
return 1
"""

Route = Callable[[TgUpdate], Awaitable[Outcome]]
T = TypeVar("T")


class UpdatePoller:
    def __init__(
        self,
        telegram: TelegramClient,
        redis: aioredis.Redis,
        names: Names,
        typing: TypingIndicator,
        settings: Settings,
    ) -> None:
        self._telegram = telegram
        self._redis = redis
        self._names = names
        self._typing = typing
        self._settings = settings
        self._commit = redis.register_script(_COMMIT)
        self._backoff = settings.poll_backoff_initial_seconds
        self.last_contact: float | None = None  # monotonic time of the last answer from Telegram

    async def identify(self, stop: asyncio.Event) -> TgUser | None:
        """getMe until it answers (None if asked to stop first)."""
        while not stop.is_set():
            try:
                me = await _until_stopped(self._telegram.get_me(), stop)
            except TelegramError as exc:
                self._note_failure("get_me", exc)
                await self._pause(stop)
                continue
            if me is None:
                return None
            self._contact()
            log.info("telegram_bot_identified", bot_id=me.id, username=me.username)
            return me
        return None

    async def run(self, route: Route, stop: asyncio.Event) -> None:
        """Poll until `stop`. A long poll in progress is cut short; a batch being handled is
        finished first, so no Redis call is ever cancelled halfway."""
        offset: int | None = None
        offset_known = False
        while not stop.is_set():
            try:
                if not offset_known:
                    offset, offset_known = await self._stored_offset(), True
                updates = await _until_stopped(
                    self._telegram.get_updates(
                        offset,
                        self._settings.poll_timeout_seconds,
                        self._settings.poll_limit,
                        ALLOWED_UPDATES,
                    ),
                    stop,
                )
                if updates is None:
                    return
                self._contact()
                if updates:
                    offset = await self._handle(updates, route)
                self._backoff = self._settings.poll_backoff_initial_seconds
            except TelegramRetryAfter as exc:
                self._note_failure("get_updates", exc)
                await self._pause(stop, exc.retry_after)
            except (TelegramError, DependencyUnavailableError, aioredis.RedisError) as exc:
                self._note_failure("get_updates", exc)
                await self._pause(stop)
            except Exception:  # a bug must not stop the bot from receiving for good
                log.exception("update_batch_failed")
                await self._pause(stop)

    async def _handle(self, updates: list[TgUpdate], route: Route) -> int:
        outcomes = await self._route_all(updates, route)
        new_offset = max(u.update_id for u in updates) + 1
        await self._queue(outcomes, new_offset)
        for outcome in outcomes:
            UPDATES.labels(outcome.kind).inc()
            if outcome.incoming is not None:
                with correlation(str(outcome.incoming.message_id)):
                    log.info("message_queued", chat_id=outcome.incoming.chat_id)
                self._typing.show(outcome.incoming.chat_id)
        return new_offset

    async def _route_all(self, updates: list[TgUpdate], route: Route) -> list[Outcome]:
        """Chats concurrently, each chat's updates in order; results in update order."""
        by_chat: dict[object, list[TgUpdate]] = {}
        for update in updates:
            by_chat.setdefault(_chat_of(update), []).append(update)

        async def one_chat(batch: list[TgUpdate]) -> list[Outcome]:
            return [await route(update) for update in batch]

        routed = await asyncio.gather(
            *(one_chat(batch) for batch in by_chat.values()), return_exceptions=True
        )
        failed = next((r for r in routed if isinstance(r, BaseException)), None)
        if failed is not None:  # raised only once every chat is done: nothing runs on
            raise failed
        outcomes = [outcome for batch in routed for outcome in batch]  # type: ignore[union-attr]
        return sorted(outcomes, key=lambda o: o.update_id)

    async def _queue(self, outcomes: list[Outcome], new_offset: int) -> None:
        keys = [
            self._names.telegram_offset,
            self._names.stream(TO_SECRETARY),
            self._names.stream(TO_TELEGRAM),
        ]
        args: list[str | int] = [new_offset, int(self._settings.typing_max_seconds)]
        for outcome in outcomes:
            if outcome.incoming is not None:
                typing_key = self._names.telegram_typing(outcome.incoming.chat_id)
                if typing_key not in keys:
                    keys.append(typing_key)
                args += [outcome.update_id, 2, outcome.incoming.to_json()]
                args += [
                    outcome.update_id,
                    keys.index(typing_key) + 1,
                    str(outcome.incoming.message_id),
                ]
            for reply in outcome.replies:
                args += [outcome.update_id, 3, reply.to_json()]
        if not await self._commit(keys=keys, args=args):
            log.warning("updates_already_queued", offset=new_offset)

    async def _stored_offset(self) -> int | None:
        raw = await self._redis.get(self._names.telegram_offset)
        return int(raw) if raw else None

    def _contact(self) -> None:
        self.last_contact = time.monotonic()

    def _note_failure(self, call: str, exc: BaseException) -> None:
        kind = type(exc).__name__
        POLL_ERRORS.labels(kind).inc()
        fatal = isinstance(exc, TelegramUnauthorized | TelegramNotFound)
        level = log.error if fatal else log.warning
        if isinstance(exc, TelegramConflict):
            level = log.error  # another instance polls with this token
        level("telegram_poll_failed", call=call, error=str(exc), retry_in=self._backoff)

    async def _pause(self, stop: asyncio.Event, at_least: float = 0.0) -> None:
        delay = max(self._backoff, at_least)
        self._backoff = min(self._backoff * 2, self._settings.poll_backoff_max_seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)


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


def _chat_of(update: TgUpdate) -> object:
    if update.message is not None:
        return update.message.chat.id
    if update.my_chat_member is not None:
        return update.my_chat_member.chat.id
    return ("update", update.update_id)
