"""What a tool showed a user lately, per user in Redis: a hash from an item's id (an event, a
message, a conversation) to what was shown of it, as JSON, kept for a while after the last
note. A write that names an item takes it from here, so the assistant never changes what the
user has not seen, and knows which account the item came from."""

from __future__ import annotations

import json
from typing import Any

from redis.typing import EncodableT, FieldT

from assistant.src.tools.base import BaseTool


class ShownItems:
    def __init__(self, tool: BaseTool, key: str, ttl_s: int) -> None:
        self._redis = tool.services.redis
        self._key = key
        self._ttl_s = ttl_s

    async def note(self, items: dict[str, list[Any]]) -> None:
        """Remember each item (id → its shown fields); the hash lives `ttl_s` from now."""
        if not items:
            return
        mapping: dict[FieldT, EncodableT] = {key: json.dumps(v) for key, v in items.items()}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key, mapping=mapping)
            pipe.expire(self._key, self._ttl_s)
            await pipe.execute()

    async def get(self, item_id: str) -> list[Any] | None:
        """The item's shown fields; None when it was not shown lately (or was kept by an
        older version in another shape)."""
        found = await self._redis.hget(self._key, item_id)
        if found is None:
            return None
        try:
            fields = json.loads(found)
        except ValueError:
            return None
        return fields if isinstance(fields, list) else None
