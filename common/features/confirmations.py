"""Actions waiting for their owner's Yes / No: the assistant asks (`ask`), its answer carries
the buttons, and tg_bot acts on the tap (`take`).

Two kinds wait here. A calendar event delete (`PendingDelete`) always asks, and tg_bot
deletes on Yes. A held tool call (`HeldCall`) is any call that stores or removes something
made after the turn took in outside content (a web page, search results, a file, an MCP
server's answer): on Yes tg_bot hands it back to the assistant, which runs exactly that call.

A third kind is a held call too: the secretary's proposal to remember a fact the user stated
about themselves (`HeldCall.fact`): Yes stores it, No drops it and keeps the same fact from
being proposed again for `DECLINED_FACT_TTL_S` (`decline_fact`, `fact_declined`).

Nothing is done on the model's word alone: the action is kept in Redis under a random token
the buttons carry (an id would not fit Telegram's 64 bytes of callback data), and `take`
reads and removes it in one step, so two taps act at most once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from common.infrastructure.wire import fact_key

#: How long a question stays answerable; after it the buttons say it expired.
CONFIRM_TTL_S = 24 * 3600
#: How long a fact the user said No to is not proposed again.
DECLINED_FACT_TTL_S = 30 * 24 * 3600
#: The stored form's name of a held call (a calendar delete has none: the older form).
_HELD = "held_call"


@dataclass(frozen=True)
class PendingDelete:
    user_id: str
    event_id: str
    calendar_id: str
    #: What the question named, so the edited message can say what was deleted.
    summary: str
    start: str
    #: The Google account of the event (None: found by its calendar, else the default one).
    account: str | None = None


@dataclass(frozen=True)
class HeldCall:
    """A tool call as the model made it, for the assistant to run on the owner's Yes."""

    user_id: str
    chat_id: int
    #: The assistant whose tool it is (the secretary or a sub-assistant).
    assistant_id: str
    tool: str
    arguments: Mapping[str, object] = field(default_factory=dict)
    #: The turn's message and the call's place in it: the call's idempotency key.
    message_id: str = ""
    position: str = ""
    #: What the call does, in our words (`describe_call`), shown with the buttons.
    summary: str = ""
    #: A proposal to remember this fact (the call is `remember` add): the question and the
    #: answer name the fact, and a No keeps it from being proposed again soon.
    fact: str = ""


Pending = PendingDelete | HeldCall


class Confirmations:
    def __init__(
        self, redis: aioredis.Redis, names: Names, ttl_seconds: int = CONFIRM_TTL_S
    ) -> None:
        self._redis = redis
        self._names = names
        self._ttl = ttl_seconds

    async def ask(self, pending: Pending) -> str:
        """Keep the action until answered; the token for its buttons (32 hex characters)."""
        token = secrets.token_hex(16)
        await self.restore(token, pending)
        return token

    async def ask_in_answer(self, pending: Pending, message_id: str) -> str:
        """`ask`, and note the token for the answer to `message_id`: its Yes / No buttons."""
        token = await self.ask(pending)
        asked = self._names.confirmations_asked(message_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(asked, token)
            pipe.expire(asked, self._ttl)
            await pipe.execute()
        return token

    async def restore(self, token: str, pending: Pending) -> None:
        """Put a taken action back (the calendar failed; the user may tap again)."""
        key = self._names.confirmation(token)
        await self._redis.set(key, _dump(pending), ex=self._ttl)

    async def peek(self, token: str) -> Pending | None:
        return _read(await self._redis.get(self._names.confirmation(token)))

    async def take(self, token: str) -> Pending | None:
        """The action, removed: None when answered already or expired."""
        return _read(await self._redis.getdel(self._names.confirmation(token)))

    async def peek_many(self, tokens: list[str]) -> list[Pending | None]:
        """Several at once, in one round trip (the answer's buttons)."""
        if not tokens:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.get(self._names.confirmation(token))
            return [_read(raw) for raw in await pipe.execute()]


async def decline_fact(redis: aioredis.Redis, names: Names, pending: Pending | None) -> None:
    """A No to a fact proposal: the same fact is not proposed to this user again soon."""
    if isinstance(pending, HeldCall) and pending.fact:
        key = names.fact_declined(pending.user_id, _digest(pending.fact))
        await redis.set(key, "1", ex=DECLINED_FACT_TTL_S)


async def fact_declined(redis: aioredis.Redis, names: Names, user_id: str, fact: str) -> bool:
    """The user said No to remembering this fact (however spelled) lately."""
    return bool(await redis.exists(names.fact_declined(user_id, _digest(fact))))


def _digest(fact: str) -> str:
    return hashlib.sha256(fact_key(fact).encode()).hexdigest()[:32]


def describe_call(tool: str, arguments: Mapping[str, object], limit: int = 3000) -> str:
    """A held call as the user reads it: the tool's name and its arguments exactly (JSON on
    one line), so what the model says about it cannot hide what it does."""
    text = f"{tool} {json.dumps(arguments, ensure_ascii=False, sort_keys=True)}"
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _dump(pending: Pending) -> str:
    if isinstance(pending, HeldCall):
        return json.dumps({"kind": _HELD, **asdict(pending)}, ensure_ascii=False)
    return json.dumps(asdict(pending), ensure_ascii=False)


def _read(raw: bytes | str | None) -> Pending | None:
    if raw is None:
        return None
    try:
        found = json.loads(raw)
        if not isinstance(found, dict):
            return None
        if found.pop("kind", None) == _HELD:
            return HeldCall(**found)
        return PendingDelete(**found)
    except (ValueError, TypeError):
        return None
