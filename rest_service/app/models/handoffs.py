"""A handoff: a conversation handed to the operators (a person), from the customer asking or
the assistant giving up, until an operator hands it back to the bot or no one answers in
time. One open handoff (waiting or active) per conversation (decision 0052)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, Column, DateTime, Index, text
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import BIGINT_MAX, TimestampMixin, _no_nul
from rest_service.app.models.enums import varchar_enum
from rest_service.app.models.thread import CONVERSATION_KEY_MAX


class HandoffStatus(StrEnum):
    #: Sent to the operators, no one answered yet: the bot is silent, the wait runs.
    waiting = "waiting"
    #: An operator answered: the bot stays silent until it is handed back.
    active = "active"
    returned = "returned"
    #: No one answered within the bot's minutes: the customer was told, a lead recorded.
    expired = "expired"


OPEN_STATUSES = (HandoffStatus.waiting, HandoffStatus.active)
SUMMARY_MAX = 1000
REPLY_MAX = 4000
AUTHOR_MAX = 100
REPLY_KEY_MAX = 100
STREAM_MAX = 200


def _squeezed(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


ChatId = Annotated[int, PydanticField(ge=-BIGINT_MAX, le=BIGINT_MAX)]
Summary = Annotated[
    str,
    BeforeValidator(_squeezed),
    PydanticField(max_length=SUMMARY_MAX),
    AfterValidator(_no_nul),
]
ReplyText = Annotated[
    str, PydanticField(min_length=1, max_length=REPLY_MAX), AfterValidator(_no_nul)
]
Author = Annotated[
    str, BeforeValidator(_squeezed), PydanticField(max_length=AUTHOR_MAX), AfterValidator(_no_nul)
]

ReplyKey = Annotated[
    str, PydanticField(min_length=1, max_length=REPLY_KEY_MAX, pattern=r"^[A-Za-z0-9:._-]+$")
]


class Handoff(TimestampMixin, table=True):
    __tablename__ = "handoffs"
    __table_args__ = (
        Index(
            "uq_handoffs_open_per_conversation",
            "conversation_key",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'active')"),
        ),
        Index("ix_handoffs_status_expires_at", "status", "expires_at"),
        Index("ix_handoffs_requested_at", "requested_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: The bots row the customer talks to; None: the default bot.
    bot_id: uuid.UUID | None = Field(default=None, foreign_key="bots.id", ondelete="SET NULL")
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    #: The conversation (`<user id>`, `chat:<id>`, `bot:<bot id>:…`): the admin's page of it.
    conversation_key: str = Field(max_length=CONVERSATION_KEY_MAX)
    #: Where the customer is: the channel's chat id, the channel, the stream its answers take.
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    channel: str = Field(max_length=32)
    #: The conversation's id in a channel other than Telegram (its answers need it).
    channel_chat_id: str | None = Field(default=None, max_length=255)
    reply_stream: str = Field(max_length=STREAM_MAX)
    language: str | None = Field(default=None, max_length=16)
    #: The Telegram group the operators read (the bot's, or OPERATOR_CHAT_ID's).
    operator_chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: HandoffStatus = Field(
        default=HandoffStatus.waiting, sa_type=varchar_enum(HandoffStatus, 16)
    )
    summary: str = Field(default="", sa_type=SAText)
    requested_at: datetime = Field(sa_type=DateTime(timezone=True))
    #: When a handoff still waiting expires (requested_at + the bot's minutes).
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    answered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    returned_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: Who handed it back (an operator's name, `admin:<username>`), for the page.
    returned_by: str | None = Field(default=None, max_length=AUTHOR_MAX)
    #: The Telegram message in the operator chat that announced it (its button hands back).
    operator_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))


class HandoffCreate(SQLModel):
    """A conversation goes to the operators. The operator chat comes from the bot (or
    OPERATOR_CHAT_ID for the default bot), never from the caller."""

    user_id: uuid.UUID
    assistant_id: uuid.UUID
    bot_id: uuid.UUID | None = None
    conversation_key: str = Field(min_length=1, max_length=CONVERSATION_KEY_MAX)
    chat_id: ChatId
    channel: str = Field(default="telegram", min_length=1, max_length=32)
    channel_chat_id: str | None = Field(default=None, min_length=1, max_length=255)
    reply_stream: str = Field(default="queue:to_telegram", min_length=1, max_length=STREAM_MAX)
    language: str | None = Field(default=None, max_length=16)
    summary: Summary = ""


class HandoffReplyIn(SQLModel):
    """An operator's words for the customer; `key` names the reply (a retry sends it once)."""

    text: ReplyText
    author: Author | None = None
    key: ReplyKey | None = None


class HandoffReturnIn(SQLModel):
    by: Author | None = None


class HandoffPublic(SQLModel):
    id: uuid.UUID
    bot_id: uuid.UUID | None
    assistant_id: uuid.UUID
    user_id: uuid.UUID
    conversation_key: str
    chat_id: int
    channel: str
    channel_chat_id: str | None = None
    language: str | None
    operator_chat_id: int
    status: HandoffStatus
    summary: str
    requested_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    returned_at: datetime | None
    returned_by: str | None
    created_at: datetime
    updated_at: datetime
