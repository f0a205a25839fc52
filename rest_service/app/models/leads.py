"""A lead: a customer's conversation with a business that showed interest. One open lead
(new or in progress) per customer and business; the items asked about, where the customer
came from, and what the business's people do with it (status, owner, notes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import Column, Index, text
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import TimestampMixin, _no_nul
from rest_service.app.models.enums import varchar_enum


class LeadStatus(StrEnum):
    new = "new"
    in_progress = "in_progress"
    won = "won"
    lost = "lost"


#: A customer has at most one lead in these at a time with one business.
OPEN_STATUSES = (LeadStatus.new, LeadStatus.in_progress)
OWNER_MAX = 100
NOTES_MAX = 4000
ITEM_NAME_MAX = 200
MAX_ITEMS = 50
CHANNEL_MAX = 32
BOT_MAX = 100
PAYLOAD_MAX = 64
#: `bot:<bot id>:<user id>` is 77 characters: a bots row's conversations need more than 64.
CONVERSATION_KEY_MAX = 128


def _stripped_or_none(value: object) -> object:
    if isinstance(value, str):
        text_ = " ".join(value.split())
        return text_ or None
    return value


Owner = Annotated[
    Annotated[str, PydanticField(max_length=OWNER_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]
Bot = Annotated[
    Annotated[str, PydanticField(max_length=BOT_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]
StartPayload = Annotated[
    Annotated[str, PydanticField(max_length=PAYLOAD_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]
Notes = Annotated[str, PydanticField(max_length=NOTES_MAX), AfterValidator(_no_nul)]
ItemWords = Annotated[
    str,
    BeforeValidator(lambda v: " ".join(v.split()) if isinstance(v, str) else v),
    PydanticField(min_length=1, max_length=ITEM_NAME_MAX),
    AfterValidator(_no_nul),
]


class Lead(TimestampMixin, table=True):
    __tablename__ = "leads"
    __table_args__ = (
        Index(
            "uq_leads_open_per_customer",
            "user_id",
            "assistant_id",
            unique=True,
            postgresql_where=text("status IN ('new', 'in_progress')"),
        ),
        Index("ix_leads_assistant_id_created_at", "assistant_id", "created_at"),
        Index("ix_leads_status_created_at", "status", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contacts.id", ondelete="SET NULL"
    )
    #: The conversation (a user id, or `chat:<chat_id>`): the admin's conversation page.
    conversation_key: str = Field(max_length=CONVERSATION_KEY_MAX)
    #: What was asked about: `{"item_id": <catalogue item or null>, "name": ...}`, first first.
    items: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    #: Where the customer came from: the channel, the bot, a deep link's /start payload.
    channel: str = Field(max_length=CHANNEL_MAX)
    bot: str | None = Field(default=None, max_length=BOT_MAX)
    start_payload: str | None = Field(default=None, max_length=PAYLOAD_MAX)
    status: LeadStatus = Field(default=LeadStatus.new, sa_type=varchar_enum(LeadStatus, 16))
    owner: str | None = Field(default=None, max_length=OWNER_MAX)
    notes: str = Field(default="", sa_type=SAText)


class InterestIn(SQLModel):
    """A conversation showed interest: the open lead of (user, assistant) is made or
    updated with these items and note."""

    user_id: uuid.UUID
    assistant_id: uuid.UUID
    conversation_key: str = Field(min_length=1, max_length=CONVERSATION_KEY_MAX)
    items: list[ItemWords] = Field(default_factory=list, max_length=MAX_ITEMS)
    note: Annotated[str, PydanticField(max_length=1000), AfterValidator(_no_nul)] = ""
    channel: str = Field(default="telegram", min_length=1, max_length=CHANNEL_MAX)
    bot: Bot = None
    start_payload: StartPayload = None


class LeadUpdate(SQLModel):
    status: LeadStatus | None = None
    owner: Owner = None
    notes: Notes | None = None


class LeadPublic(SQLModel):
    id: uuid.UUID
    assistant_id: uuid.UUID
    user_id: uuid.UUID
    contact_id: uuid.UUID | None
    conversation_key: str
    items: list[dict[str, Any]]
    channel: str
    bot: str | None
    start_payload: str | None
    status: LeadStatus
    owner: str | None
    notes: str
    created_at: datetime
    updated_at: datetime
