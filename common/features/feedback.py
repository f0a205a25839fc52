"""👍 / 👎 under an assistant's answer (decision 0051): the assistant offers them (`offer`),
tg_bot reads what a press rates (`find`) and waits a short while for a 👎's comment.

The buttons carry a random token, never what they rate: the answer's history key, its
assistant, chat, bot, model and prompt hash are kept in Redis under it by the assistant, so
a forged or stale press finds nothing (or another chat's answer, which is refused) and is
told so. The record lives as long as an answer may be rated.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names

#: How long an answer may be rated; a later press is told it can no longer be.
FEEDBACK_TTL_S = 7 * 24 * 3600
#: How long after a 👎 the user's next message is taken as its comment.
COMMENT_WINDOW_S = 10 * 60
#: Characters of a comment kept (rest_service keeps at most 2000).
COMMENT_CHARS = 2000


@dataclass(frozen=True)
class RatedAnswer:
    """What a press of the answer's buttons rates, and what made the answer."""

    #: The answer's `dedup_key` in the history (`<incoming message id>:answer`).
    message_key: str
    assistant_id: str
    chat_id: int
    #: The bots row whose bot sent it; None: the default bot.
    bot_id: str | None
    model: str | None
    prompt_hash: str | None


def prompt_hash(instructions: str) -> str:
    """Names the instructions an answer was made with (16 hex characters of SHA-256)."""
    return hashlib.sha256(instructions.encode()).hexdigest()[:16]


def answer_key(message_id: str) -> str:
    """The history key of the assistant's answer to a message (`llm_chat.py` stores it so)."""
    return f"{message_id}:answer"


class FeedbackAsks:
    def __init__(
        self, redis: aioredis.Redis, names: Names, ttl_seconds: int = FEEDBACK_TTL_S
    ) -> None:
        self._redis = redis
        self._names = names
        self._ttl = ttl_seconds

    async def offer(self, answer: RatedAnswer) -> str:
        """Keep what the answer's buttons rate; the token they carry (32 hex characters)."""
        token = secrets.token_hex(16)
        payload = json.dumps(asdict(answer), ensure_ascii=False)
        await self._redis.set(self._names.feedback_answer(token), payload, ex=self._ttl)
        return token

    async def find(self, token: str) -> RatedAnswer | None:
        """None for a token never offered, expired or garbled."""
        raw = await self._redis.get(self._names.feedback_answer(token))
        if raw is None:
            return None
        try:
            found = json.loads(raw)
            return RatedAnswer(**found) if isinstance(found, dict) else None
        except (ValueError, TypeError):
            return None

    async def wait_for_comment(
        self, bot_id: str | None, chat_id: int, user: int, token: str
    ) -> None:
        """The user's next message in this chat, within the window, is the 👎's comment."""
        key = self._names.feedback_comment(bot_id, chat_id, user)
        await self._redis.set(key, token, ex=COMMENT_WINDOW_S)

    async def take_comment_wait(self, bot_id: str | None, chat_id: int, user: int) -> str | None:
        """The token whose comment the user's message is (once), or None."""
        raw = await self._redis.getdel(self._names.feedback_comment(bot_id, chat_id, user))
        return raw.decode() if isinstance(raw, bytes) else raw
