"""Take in: a message's first reads in one round trip, the check that it was not answered
already, its free text made readable, and the assistant it names settled (the secretary's own
name is the secretary, in its usual conversation). A dead letter is taken in here too: enough
of it to apologise, and the files it names."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from assistant.src.clients.llm import TurnRecord
from assistant.src.live_config.watcher import ConfigWatcher
from assistant.src.turn.outbox import AnswerOutbox, turn_record_key
from common.features.blobs import BlobStore
from common.infrastructure.logging import get_logger
from common.infrastructure.queue import DeadLetter
from common.infrastructure.queue_messages import ID_NAMESPACE, IncomingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.text import clean_text, clean_tree
from common.infrastructure.wire import ConfigSnapshot

log = get_logger(__name__)

#: Blob keys taken from an unreadable payload at most (an album has ten).
_MAX_SALVAGED_BLOBS = 20


@dataclass(frozen=True)
class Taken:
    """A message to answer, as its turn begins."""

    message: IncomingMessage
    #: The live config's stored version, read with the answered mark.
    config_version: int
    #: The completions an earlier try of this turn finished, replayed instead of asked again.
    record: TurnRecord
    #: The blob keys of its files, deleted once it is answered.
    files: list[str]


class Intake:
    def __init__(
        self,
        redis: aioredis.Redis,
        names: Names,
        outbox: AnswerOutbox,
        blobs: BlobStore,
        config: ConfigWatcher,
    ) -> None:
        self.redis = redis
        self.names = names
        self.outbox = outbox
        self.blobs = blobs
        self.config = config

    async def take(self, message: IncomingMessage) -> Taken | None:
        """The turn to run; None when the message was answered already (its files go)."""
        reads = await self.outbox.first_reads(message, self.config.version_key)
        if reads.answered:
            log.info("message_already_answered")
            await self.blobs.delete(*blob_keys(message))
            return None
        record = TurnRecord(self.redis, turn_record_key(self.names, message), reads.recorded)
        version = self.config.parse_version(reads.value)
        message = await self._addressed(readable(message), version)
        return Taken(message, version, record, blob_keys(message))

    async def _addressed(self, message: IncomingMessage, version: int) -> IncomingMessage:
        """Only a message naming an assistant needs the config here."""
        if message.assistant is None:
            return message
        return addressed(message, await self.config.current_snapshot(version))


def addressed(message: IncomingMessage, snapshot: ConfigSnapshot) -> IncomingMessage:
    """`message` with the secretary's own name taken off: a person's conversation with the
    secretary is one, whichever channel names it."""
    secretary = snapshot.secretary
    if secretary is None or message.assistant != secretary.name:
        return message
    return message.model_copy(update={"assistant": None})


def blob_keys(message: IncomingMessage) -> list[str]:
    return [a.blob_key for a in message.attachments]


def readable(message: IncomingMessage) -> IncomingMessage:
    """The message with NUL and lone surrogates replaced in its free text, which rest_service
    (Postgres) and JSON encoders refuse."""
    fields = {"text": message.text, "first_name": message.first_name, "username": message.username}
    cleaned = {k: clean_text(v) for k, v in fields.items() if v is not None}
    if all(cleaned[k] == fields[k] for k in cleaned):
        return message
    return message.model_copy(update=cleaned)


def salvage_for_apology(data: str) -> IncomingMessage | None:
    """Enough of a payload that did not parse to apologise to its chat: the chat id, and what
    else is readable (the reply stream, the language, the message id)."""
    try:
        raw = clean_tree(json.loads(data))
        if not isinstance(raw, dict) or isinstance(raw.get("chat_id"), bool):
            return None
        chat_id = int(raw["chat_id"])
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        return None
    fields: dict[str, object] = {"chat_id": chat_id, "text": "", "user_id": uuid.UUID(int=0)}
    fields["message_id"] = uuid.uuid5(ID_NAMESPACE, f"salvaged:{data}")
    salvaged = ("message_id", "reply_stream", "language_code", "telegram_message_id")
    # The channel's address before the channel, which needs it.
    for name in (*salvaged, "channel_chat_id", "channel_thread_id", "channel"):
        value = raw.get(name)
        candidate = {**fields, name: value}
        try:
            IncomingMessage.model_validate(candidate)
        except ValueError:
            continue
        fields[name] = value
    if str(fields.get("reply_stream", TO_TELEGRAM)).startswith(("queue:to_secretary", "done:")):
        fields["reply_stream"] = TO_TELEGRAM
    return IncomingMessage.model_validate(fields)


def dead_blobs(dead: DeadLetter[IncomingMessage]) -> list[str]:
    """A dead entry's blob keys: its message's, or those in a payload that did not parse
    (the store deletes only its own keys, whatever a payload names)."""
    if dead.message is not None:
        return blob_keys(dead.message)
    try:
        raw = json.loads(dead.data)
    except (ValueError, RecursionError):
        return []
    files = raw.get("attachments") if isinstance(raw, dict) else None
    if not isinstance(files, list):
        return []
    keys = (f.get("blob_key") for f in files if isinstance(f, dict))
    return [key for key in keys if isinstance(key, str)][:_MAX_SALVAGED_BLOBS]
