"""The stream registry: every stream the services consume, who consumes it and with which
consumer group. The queue gauges, the admin dashboard and the dead-letter tools all read
it, so a new stream is watched, shown and dead-letter-browsable from one line here."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import (
    ASSISTANT_GROUP,
    CHANNEL_DRAFTS,
    CHANNELS_GROUP,
    DRAFTS,
    TELEGRAM_UPDATES,
    TG_BOT_GROUP,
    TO_CHANNELS,
    TO_SECRETARY,
    TO_TELEGRAM,
)


@dataclass(frozen=True)
class WatchedStream:
    """A stream (logical name, without REDIS_KEY_PREFIX) and what of it is measured."""

    stream: str
    #: The consumer group whose pending entries are counted; None: no group reads it.
    group: str | None = None
    #: False for a name that only has dead letters (tg_bot:updates is never a stream itself).
    entries: bool = True
    dead_letters: bool = True


#: What each service consumes through common/infrastructure/queue.py (and tg_bot's drafts reader).
CONSUMED: dict[str, tuple[WatchedStream, ...]] = {
    "assistant": (WatchedStream(TO_SECRETARY, ASSISTANT_GROUP),),
    "tg_bot": (
        WatchedStream(TO_TELEGRAM, TG_BOT_GROUP),
        WatchedStream(TELEGRAM_UPDATES, entries=False),
        WatchedStream(DRAFTS, TG_BOT_GROUP, dead_letters=False),
    ),
    "channels": (
        WatchedStream(TO_CHANNELS, CHANNELS_GROUP),
        WatchedStream(CHANNEL_DRAFTS, CHANNELS_GROUP, dead_letters=False),
    ),
}

#: Every stream, in the order the dashboard shows them.
STREAMS: tuple[WatchedStream, ...] = tuple(w for ws in CONSUMED.values() for w in ws)
#: Every stream with dead letters.
DEAD_LETTERED: tuple[str, ...] = tuple(w.stream for w in STREAMS if w.dead_letters)
#: The streams whose dead letters go back onto them when replayed; tg_bot:updates' are only
#: kept to be read (tg_bot reads updates from Telegram, no stream takes them back).
REPLAYABLE: tuple[str, ...] = tuple(w.stream for w in STREAMS if w.dead_letters and w.entries)


async def pending_count(redis: aioredis.Redis, key: str, group: str) -> int:
    """Entries `group` read from the stream `key` and has not acknowledged yet."""
    try:
        summary = await redis.xpending(key, group)
    except aioredis.ResponseError as exc:  # NOGROUP: no consumer made the group yet
        if "NOGROUP" in str(exc):
            return 0
        raise
    return int(summary["pending"])
