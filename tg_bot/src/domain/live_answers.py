"""An answer shown live while it is written (`workers/drafts.py`), and its hand-over to the
final answer: the hash `live_key(names, answer_id)` holds the last draft shown (`seq`, `at`),
the group message the drafts are edited into (`telegram_message_id`) and, once the final is
on its way, `final`, after which no draft of it is shown. It lives beside the sent marker of
the answer's first part (one Cluster slot), which the drafts' gate reads with it."""

from __future__ import annotations

import uuid

import redis.asyncio as aioredis

from common.infrastructure.queue_messages import ID_NAMESPACE
from common.infrastructure.redis_keys import Names

#: How long an answer's live state is kept: longer than its final can take to go out.
LIVE_TTL_S = 3600


def part_id(message_id: uuid.UUID | str, index: int) -> uuid.UUID:
    """The id of the `index`th part of a message: the same on every redelivery."""
    return uuid.uuid5(ID_NAMESPACE, f"part:{message_id}:{index}")


def live_key(names: Names, answer_id: str) -> str:
    """The live hash of an answer."""
    return names.live_answer(str(part_id(answer_id, 0)))


# KEYS: the live hash. ARGV: the TTL. Marks the answer final (if it was streamed) and returns
# the Telegram message its drafts are shown in, if any.
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'final', '1')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGET', KEYS[1], 'telegram_message_id')
"""


async def take_live_message(redis: aioredis.Redis, names: Names, answer_id: str) -> int | None:
    """Before an answer's first part goes out: no draft of it is shown from now on; returns the
    group message its drafts are in (the final's first part edits it), if any."""
    take = redis.register_script(_TAKE)
    found = await take(keys=[live_key(names, answer_id)], args=[LIVE_TTL_S])
    return int(found) if found else None
