"""Conversation threads and their messages (chat completions history, design note 003)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import model_validator
from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    Identity,
    Index,
    UniqueConstraint,
    func,
)
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

from common.infrastructure.clock import utcnow
from common.infrastructure.wire import MessageRole
from rest_service.app.models.base import (
    CreatedMixin,
    JsonList,
    Name,
    SmallCount,
    Text,
    TimestampMixin,
)
from rest_service.app.models.embedding import Vector
from rest_service.app.models.enums import varchar_enum
from rest_service.app.models.profile_fact import ProfileFactPublic
from rest_service.app.models.user import UserPublic


class ThreadSummaryPublic(SQLModel):
    """A thread's running summary: the assistant's own notes on the turns before its recent
    window, up to and including `covers_message_id`."""

    thread_id: str
    conversation_key: str
    content: str
    covers_message_id: int
    created_at: datetime
    updated_at: datetime


MAX_CONTENT = 100_000
#: The conversation key: a user id for a private chat, `chat:<chat_id>` for a group.
ConversationKey = Text
#: One text-search configuration for Russian and English alike: `russian` stems Cyrillic
#: words with the Russian Snowball stemmer and Latin ones with the English stemmer.
SEARCH_CONFIG = "russian"
SEARCH_VECTOR_SQL = "to_tsvector('russian'::regconfig, COALESCE(content, ''::text))"


class ThreadBase(SQLModel):
    user_id: ConversationKey = Field(min_length=1, max_length=255)
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id")


class UserAssistantThread(ThreadBase, TimestampMixin, table=True):
    __tablename__ = "user_assistant_threads"
    __table_args__ = (
        UniqueConstraint("user_id", "assistant_id", name="uq_user_assistant_threads_pair"),
        UniqueConstraint("thread_id", name="uq_user_assistant_threads_thread_id"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    thread_id: str = Field(max_length=64)
    last_used: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )


class ThreadCreate(ThreadBase):
    pass


class ThreadReset(SQLModel):
    user_id: ConversationKey = Field(min_length=1, max_length=255)
    assistant_id: uuid.UUID | None = None


class ThreadPublic(ThreadBase):
    id: uuid.UUID
    thread_id: str
    last_used: datetime
    created_at: datetime
    updated_at: datetime


class MessageBase(SQLModel):
    role: MessageRole = Field(sa_type=varchar_enum(MessageRole, 16))
    #: Who said it, in a group chat (a display name or @username).
    author: Text | None = Field(default=None, max_length=255)
    #: The rest_service user who wrote it, so /forget finds their words in group threads.
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    content: Text | None = Field(default=None, max_length=MAX_CONTENT, sa_type=SAText)
    tool_calls: JsonList | None = Field(default=None, sa_type=JSONB)
    tool_call_id: Text | None = Field(default=None, max_length=255)
    name: Text | None = Field(default=None, max_length=255)
    model: Text | None = Field(default=None, max_length=255)
    tokens_in: SmallCount | None = None
    tokens_out: SmallCount | None = None
    latency_ms: SmallCount | None = None
    #: A stored key is never stored twice (redelivered queue messages).
    dedup_key: Text | None = Field(default=None, max_length=255)
    #: The live experiment's arm that answered (assistant messages only).
    experiment_variant_id: uuid.UUID | None = Field(
        default=None, foreign_key="experiment_variants.id", ondelete="SET NULL"
    )


#: A conversation's key (`common/infrastructure/queue_messages.py conversation_key`): a bots
#: row's bot's is `bot:<bot id>:<user id or chat:<chat id>>`.
CONVERSATION_KEY_MAX = 255


class ChatMessage(MessageBase, CreatedMixin, table=True):
    __tablename__ = "chat_messages"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_chat_messages_dedup_key"),
        Index("ix_chat_messages_thread_recent", "thread_id", "id"),
        Index("ix_chat_messages_conversation", "conversation_key", "id"),
        Index("ix_chat_messages_created_at", "created_at"),
        Index("ix_chat_messages_user_id", "user_id"),
        Index("ix_chat_messages_search", "search_vector", postgresql_using="gin"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    thread_id: str = Field(max_length=64)
    conversation_key: str = Field(max_length=CONVERSATION_KEY_MAX)
    search_vector: Any = Field(
        default=None,
        sa_column=Column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True)),
        exclude=True,
    )


class MessageCreate(MessageBase):
    @model_validator(mode="after")
    def _has_something(self) -> MessageCreate:
        if self.content is None and not self.tool_calls:
            raise ValueError("a message needs `content` or `tool_calls`")
        return self


class MessageBatch(SQLModel):
    messages: list[MessageCreate] = Field(min_length=1, max_length=100)


class MessagePublic(MessageBase):
    id: int
    thread_id: str
    conversation_key: str
    created_at: datetime


class SearchHit(MessagePublic):
    rank: float


class MemoryQuery(SQLModel):
    """Long-term memory wanted with a turn's context: full-text hits older than the window."""

    q: Text = Field(max_length=2000)
    limit: int = Field(default=5, ge=1, le=100)
    match: Literal["any", "all"] = "any"
    #: The question's embedding by `model`: messages near it in meaning are recalled too.
    vector: Vector | None = None
    model: Name | None = Field(default=None, max_length=255)

    @model_validator(mode="after")
    def _vector_with_its_model(self) -> MemoryQuery:
        if (self.vector is None) != (self.model is None):
            raise ValueError("vector and model come together")
        return self


class TurnBackgroundQuery(SQLModel):
    """What the assistant needs before a turn, asked for in one request."""

    user_id: ConversationKey = Field(min_length=1, max_length=255)
    assistant_id: uuid.UUID
    profile_id: uuid.UUID | None = None
    limit: int = Field(default=20, ge=1, le=1000)
    max_chars: int | None = Field(default=None, ge=0, le=10_000_000)
    memory: MemoryQuery | None = None
    #: The profile's facts too (the assistant asks in private chats only).
    facts: bool = False


class TurnBackground(SQLModel):
    thread: ThreadPublic | None
    profile: UserPublic | None
    recent: list[MessagePublic]
    memory: list[SearchHit]
    facts: list[ProfileFactPublic] = []
    #: The thread's running summary of the turns before the window; null: none yet.
    summary: ThreadSummaryPublic | None = None
    #: Of `facts`, those nearest in meaning to the memory query, best first (given its
    #: vector), and those without a vector of its model yet.
    recalled_facts: list[uuid.UUID] = []
    unembedded_facts: list[uuid.UUID] = []
