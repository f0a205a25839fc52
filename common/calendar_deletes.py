"""Calendar event deletes waiting for their owner's Yes / No: the assistant's calendar tool
asks (`ask`), the answer carries the buttons, and tg_bot acts on the tap (`take`).

A delete is never done on the model's word alone: the event is kept in Redis under a random
token the buttons carry (an event id would not fit Telegram's 64 bytes of callback data),
and `take` reads and removes it in one step, so two taps delete at most once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from common.names import Names

#: How long a question stays answerable; after it the buttons say it expired.
DELETE_CONFIRM_TTL_S = 24 * 3600


@dataclass(frozen=True)
class PendingDelete:
    user_id: str
    event_id: str
    calendar_id: str
    #: What the question named, so the edited message can say what was deleted.
    summary: str
    start: str


class PendingDeletes:
    def __init__(
        self, redis: aioredis.Redis, names: Names, ttl_seconds: int = DELETE_CONFIRM_TTL_S
    ) -> None:
        self._redis = redis
        self._names = names
        self._ttl = ttl_seconds

    async def ask(self, pending: PendingDelete) -> str:
        """Keep the delete until answered; the token for its buttons (32 hex characters)."""
        token = secrets.token_hex(16)
        await self.restore(token, pending)
        return token

    async def restore(self, token: str, pending: PendingDelete) -> None:
        """Put a taken delete back (the calendar failed; the user may tap again)."""
        key = self._names.calendar_delete(token)
        await self._redis.set(key, json.dumps(asdict(pending)), ex=self._ttl)

    async def peek(self, token: str) -> PendingDelete | None:
        return _read(await self._redis.get(self._names.calendar_delete(token)))

    async def take(self, token: str) -> PendingDelete | None:
        """The delete, removed: None when answered already or expired."""
        return _read(await self._redis.getdel(self._names.calendar_delete(token)))


def _read(raw: bytes | str | None) -> PendingDelete | None:
    if raw is None:
        return None
    try:
        return PendingDelete(**json.loads(raw))
    except (ValueError, TypeError):
        return None
