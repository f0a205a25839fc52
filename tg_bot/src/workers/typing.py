""" "typing…" in a chat from the moment its message is queued until its answer went out.

Which incoming messages of a chat still wait for an answer lives in Redis (a sorted set per
chat, written by the receiver in the same step that queues the message), so the sender in
any process can say "answered". In the receiving process one loop per chat shows the chat
action once an answer has been waiting `delay_s` (sendChatAction is for answers that take
noticeably long, as the Bot API advises; most commands are answered sooner) and renews it
every few seconds (Telegram shows it for about five) while anything is waiting, with
at most one sendChatAction in flight per chat. A loop outlives Redis errors (a pool
exhausted under load, a restart): it logs them, tries again, and gives up only after `max_s` of
failures; whatever still ends a loop is logged by its done callback, never left unretrieved.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import Names
from tg_bot.src.clients.errors import TelegramError, TelegramForbidden
from tg_bot.src.clients.telegram import TelegramClient

log = get_logger(__name__)


class TypingIndicator:
    def __init__(
        self,
        telegram: TelegramClient,
        redis: aioredis.Redis,
        names: Names,
        *,
        interval_s: float = 4.0,
        delay_s: float = 0.0,
        max_s: float = 120.0,
        max_in_flight: int = 8,
        bot_id: object = None,
    ) -> None:
        """`bot_id`: the bot whose chats these are (a bots row's id, None the default bot)."""
        self._bot_id = bot_id
        self._telegram = telegram
        self._redis = redis
        self._names = names
        self._interval_s = interval_s
        self._delay_s = delay_s
        self._max_s = max_s
        self._loops: dict[int, asyncio.Task[None]] = {}
        self._wake: dict[int, asyncio.Event] = {}
        #: chats whose loop here may end without asking Redis: an answer sent by this
        #: process left nothing waiting, and nothing was queued for them since
        self._drained: set[int] = set()
        self._closing = False
        # sendChatActions share the answers' connection pool, whose bookkeeping costs
        # per queued request times connections: a backlog of waiting chats queued there
        # cost more CPU than the requests themselves. They wait here instead (O(1)).
        self._in_flight = asyncio.Semaphore(max_in_flight)

    def key(self, chat_id: int) -> str:
        """The chat's waiting messages, for this bot."""
        return self._names.telegram_typing(chat_id, self._bot_id)

    def show(self, chat_id: int) -> None:
        """Keep "typing…" in the chat while answers are pending (already recorded)."""
        self._drained.discard(chat_id)
        if chat_id in self._loops or self._closing:
            return
        self._wake[chat_id] = asyncio.Event()
        task = asyncio.create_task(self._loop(chat_id))
        self._loops[chat_id] = task
        task.add_done_callback(functools.partial(self._finished, chat_id))

    async def answered(self, message: OutgoingMessage) -> None:
        """An answer went out: its question no longer waits (any answer, if it names none)."""
        if message.kind == OutgoingKind.NOTIFICATION:
            return
        chat_id = message.chat_id
        key = self.key(chat_id)
        removed, waiting = 0, 0
        if message.correlation_id:
            async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
                pipe.zrem(key, message.correlation_id)
                pipe.zcard(key)
                removed, waiting = await pipe.execute()
        if not removed:
            await self._redis.delete(key)
            waiting = 0
        wake = self._wake.get(chat_id)
        if wake is not None:
            if not waiting:
                self._drained.add(chat_id)
            wake.set()

    async def close(self, grace_s: float = 2.0) -> None:
        """Let the loops see they should stop; cancel what is still busy after `grace_s`."""
        self._closing = True
        for wake in self._wake.values():
            wake.set()
        loops = list(self._loops.values())
        if not loops:
            return
        _, busy = await asyncio.wait(loops, timeout=grace_s)
        for task in busy:
            task.cancel()
        if busy:
            await asyncio.wait(busy)

    def _finished(self, chat_id: int, task: asyncio.Task[None]) -> None:
        self._forget(chat_id, task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("typing_loop_failed", chat_id=chat_id, error=f"{type(exc).__name__}: {exc}")

    def _forget(self, chat_id: int, task: asyncio.Task[None] | None) -> None:
        """Drop `task`'s loop of the chat (not a newer one's)."""
        if task is not None and self._loops.get(chat_id) is task:
            del self._loops[chat_id]
            self._wake.pop(chat_id, None)
            self._drained.discard(chat_id)

    async def _loop(self, chat_id: int) -> None:
        try:
            await self._keep_typing(chat_id)
        finally:  # at once, so a message queued from now on starts a new loop
            self._forget(chat_id, asyncio.current_task())

    async def _keep_typing(self, chat_id: int) -> None:
        wake = self._wake[chat_id]
        failing_since: float | None = None
        if self._delay_s > 0:  # an answer out by then ends the loop below without a chat action
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._delay_s)
        while not self._closing:
            if chat_id in self._drained:  # this process sent the last answer it waited for
                return
            try:
                if not await self._pending(chat_id):
                    return
            except RedisError as exc:
                failing_since = self._redis_failed(chat_id, exc, failing_since)
                if time.monotonic() - failing_since > self._max_s:
                    return
            else:
                failing_since = None
                wake.clear()
                if not await self._send(chat_id):
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._interval_s)

    @staticmethod
    def _redis_failed(chat_id: int, exc: RedisError, since: float | None) -> float:
        """When the current run of failures began; the first of a run is logged."""
        if since is None:
            log.warning("typing_redis_failed", chat_id=chat_id, error=type(exc).__name__)
            return time.monotonic()
        return since

    async def _send(self, chat_id: int) -> bool:
        """False when nobody can be shown "typing…" (the user blocked the bot)."""
        try:
            async with self._in_flight:
                await self._telegram.send_chat_action(chat_id, "typing")
        except TelegramForbidden:
            return False
        except TelegramError as exc:
            log.debug("typing_failed", chat_id=chat_id, error=str(exc))
        return True

    async def _pending(self, chat_id: int) -> bool:
        key = self.key(chat_id)
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.zremrangebyscore(key, "-inf", time.time() - self._max_s)
            pipe.zcard(key)
            _, waiting = await pipe.execute()
        return bool(waiting)
