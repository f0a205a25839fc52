"""Albums: several photos or documents sent together (one `media_group_id`) are one turn.

Telegram delivers each part as an update of its own, maybe in different batches. Each part
is written to Redis as it is routed (a hash under `Names.album(chat, media_group_id)`, one
field per Telegram message), and the album's due time (`album_wait_seconds` after its newest
part, Redis' clock) goes into one sorted set. Any live tg_bot process flushes due albums: it
reads the parts, builds ONE `IncomingMessage`, and queues it in a Lua call that succeeds only
if no part arrived (and no other process flushed) since it read them, so an album is queued
once however many flushers race. Flushed parts stay behind as empty tombstones for a while,
so a redelivered part is not queued again; a part arriving after its album was flushed starts
a new turn. Nothing waits in memory: a process dying between parts loses nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from common.features.blobs import DEFAULT_TTL_SECONDS
from common.infrastructure.queue_messages import ID_NAMESPACE, IncomingMessage
from common.infrastructure.redis_keys import Names

#: The hash field that counts changes, so a flush sees whether the parts it read are current.
_VERSION = "#v"

# KEYS[1]: the album hash; KEYS[2]: the due set. ARGV[1]: the part's field, ARGV[2]: its JSON,
# ARGV[3]: wait (ms), ARGV[4]: the hash's TTL (s). A tombstone (an already flushed part)
# stays as it is: the part came again, it is not new. Returns 1 when the part was added.
_ADD = """
if redis.call('HGET', KEYS[1], ARGV[1]) == '' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], '#v', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now_ms + tonumber(ARGV[3]), KEYS[1])
return 1
"""

# KEYS[1]: the album hash; KEYS[2]: the due set; KEYS[3]: the stream to the assistant;
# KEYS[4]: the chat's typing set. ARGV[1]: the version read; ARGV[2]: the message JSON;
# ARGV[3]: its id; ARGV[4]: typing TTL (s); ARGV[5..]: the fields flushed.
# Returns 1 (queued), 0 (changed since it was read: read again) or -1 (not due yet).
_FLUSH = """
if (redis.call('HGET', KEYS[1], '#v') or '') ~= ARGV[1] then return 0 end
local due = redis.call('ZSCORE', KEYS[2], KEYS[1])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if due and tonumber(due) > now_ms then return -1 end
redis.call('XADD', KEYS[3], '*', 'data', ARGV[2])
redis.call('ZADD', KEYS[4], now_ms / 1000, ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[4])
for i = 5, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], '') end
redis.call('HINCRBY', KEYS[1], '#v', 1)
redis.call('ZREM', KEYS[2], KEYS[1])
return 1
"""


def album_message_id(first_part: uuid.UUID) -> uuid.UUID:
    """The album's turn id: derived from its first part, so a flush repeated after a crash
    is the same message downstream, and parts arriving after a flush are a turn of their own."""
    return uuid.uuid5(ID_NAMESPACE, f"telegram-album:{first_part}")


def merged(parts: list[IncomingMessage]) -> IncomingMessage:
    """One message from an album's parts, in the order they were sent: every attachment,
    and the captions (usually only the first part has one)."""
    ordered = sorted(parts, key=lambda p: (p.telegram_message_id or 0, str(p.message_id)))
    first = ordered[0]
    return first.model_copy(
        update={
            "message_id": album_message_id(first.message_id),
            "text": "\n".join(p.text for p in ordered if p.text.strip()),
            "attachments": [a for p in ordered for a in p.attachments],
        }
    )


@dataclass(frozen=True)
class Flushed:
    message: IncomingMessage
    parts: int


class AlbumStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        *,
        wait_seconds: float,
        typing_ttl_seconds: float,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        self._redis = redis
        self._names = names
        self._wait_ms = max(1, round(wait_seconds * 1000))
        self._typing_ttl = max(1, int(typing_ttl_seconds))
        self._ttl = ttl_seconds
        self._add = redis.register_script(_ADD)
        self._flush = redis.register_script(_FLUSH)

    async def add(self, part: IncomingMessage, media_group_id: str) -> bool:
        """Gather one part (an `IncomingMessage` with one attachment); False for a part that
        was flushed already (a redelivery)."""
        key = self._names.album(part.chat_id, media_group_id)
        field = str(part.telegram_message_id or part.message_id)
        added = await self._add(
            keys=[key, self._names.albums_due],
            args=[field, part.to_json(), self._wait_ms, self._ttl],
        )
        return bool(added)

    async def gathering(self, chat_id: int, media_group_id: str) -> bool:
        """Whether this album is being gathered now (a group's later parts join it)."""
        key = self._names.album(chat_id, media_group_id)
        return await self._redis.zscore(self._names.albums_due, key) is not None

    async def flush_due(self, limit: int = 100) -> list[Flushed]:
        """Queue every album whose wait is over; what this process queued."""
        seconds, micros = await self._redis.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        due = await self._redis.zrangebyscore(
            self._names.albums_due, "-inf", now_ms, start=0, num=limit
        )
        flushed = []
        for key in due:
            found = await self.flush(key.decode() if isinstance(key, bytes) else str(key))
            if found is not None:
                flushed.append(found)
        return flushed

    async def flush(self, key: str) -> Flushed | None:
        """Queue one album as one message, once; None when another process did, a part came
        in meanwhile (it is flushed later), or nothing is left of it."""
        raw = await self._redis.hgetall(key)
        fields = {_text(k): _text(v) for k, v in raw.items()}
        version = fields.pop(_VERSION, "")
        waiting = {field: value for field, value in fields.items() if value}
        if not waiting:
            await self._redis.zrem(self._names.albums_due, key)
            return None
        parts = [IncomingMessage.model_validate_json(value) for value in waiting.values()]
        message = merged(parts)
        done = await self._flush(
            keys=[
                key,
                self._names.albums_due,
                self._names.to_secretary,
                self._names.telegram_typing(message.chat_id, message.bot_id),
            ],
            args=[version, message.to_json(), str(message.message_id), self._typing_ttl,
                  *waiting],
        )  # fmt: skip
        return Flushed(message, len(parts)) if done == 1 else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
