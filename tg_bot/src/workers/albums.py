"""Flushes due albums into one queued message each (`domain/albums.py`). Every tg_bot process
runs one, poller or not, so an album gathered by a process that died is still queued."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

from redis.exceptions import RedisError

from common.infrastructure.logging import correlation, get_logger
from tg_bot.src.domain.albums import AlbumStore
from tg_bot.src.workers.typing import TypingIndicator

log = get_logger(__name__)


class AlbumFlusher:
    def __init__(
        self,
        albums: AlbumStore,
        typing: Callable[[uuid.UUID | None], TypingIndicator | None],
        wait_seconds: float,
    ) -> None:
        """`typing`: the "typing…" of the bot an album came to (None: not running here)."""
        self._albums = albums
        self._typing = typing
        #: Often enough that an album waits little beyond its `album_wait_seconds`.
        self._interval = min(0.25, wait_seconds / 4)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.flush_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def flush_once(self) -> int:
        """Queue what is due; how many albums this process queued. A failure is logged and
        tried again on the next round: the parts stay in Redis."""
        try:
            flushed = await self._albums.flush_due()
        except (RedisError, ValueError) as exc:
            log.warning("album_flush_failed", error=str(exc)[:300])
            return 0
        for album in flushed:
            with correlation(str(album.message.message_id)):
                log.info("album_queued", chat_id=album.message.chat_id, parts=album.parts)
            typing = self._typing(album.message.bot_id)
            if typing is not None:
                typing.show(album.message.chat_id)
        return len(flushed)
