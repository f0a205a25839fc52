"""Handed off: while a conversation is with the operators (decision 0052; rest_service keeps
`Names.handoff_open` for it), the assistant does not ask the model: the customer's message
goes to the operator chat instead, as the bot that has the conversation, and the message is
marked answered, so a redelivery forwards it once (the forward's id is derived too)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from assistant.src.turn.outbox import AnswerOutbox
from common.features.texts import TEXTS
from common.infrastructure.logging import get_logger
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import (
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
    Source,
    answer_message_id,
)
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.text import escape_markdown

log = get_logger(__name__)


@dataclass(frozen=True)
class OpenHandoff:
    """What the marker says: the handoff, its operator chat and the bot writing there."""

    id: uuid.UUID
    operator_chat_id: int
    bot_id: uuid.UUID | None

    @classmethod
    def parse(cls, raw: bytes | str) -> OpenHandoff | None:
        try:
            found = json.loads(raw)
            bot = found.get("bot_id")
            return cls(
                uuid.UUID(found["id"]),
                int(found["operator_chat_id"]),
                uuid.UUID(bot) if bot else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


class HandedOff:
    def __init__(self, redis: aioredis.Redis, names: Names, outbox: AnswerOutbox) -> None:
        self.redis = redis
        self.names = names
        self.outbox = outbox
        self.publisher = StreamPublisher(redis, names)

    async def forwarded(self, message: IncomingMessage) -> bool:
        """True when the conversation is with the operators: `message` went to them."""
        if message.source == Source.CRON:
            return False  # a reminder of the customer's own still fires
        raw = await self.redis.get(self.names.handoff_open(message.conversation_key))
        handoff = OpenHandoff.parse(raw) if raw is not None else None
        if handoff is None:
            return False
        await self.publisher.publish(TO_TELEGRAM, forward(message, handoff))
        await self.outbox.mark(message)
        # no answer of the bot's will say this message is answered: "typing…" stops now
        typing = self.names.telegram_typing(message.chat_id, message.bot_id)
        await self.redis.zrem(typing, str(message.message_id))
        log.info("handed_off_message_forwarded", handoff_id=str(handoff.id))
        return True


def forward(message: IncomingMessage, handoff: OpenHandoff) -> OutgoingMessage:
    """The customer's words in the operator chat, with who said them."""
    language = message.language_code
    said = message.text.strip() or TEXTS.text(language, "handoff.customer_file")
    customer = message.first_name or (f"@{message.username}" if message.username else "customer")
    return OutgoingMessage(
        message_id=answer_message_id(message.message_id),
        chat_id=handoff.operator_chat_id,
        text=TEXTS.text(
            language,
            "handoff.customer_said",
            customer=escape_markdown(customer),
            text=escape_markdown(said),
        ),
        kind=OutgoingKind.NOTIFICATION,
        correlation_id=str(message.message_id),
        bot_id=handoff.bot_id,
        handoff_id=handoff.id,
    )
