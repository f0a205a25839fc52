"""Drafts of answers for the channels that show an answer as it is written (the web chat, the
public API's streamed chat completions): read from `queue:channel_drafts` in the channels
group, so one replica takes each, and handed to the draft's channel (`main.py`).

Best effort, as tg_bot's drafts are: an entry is acknowledged as soon as it is read, a draft
that does not parse or cannot be shown is dropped, and a Redis outage waits and reads on. The
final answer (on `queue:to_channels`) replaces the drafts whatever became of them."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable
from typing import cast

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import DraftMessage
from common.infrastructure.redis_keys import CHANNEL_DRAFTS, CHANNELS_GROUP, Names

log = get_logger(__name__)

#: How long one read waits for drafts, and how long to wait after Redis failed.
BLOCK_MS = 5_000
OUTAGE_PAUSE_S = 1.0

_GROUP_GONE = re.compile(r"NOGROUP|no longer exists")

Show = Callable[[DraftMessage], Awaitable[None]]
#: A stream entry as a client that does not decode answers gives it.
Entry = tuple[bytes, dict[bytes, bytes]]


def read_entries(found: object) -> list[Entry]:
    """The entries of an XREAD / XREADGROUP answer for one stream (none: an empty list)."""
    streams = cast(list[tuple[bytes, list[Entry]]], found or [])
    return [entry for _stream, entries in streams for entry in entries]


class DraftReader:
    def __init__(self, redis: aioredis.Redis, names: Names, show: Show) -> None:
        self._redis = redis
        self._key = names.stream(CHANNEL_DRAFTS)
        self._show = show
        self._consumer = f"{socket.gethostname()}-{id(self):x}"

    async def run(self) -> None:
        await self._ensure_group()
        while True:
            try:
                found = await self._redis.xreadgroup(
                    CHANNELS_GROUP, self._consumer, {self._key: ">"}, count=100, block=BLOCK_MS
                )
            except ResponseError as exc:
                # The stream went (deleted, flushed) and its group with it: Redis 7 answers a
                # read waiting on it "UNBLOCKED the stream key no longer exists", the next one
                # NOGROUP.
                if not _GROUP_GONE.search(str(exc)):
                    raise
                await self._ensure_group()
                continue
            except (RedisError, OSError):
                await asyncio.sleep(OUTAGE_PAUSE_S)
                continue
            entries = read_entries(found)
            if entries:
                await self._handle(entries)

    async def _handle(self, entries: list[Entry]) -> None:
        await self._redis.xack(self._key, CHANNELS_GROUP, *(entry_id for entry_id, _ in entries))
        for _entry_id, fields in entries:
            try:
                draft = DraftMessage.model_validate_json(fields.get(b"data", b""))
                await self._show(draft)
            except (ValidationError, RedisError, OSError) as exc:
                log.info("draft_dropped", error=type(exc).__name__)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._key, CHANNELS_GROUP, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
