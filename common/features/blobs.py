"""Files for one turn, in Redis with a time to live: what the user sent (voice, photo,
document) on its way from tg_bot to the assistant, and speech audio on its way back.

Queue entries carry only the key (`Attachment.blob_key`, `OutgoingMessage.voice_blob_key`), so
a stream never holds megabytes. The reader deletes a blob when the turn no longer needs it
(answered, dropped as a duplicate, dead-lettered); the TTL removes what a crash left behind.
Files are never kept longer than that.

What users send is within a budget (`BlobBudget`): bytes per sender
(`BLOB_MAX_BYTES_PER_USER`) and in all (`BLOB_MAX_BYTES_TOTAL`). A put reserves its size in
one Lua call on the budget's books (one Cluster slot) before the bytes are written, so two
puts racing cannot both pass the last free byte; over either budget it raises `OverBudget`
and nothing is stored. A delete releases the reservation, a blob that expired is released by
the next put (its expiry is on the books); releasing needs no memory, so it works in a full
Redis too. A write Redis refuses for memory (`maxmemory`
with `noeviction`) releases its reservation and raises `RedisFull`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import OutOfMemoryError

from common.infrastructure.redis_keys import Names

#: Long enough for a turn waiting behind others in its chat; short enough to keep nothing.
DEFAULT_TTL_SECONDS = 30 * 60
#: What `chunks` reads at a time.
CHUNK_BYTES = 1024 * 1024
# The books: `owners` (blob key -> "<owner> <size>") and `expiry` (blob key by its expiry,
# ms). Bytes in use are summed from `owners` when a put asks (one pass over the waiting
# blobs, a few thousand at most), not kept in counters: a release is then HDEL and ZREM
# only, which a Redis over `maxmemory` still allows (it refuses HINCRBY, HSET, ZADD).

# KEYS: owners, expiry. ARGV: blob keys. Returns how many were on the books.
_RELEASE = """
local n = 0
for i = 1, #ARGV do
  n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return n
"""
# Reserve a blob's bytes. KEYS: owners, expiry. ARGV: blob key, owner, size, ttl (ms),
# per-owner limit, total limit (0: none). Up to 64 expired blobs are released first (the
# rest by the next puts). Returns 1 (reserved, or reserved already: a redelivered file),
# -1 (over the owner's budget), -2 (over the total).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 64)) do
  redis.call('HDEL', KEYS[1], key)
  redis.call('ZREM', KEYS[2], key)
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
local size = tonumber(ARGV[3])
local prefix = ARGV[2] .. ' '
local mine, all = size, size
for _, entry in ipairs(redis.call('HVALS', KEYS[1])) do
  local sep = string.find(entry, ' ', 1, true)
  local bytes = tonumber(string.sub(entry, sep + 1))
  all = all + bytes
  if string.sub(entry, 1, sep) == prefix then mine = mine + bytes end
end
if tonumber(ARGV[5]) > 0 and mine > tonumber(ARGV[5]) then return -1 end
if tonumber(ARGV[6]) > 0 and all > tonumber(ARGV[6]) then return -2 end
redis.call('HSET', KEYS[1], ARGV[1], prefix .. ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
return 1
"""


@dataclass(frozen=True)
class BlobBudget:
    """Bytes of users' files waiting in Redis; 0: no limit."""

    per_user: int = 0
    total: int = 0


class OverBudget(Exception):
    """Storing the file would pass a budget; nothing was stored. `scope`: "user" or "total"."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"over the {scope} blob budget of {limit} bytes")
        self.scope = scope
        self.limit = limit


class RedisFull(Exception):
    """Redis refused the write for memory (`maxmemory`); nothing was stored."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Redis' "OOM command not allowed when used memory > 'maxmemory'" (redis-py names it
    `OutOfMemoryError`, without the "OOM" in its text)."""
    return isinstance(exc, OutOfMemoryError) or (
        isinstance(exc, aioredis.ResponseError) and str(exc).startswith("OOM")
    )


class BlobStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        budget: BlobBudget | None = None,
    ) -> None:
        self._redis = redis
        self._names = names
        self._ttl = ttl_seconds
        self._budget = budget or BlobBudget()
        self._books = [names.blob_budget(part) for part in ("owners", "expiry")]
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)

    async def put(self, data: bytes, blob_id: str | None = None, owner: str | None = None) -> str:
        """Store `data`; returns its key. A derived `blob_id` (e.g. of the update and the
        file) makes a redelivered update store the same blob once. With an `owner` (a user's
        file) the size is reserved within the budget first: `OverBudget` when it does not
        fit. `RedisFull` when Redis refuses the write for memory."""
        key = self._names.blob(blob_id or uuid.uuid4().hex)
        if owner is not None:
            await self._reserved(key, owner, len(data))
        try:
            await self._redis.set(key, data, ex=self._ttl)
        except aioredis.ResponseError as exc:
            if owner is not None:
                await self._release(keys=self._books, args=[key])
            if is_out_of_memory(exc):
                raise RedisFull(str(exc)) from exc
            raise
        return key

    async def _reserved(self, key: str, owner: str, size: int) -> None:
        budget = self._budget
        try:
            found = await self._reserve(
                keys=self._books,
                args=[key, owner, size, self._ttl * 1000, budget.per_user, budget.total],
            )
        except aioredis.ResponseError as exc:
            if is_out_of_memory(exc):
                raise RedisFull(str(exc)) from exc
            raise
        if found == -1:
            raise OverBudget("user", budget.per_user)
        if found == -2:
            raise OverBudget("total", budget.total)

    async def get(self, key: str) -> bytes | None:
        """The bytes, or None when the blob expired or was never there."""
        if not self._is_blob(key):
            return None
        data: bytes | str | None = await self._redis.get(key)
        if isinstance(data, str):  # a client made with decode_responses; ours is not
            return data.encode()
        return data

    async def size(self, key: str) -> int:
        """The blob's size in bytes; 0 when it expired or was never there."""
        if not self._is_blob(key):
            return 0
        return int(await self._redis.strlen(key))

    async def chunks(self, key: str, chunk: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        """The blob's bytes a chunk at a time (GETRANGE), so a reader that passes them on
        (to a child process) never holds the whole file."""
        if not self._is_blob(key):
            return
        offset = 0
        while True:
            found: bytes | str = await self._redis.getrange(key, offset, offset + chunk - 1)
            part = found.encode() if isinstance(found, str) else found
            if part:
                yield part
            if len(part) < chunk:
                return
            offset += len(part)

    async def delete(self, *keys: str) -> None:
        """Delete the blobs and release what they held of the budget."""
        mine = [key for key in keys if self._is_blob(key)]
        if not mine:
            return
        await self._release(keys=self._books, args=mine)
        await self._redis.delete(*mine)

    async def usage(self, owner: str | None = None) -> int:
        """Bytes on the books for `owner` (None: in all)."""
        entries = await self._redis.hvals(self._books[0])
        sizes = (_text(entry).rpartition(" ") for entry in entries)
        return sum(int(size) for who, _, size in sizes if owner is None or who == owner)

    def _is_blob(self, key: str) -> bool:
        """Only keys this store made: a queue entry cannot make us read or delete others."""
        return key.startswith(self._names.blob(""))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
