"""Files for one turn, in Redis with a time to live: what the user sent (voice, photo,
document) on its way from tg_bot to the assistant, and speech audio on its way back.

Queue entries carry only the key (`Attachment.blob_key`, `OutgoingMessage.voice_blob_key`), so
a stream never holds megabytes. The reader deletes a blob when the turn no longer needs it; the
TTL removes what a crash left behind. Files are never kept longer than that.
"""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from common.names import Names

#: Long enough for a turn waiting behind others in its chat; short enough to keep nothing.
DEFAULT_TTL_SECONDS = 30 * 60


class BlobStore:
    def __init__(
        self, redis: aioredis.Redis, names: Names, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> None:
        self._redis = redis
        self._names = names
        self._ttl = ttl_seconds

    async def put(self, data: bytes, blob_id: str | None = None) -> str:
        """Store `data`; returns its key. A derived `blob_id` (e.g. of the update and the
        file) makes a redelivered update store the same blob once."""
        key = self._names.blob(blob_id or uuid.uuid4().hex)
        await self._redis.set(key, data, ex=self._ttl)
        return key

    async def get(self, key: str) -> bytes | None:
        """The bytes, or None when the blob expired or was never there."""
        if not self._is_blob(key):
            return None
        data: bytes | str | None = await self._redis.get(key)
        if isinstance(data, str):  # a client made with decode_responses; ours is not
            return data.encode()
        return data

    async def delete(self, *keys: str) -> None:
        mine = [key for key in keys if self._is_blob(key)]
        if mine:
            await self._redis.delete(*mine)

    def _is_blob(self, key: str) -> bool:
        """Only keys this store made: a queue entry cannot make us read or delete others."""
        return key.startswith(self._names.blob(""))
