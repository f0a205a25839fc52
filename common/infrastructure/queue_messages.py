"""The queue message models (docs/contract.md "Message models") and their derived ids."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, Self, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from common.infrastructure import tracing
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.redis_keys import TO_TELEGRAM

#: The longest `traceparent` kept (version 00's is 55 characters; a later version may add).
TRACEPARENT_MAX = 256
#: Namespace of every derived id, so redeliveries map to the same UUID on every machine.
ID_NAMESPACE = uuid.UUID("5b0c7f4e-6f43-4d57-9d0e-3a1c2b7e9a10")


def incoming_message_id(bot_id: int | str, update_id: int) -> uuid.UUID:
    """The id of the message queued for a Telegram update."""
    return uuid.uuid5(ID_NAMESPACE, f"telegram-update:{bot_id}:{update_id}")


def channel_message_uuid(channel: Channel, account: str, channel_message_id: str) -> uuid.UUID:
    """The id of the message queued for a message of another channel: its platform's own
    message id (a WhatsApp `wamid`, a Slack event id, an e-mail `Message-ID`) under the
    account that received it, so a redelivered webhook or a mail read twice is one message."""
    return uuid.uuid5(ID_NAMESPACE, f"channel:{channel.value}:{account}:{channel_message_id}")


def answer_message_id(incoming_id: uuid.UUID | str) -> uuid.UUID:
    """The id of the answer to an incoming message (the nth part when split)."""
    return uuid.uuid5(ID_NAMESPACE, f"answer:{incoming_id}")


def fire_message_id(job_id: uuid.UUID | int | str, scheduled_for: datetime) -> uuid.UUID:
    """The id of one fire of a scheduled job: same job, same scheduled instant, same id."""
    if scheduled_for.tzinfo is None:
        raise ValueError("scheduled_for must be timezone-aware")
    instant = scheduled_for.astimezone(UTC).isoformat(timespec="seconds")
    return uuid.uuid5(ID_NAMESPACE, f"fire:{job_id}:{instant}")


def confirmed_message_id(incoming_id: uuid.UUID | str) -> uuid.UUID:
    """The id of the message a Yes under a held tool call sends to the assistant (the tap's
    own id names the edit of the question)."""
    return uuid.uuid5(ID_NAMESPACE, f"confirmed:{incoming_id}")


def handoff_message_id(handoff_id: uuid.UUID | str, what: str) -> uuid.UUID:
    """The id of a message a handoff sends (`requested`, `expired`, `returned`, `reply:<key>`),
    so a retried request or sweep sends it once."""
    return uuid.uuid5(ID_NAMESPACE, f"handoff:{handoff_id}:{what}")


def pressed_message_id(incoming_id: uuid.UUID | str) -> uuid.UUID:
    """The id of the message a button sends to the assistant in the user's words (a catalogue
    item's Show; the tap's own id names the edit of the message the button was under)."""
    return uuid.uuid5(ID_NAMESPACE, f"pressed:{incoming_id}")


class Source(StrEnum):
    """Who wrote a message: a person (in the channel named), `./manage.py chat`, or a
    scheduled prompt."""

    TELEGRAM = "telegram"
    CLI = "cli"
    CRON = "cron"
    WHATSAPP = "whatsapp"
    SLACK = "slack"
    EMAIL = "email"
    WEB = "web"
    API = "api"


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"


class OutgoingKind(StrEnum):
    REPLY = "reply"
    NOTIFICATION = "notification"
    ERROR = "error"


class AttachmentKind(StrEnum):
    VOICE = "voice"
    AUDIO = "audio"
    PHOTO = "photo"
    DOCUMENT = "document"


class Attachment(BaseModel):
    """A file the user sent with a message. The bytes are not in the queue entry: tg_bot keeps
    them in the blob store (`common/features/blobs.py`) under `blob_key` for as long as the turn
    needs."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: AttachmentKind
    #: Where tg_bot put the bytes (`Names.blob`).
    blob_key: str
    mime_type: str | None = None
    #: The name the sender's file had, if any.
    file_name: str | None = None
    #: Bytes, as Telegram reports them.
    size: int | None = None
    #: Seconds of a voice message or audio, as Telegram reports it.
    duration: int | None = None


class Button(BaseModel):
    """One inline-keyboard button: `data` comes back in a callback query (at most 64 bytes, see
    `common/features/buttons.py`), or `url` opens a link. The label is already in the user's
    language."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: The label.
    text: str = Field(min_length=1, max_length=64)
    #: What a tap sends back (`common/features/buttons.py` packs and reads it).
    data: str | None = Field(default=None, max_length=64)
    #: A link the button opens instead.
    url: str | None = None


class Usage(BaseModel):
    """The tokens of the model calls an answer was made of, as the providers reported them (a
    provider that reports none counts 0), in OpenAI's names: `total_tokens` is their sum."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class QueueMessage(BaseModel):
    """What every message on a stream has."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    #: The model's version.
    v: Literal[1] = 1
    #: Derived, never random, where a redelivery could repeat it (the functions above).
    message_id: uuid.UUID
    #: The Telegram chat (negative for a group); for another channel, the number
    #: `channel_chat_number` makes of its conversation id.
    chat_id: int
    #: The channel the conversation is in: the answer goes back there.
    channel: Channel = Channel.TELEGRAM
    #: The channel's own conversation id (a WhatsApp number, a Slack channel, an e-mail
    #: address, a web chat session); None for Telegram, whose is `chat_id`.
    channel_chat_id: str | None = Field(default=None, min_length=1, max_length=255)
    #: The channel's thread the conversation continues in (a Slack thread's `ts`, the first
    #: e-mail's `Message-ID`), if it has threads.
    channel_thread_id: str | None = Field(default=None, max_length=998)
    #: The W3C trace context of the span that queued it (decision 0069), so its consumer's
    #: span joins the same trace; None when tracing is off (and in entries from before).
    traceparent: str | None = None

    @field_validator("traceparent", mode="before")
    @classmethod
    def _context_or_none(cls, value: object) -> object:
        """A context that cannot be one is dropped, never a reason to refuse the message."""
        return value if isinstance(value, str) and len(value) <= TRACEPARENT_MAX else None

    @model_validator(mode="after")
    def _addressed(self) -> QueueMessage:
        if self.channel != Channel.TELEGRAM and self.channel_chat_id is None:
            raise ValueError(f"a {self.channel.value} message needs its channel_chat_id")
        return self

    def traced(self) -> Self:
        """This message with the current span's context (itself outside a trace, or when it
        carries one already)."""
        if self.traceparent is not None or (found := tracing.traceparent()) is None:
            return self
        return self.model_copy(update={"traceparent": found})

    def to_json(self) -> str:
        """The queue entry's `data`: written inside a trace, it carries the trace's context."""
        return self.traced().model_dump_json()


class IncomingMessage(QueueMessage):
    """A message for the assistant (stream `queue:to_secretary`)."""

    #: Who wrote it: a person (in Telegram or the channel named), `./manage.py chat`, or a
    #: scheduled prompt.
    source: Source = Source.TELEGRAM
    #: The stream the answer goes to (unprefixed).
    reply_stream: str = TO_TELEGRAM
    chat_type: ChatType = ChatType.PRIVATE
    #: The sender's rest_service user id.
    user_id: uuid.UUID
    telegram_user_id: int | None = None
    username: str | None = None
    first_name: str | None = None
    #: The sender's Telegram language, a hint where the text says too little.
    language_code: str | None = None
    #: What the user wrote (a caption for a file), as sent.
    text: str
    #: The Telegram message the answer replies to.
    telegram_message_id: int | None = None
    sent_at: AwareDatetime = Field(default_factory=utcnow)
    #: A forum topic's id: the answer goes to the same topic.
    message_thread_id: int | None = None
    #: The user edited this message (text is the new version): answer it again and say so.
    edited: bool = False
    attachments: list[Attachment] = []
    #: The bots row (rest_service) whose bot received it, whose assistant answers it and
    #: which sends the answer; None: the default bot (`TELEGRAM_TOKEN`) and the secretary.
    bot_id: uuid.UUID | None = None
    #: The sender's id in the channel (a WhatsApp number, a Slack `team:user`, an e-mail
    #: address, a web visitor); None for Telegram, whose is `telegram_user_id`.
    channel_user_id: str | None = Field(default=None, max_length=255)
    #: The channel's id of this message (the answer replies to it: a Slack `ts`, an e-mail
    #: `Message-ID`, a WhatsApp `wamid`).
    channel_message_id: str | None = Field(default=None, max_length=998)
    #: The user tapped Yes under a held tool call (`common/features/confirmations.py`): the token of
    #: the call to run; `text` is empty.
    confirmed: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    #: The assistant (by name) that answers instead of the bot's or the secretary: set only by
    #: a trusted producer that checked its sender may talk to it (the public API's client).
    #: The secretary's own name is the secretary, in its usual conversation.
    assistant: str | None = Field(default=None, min_length=1, max_length=255)
    #: When the message reached us (tg_bot routing its update, channels its webhook or mail);
    #: its answer carries it on, so delivering the answer times the whole path. None from a
    #: producer that does not stamp it (cron, `./manage.py chat`, an entry queued before).
    received_at: AwareDatetime | None = None

    @property
    def is_group(self) -> bool:
        return self.chat_type != ChatType.PRIVATE

    @property
    def conversation_key(self) -> str:
        """Private chats are the user's own conversation; a group has its own; each bot's
        conversations, and each named assistant's, are apart from the secretary's."""
        return conversation_key(
            self.chat_id,
            self.user_id,
            group=self.is_group,
            bot_id=self.bot_id,
            assistant=self.assistant,
        )


def conversation_key(
    chat_id: int,
    user_id: object,
    *,
    group: bool,
    bot_id: uuid.UUID | None,
    assistant: str | None = None,
) -> str:
    """A group's conversation is the group's, a private one the user's; a bots row's bot
    (decision 0048) keeps its own apart: `bot:<bot id>:<key>`, and so does an assistant a
    message names: `assistant:<name>:<key>` (a name over ASSISTANT_IN_KEY_MAX characters
    stands there as `sha256-<digest>`, so every key fits the 255 a thread key may have)."""
    key = f"chat:{chat_id}" if group else str(user_id)
    if assistant is not None:
        key = f"assistant:{_assistant_in_key(assistant)}:{key}"
    return key if bot_id is None else f"bot:{bot_id}:{key}"


#: The longest assistant name a conversation key carries as it is.
ASSISTANT_IN_KEY_MAX = 100


def _assistant_in_key(name: str) -> str:
    if len(name) <= ASSISTANT_IN_KEY_MAX:
        return name
    return "sha256-" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class OutgoingMessage(QueueMessage):
    """A message for a chat (stream `queue:to_telegram` or an incoming `reply_stream`)."""

    #: Markdown as the model writes it; tg_bot renders it and splits it by Telegram's limit.
    text: str
    #: An answer, a notification (a reminder, an alert) or an apology.
    kind: OutgoingKind = OutgoingKind.REPLY
    #: The message or job this answers, for the logs.
    correlation_id: str | None = None
    reply_to_telegram_message_id: int | None = None
    created_at: AwareDatetime = Field(default_factory=utcnow)
    #: Rows of inline-keyboard buttons, shown under the (last part of the) message.
    buttons: list[list[Button]] = []
    #: The label of Telegram's "Share my phone number" keyboard, in the user's language: shown
    #: when the contact tool asked for the customer's number (a private chat only, and only
    #: without inline buttons: a message carries one keyboard).
    request_phone: str | None = None
    #: A forum topic's id: sent into that topic.
    message_thread_id: int | None = None
    #: Edit this already-sent Telegram message (text and buttons) instead of sending a new one.
    edit_telegram_message_id: int | None = None
    #: The bot that sends it (the bots row); None: the default bot (`TELEGRAM_TOKEN`).
    bot_id: uuid.UUID | None = None
    #: A blob (`common/features/blobs.py`) with speech audio to send as a voice message with the
    #: text.
    voice_blob_key: str | None = None
    #: A blob with a picture (PNG) the assistant drew to send as a photo with the text as its
    #: caption (`draw` tool).
    photo_blob_key: str | None = None
    #: The channel's message this answers (a Slack `ts`, an e-mail `Message-ID`, a WhatsApp
    #: `wamid`): the channel shows the answer as a reply to it where it can.
    reply_to_channel_message_id: str | None = Field(default=None, max_length=998)
    #: A message for an operator chat about this handoff: tg_bot remembers the Telegram
    #: message it became (`Names.handoff_relay`), so an operator's reply to it is relayed.
    handoff_id: uuid.UUID | None = None
    #: The tokens of the model calls of the turn this answers (every tool round and the
    #: sub-assistants it asked included); zeros when its assistant answered without a model
    #: (the daily budget spent, an answer found already stored); None when no assistant ran
    #: (a refused file, a Yes to a held call, nobody to answer, a failed turn's apology, a
    #: notification).
    usage: Usage | None = None
    #: The `received_at` of the message this answers: tg_bot or channels time the answer's
    #: delivery from it (`smart_assistant_answer_seconds`); None: not an answer to time.
    received_at: AwareDatetime | None = None
    #: Seconds the turn waited on the model (chat completions, retries and fallbacks
    #: included; calls at the same time counted once; 0 when none was asked), left out of
    #: the answer time `smart_assistant_answer_without_model_seconds` observes; None: not
    #: known (an apology for a dead letter, a producer that does not time it).
    model_seconds: float | None = Field(default=None, ge=0)


class AnswerAddress(TypedDict):
    """An answer's channel fields (`OutgoingMessage`)."""

    channel: Channel
    channel_chat_id: str | None
    channel_thread_id: str | None
    reply_to_channel_message_id: str | None


def answer_address(message: IncomingMessage) -> AnswerAddress:
    """The channel fields of an answer to `message`: the same channel, conversation and
    thread, replying to the message itself."""
    return {
        "channel": message.channel,
        "channel_chat_id": message.channel_chat_id,
        "channel_thread_id": message.channel_thread_id,
        "reply_to_channel_message_id": message.channel_message_id,
    }


class DraftMessage(QueueMessage):
    """The answer so far, while the assistant is still writing it (stream `queue:drafts`).

    Best effort and ephemeral: tg_bot shows the newest one (a draft in private chats, throttled
    edits elsewhere) and drops stale ones; the final `OutgoingMessage` with the same
    `message_id` (the answer's id) replaces it and is what is stored and formatted as always.
    """

    chat_type: ChatType = ChatType.PRIVATE
    correlation_id: str | None = None
    #: The whole text so far (Markdown as the model writes it), not a delta.
    text: str = ""
    #: A short status line while a tool runs ("checking your calendar…"), else None.
    status: str | None = None
    #: Grows with every draft of one answer, so an older one arriving late is dropped.
    seq: int = 0
    message_thread_id: int | None = None
    reply_to_telegram_message_id: int | None = None
    created_at: AwareDatetime = Field(default_factory=utcnow)
    #: The bot that shows it (the bots row); None: the default bot.
    bot_id: uuid.UUID | None = None


class BotChanged(BaseModel):
    """What rest_service says on `bots:updated` once a bot row's change is committed: read
    the bot again (`updated`, which also covers a new one) or stop it (`deleted`)."""

    model_config = ConfigDict(frozen=True)

    bot_id: uuid.UUID
    change: Literal["updated", "deleted"]


class UserChanged(BaseModel):
    """What rest_service says on `user:updated` once a change to a user is committed: the
    user's settings changed (`updated`) or they were forgotten (`deleted`)."""

    model_config = ConfigDict(frozen=True)

    user_id: uuid.UUID
    #: None for a user without a Telegram identity (decision 0054).
    telegram_id: int | None = None
    change: Literal["updated", "deleted"]
