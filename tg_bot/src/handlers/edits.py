"""Edited messages: an edit of the user's last message to the assistant, made within
`edit_window_seconds` of when it was first sent, is answered again (the assistant says so);
an edit of anything older or of another message is ignored, as Telegram users expect from a
bot that already answered. Commands are never re-run from an edit (see `updates.py`).

Which message was the user's last one lives in Redis (`Names.last_user_message`: its id and
original date, with a TTL), written when a message is queued, so any tg_bot process judges
an edit the same way."""

from __future__ import annotations

import json
import time

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from tg_bot.src.clients.types import TgMessage

#: An edit may reach the bot late (a restart, an outage): the record outlives the window.
LATE_DELIVERY_SECONDS = 600


class LastMessages:
    def __init__(self, redis: aioredis.Redis, names: Names, window_seconds: int) -> None:
        self._redis = redis
        self._names = names
        self._window = window_seconds

    async def remember(self, message: TgMessage) -> None:
        """`message` was queued for the assistant: now the only one whose edit counts."""
        if self._window <= 0 or message.sender is None:
            return
        record = json.dumps({"id": message.message_id, "date": message.date})
        key = self._names.last_user_message(message.chat.id, message.sender.id)
        await self._redis.set(key, record, ex=self._window + LATE_DELIVERY_SECONDS)

    async def answerable(self, edited: TgMessage) -> bool:
        """Whether this edit is of the sender's last queued message, within the window from
        that message's original date."""
        if self._window <= 0 or edited.sender is None:
            return False
        edited_at = edited.edit_date if edited.edit_date is not None else int(time.time())
        if edited_at - edited.date > self._window:
            return False
        key = self._names.last_user_message(edited.chat.id, edited.sender.id)
        raw = await self._redis.get(key)
        return raw is not None and _is_same(raw, edited)


def _is_same(raw: bytes | str, edited: TgMessage) -> bool:
    try:
        record = json.loads(raw)
        return bool(record["id"] == edited.message_id and record["date"] == edited.date)
    except (ValueError, KeyError, TypeError):
        return False
