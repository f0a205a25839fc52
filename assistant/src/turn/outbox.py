"""The message's answered mark and the turn's record beside it: read when a turn is taken in
(`intake.py`), set when its answer is queued (`publish.py`), in one Lua call with the answer."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import Names

#: How long the "answered" mark outlives the message (the queue's `done:` TTL).
ANSWERED_TTL_S = 7 * 24 * 3600

# Queue the answer only if the message was not answered yet: even two handlers racing on one
# message (a chat lock lost to a stalled process) put one answer on the stream. KEYS: the
# mark, the reply stream, the turn's record of completions, deleted with it (one slot:
# `Names.assistant_answered`, `turn_record_key`).
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[2])
  redis.call('DEL', KEYS[3])
  return 1
end
return 0
"""


def turn_record_key(names: Names, message: IncomingMessage) -> str:
    """The message's record of finished completions (`clients/llm.py`), beside its mark."""
    reply_stream = names.stream(message.reply_stream)
    return names.tagged(reply_stream, f"assistant:llm_record:{message.message_id}")


@dataclass(frozen=True)
class FirstReads:
    """What a turn reads before it begins, in one round trip."""

    answered: bool
    value: bytes | None
    recorded: bool


class AnswerOutbox:
    """Answers queued on their reply stream together with the message's answered mark, once
    per message."""

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self._redis = redis
        self._names = names
        self._publish_once = redis.register_script(_PUBLISH_ONCE)

    async def answered(self, message: IncomingMessage) -> bool:
        """The mark set with the answer's XADD: the message was answered already."""
        found, _ = await self.answered_and_get(message, None)
        return found

    async def answered_and_get(
        self, message: IncomingMessage, key: str | None
    ) -> tuple[bool, bytes | None]:
        """`answered`, and the value at `key` (a turn's other first read), in one round trip
        (on a Cluster, one per node: each key is its own command, as slots differ)."""
        reads = await self.first_reads(message, key)
        return reads.answered, reads.value

    async def first_reads(self, message: IncomingMessage, key: str | None) -> FirstReads:
        """`answered_and_get`, and whether an earlier try of the turn left a record."""
        message_id = str(message.message_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(self._names.assistant_answered(message_id, message.reply_stream))
            pipe.exists(turn_record_key(self._names, message))
            if key is not None:
                pipe.get(key)
            found = await pipe.execute()
        value = found[2] if key is not None else None
        return FirstReads(bool(found[0]), value, bool(found[1]))

    async def put(self, message: IncomingMessage, outgoing: OutgoingMessage) -> bool:
        """False when an answer to `message` was queued already."""
        keys = [
            self._names.assistant_answered(str(message.message_id), message.reply_stream),
            self._names.stream(message.reply_stream),
            turn_record_key(self._names, message),
        ]
        return bool(await self._publish_once(keys=keys, args=[ANSWERED_TTL_S, outgoing.to_json()]))

    async def mark(self, message: IncomingMessage) -> None:
        """`message` is answered without an answer on its stream (it went to the operators)."""
        key = self._names.assistant_answered(str(message.message_id), message.reply_stream)
        await self._redis.set(key, "1", nx=True, ex=ANSWERED_TTL_S)
