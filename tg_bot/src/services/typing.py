""" "typing…" in a chat from the moment its message is queued until its answer went out.

Which incoming messages of a chat still wait for an answer lives in Redis (a sorted set per
chat, written by the receiver in the same step that queues the message), so the sender in
any process can say "answered". In the receiving process one loop per chat renews the chat
action every few seconds (Telegram shows it for about five) while anything is waiting, with
at most one sendChatAction in flight per chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import redis.asyncio as aioredis

from common.logging import get_logger
from common.messages import OutgoingKind, OutgoingMessage
from common.names import Names
from tg_bot.src.client.errors import TelegramError, TelegramForbidden
from tg_bot.src.client.telegram import TelegramClient

log = get_logger(__name__)


class TypingIndicator:
    def __init__(
        self,
        telegram: TelegramClient,
        redis: aioredis.Redis,
        names: Names,
        *,
        interval_s: float = 4.0,
        max_s: float = 120.0,
    ) -> None:
        self._telegram = telegram
        self._redis = redis
        self._names = names
        self._interval_s = interval_s
        self._max_s = max_s
        self._loops: dict[int, asyncio.Task[None]] = {}
        self._wake: dict[int, asyncio.Event] = {}
        self._closing = False

    def show(self, chat_id: int) -> None:
        """Keep "typing…" in the chat while answers are pending (already recorded)."""
        if chat_id in self._loops or self._closing:
            return
        self._wake[chat_id] = asyncio.Event()
        task = asyncio.create_task(self._loop(chat_id))
        self._loops[chat_id] = task
        task.add_done_callback(lambda _t, c=chat_id: self._forget(c))

    async def answered(self, message: OutgoingMessage) -> None:
        """An answer went out: its question no longer waits (any answer, if it names none)."""
        if message.kind == OutgoingKind.NOTIFICATION:
            return
        key = self._names.telegram_typing(message.chat_id)
        removed = 0
        if message.correlation_id:
            removed = await self._redis.zrem(key, message.correlation_id)
        if not removed:
            await self._redis.delete(key)
        wake = self._wake.get(message.chat_id)
        if wake is not None:
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

    def _forget(self, chat_id: int) -> None:
        self._loops.pop(chat_id, None)
        self._wake.pop(chat_id, None)

    async def _loop(self, chat_id: int) -> None:
        wake = self._wake[chat_id]
        while not self._closing and await self._pending(chat_id):
            wake.clear()
            try:
                await self._telegram.send_chat_action(chat_id, "typing")
            except TelegramForbidden:
                return  # the user blocked the bot: nobody to show it to
            except TelegramError as exc:
                log.debug("typing_failed", chat_id=chat_id, error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self._interval_s)

    async def _pending(self, chat_id: int) -> bool:
        key = self._names.telegram_typing(chat_id)
        async with self._redis.pipeline(transaction=False) as pipe:  # one round trip
            pipe.zremrangebyscore(key, "-inf", time.time() - self._max_s)
            pipe.zcard(key)
            _, waiting = await pipe.execute()
        return bool(waiting)
