"""What the public API keeps of each message in Redis: whose it is and how it is answered (a
record), and its drafts and answer as they come (a stream a waiting request reads, on
whichever replica it waits)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

import redis.asyncio as aioredis

from channels.src.adapters.web_drafts import read_entries
from common.infrastructure.clock import utcnow
from common.infrastructure.redis_keys import Names

#: How the answer reaches the client: a waiting `/v1/chat/completions`, its webhook, or only
#: `GET /api/v1/messages/{id}` (a client without a webhook; GET has every answer).
Delivery = Literal["wait", "webhook", "get"]
Status = Literal["queued", "answered", "refused"]
#: How long a message's events are kept after the last: past any request still waiting.
EVENTS_TTL_S = 3_600
EVENTS_KEPT = 200
#: Where a reader starts: the first event.
FROM_START = "0-0"


@dataclass(frozen=True)
class Record:
    id: str
    client: str
    user: str
    assistant: str
    delivery: Delivery
    status: Status
    created_at: str
    #: The answer as `AnswerOut` shows it (JSON-ready), once answered.
    answer: dict[str, Any] | None = None

    @property
    def created(self) -> datetime:
        return datetime.fromisoformat(self.created_at)


@dataclass(frozen=True)
class Event:
    """A draft (`text` so far, or a `status` line) or the answer."""

    id: str
    kind: Literal["draft", "answer"]
    body: dict[str, Any]


class Records:
    def __init__(self, redis: aioredis.Redis, names: Names, ttl_s: int) -> None:
        self.redis = redis
        self.names = names
        self.ttl_s = ttl_s

    @staticmethod
    def new(message_id: str, client: str, user: str, assistant: str, delivery: Delivery) -> Record:
        return Record(message_id, client, user, assistant, delivery, "queued", utcnow().isoformat())

    async def open(self, record: Record) -> Record:
        """Keeps `record` unless its message is known already (a retry): then the one kept."""
        key = self.names.api_message(record.id)
        made = await self.redis.set(key, json.dumps(asdict(record)), nx=True, ex=self.ttl_s)
        if made:
            return record
        return await self.get(record.id) or record

    async def get(self, message_id: str) -> Record | None:
        raw = await self.redis.get(self.names.api_message(message_id))
        return None if raw is None else Record(**json.loads(raw))

    async def save(self, record: Record) -> None:
        key = self.names.api_message(record.id)
        await self.redis.set(key, json.dumps(asdict(record)), ex=self.ttl_s)

    async def answered(self, record: Record, answer: dict[str, Any]) -> Record:
        """The record with its answer, kept; the answer told to whoever waits for it."""
        done = replace(record, status="answered", answer=answer)
        await self.save(done)
        await self.add_event(record.id, "answer", answer)
        return done

    async def refused(self, record: Record) -> None:
        await self.save(replace(record, status="refused"))

    async def add_event(self, message_id: str, kind: str, body: dict[str, Any]) -> None:
        key = self.names.api_answer_events(message_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            fields = {"kind": kind, "body": json.dumps(body, ensure_ascii=False)}
            pipe.xadd(key, cast(Any, fields), maxlen=EVENTS_KEPT, approximate=True)
            pipe.expire(key, EVENTS_TTL_S)
            await pipe.execute()

    async def events(self, message_id: str, after: str, block_ms: int) -> list[Event]:
        """The events after `after`, waiting up to `block_ms` for the first."""
        key = self.names.api_answer_events(message_id)
        found = await self.redis.xread({key: after}, count=100, block=block_ms)
        return [
            Event(_text(entry_id), cast(Any, _text(fields[b"kind"])), json.loads(fields[b"body"]))
            for entry_id, fields in read_entries(found)
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
