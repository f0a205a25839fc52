"""Recall by meaning: one vector per stored message and embedding model, kept with its
conversation's key so a turn ranks only its own (and deleted with its message); and one per
profile fact and model, kept with its user (deleted with its fact)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field as PydanticField
from sqlalchemy import (
    REAL,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Identity,
    Index,
    UniqueConstraint,
)
from sqlalchemy import Text as SAText
from sqlalchemy import Uuid as SAUuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from common.infrastructure.wire import PROFILE_FACTS_MAX
from rest_service.app.models.base import CreatedMixin, Name, Text

#: Larger than any embedding model's (3072 for OpenAI's large one).
MAX_DIMS = 4096


#: The largest magnitude a `real` (float4) holds, and its smallest normal one.
FLOAT4_MAX = 3.4028234663852886e38
FLOAT4_TINY = 1.1754943508222875e-38


def _finite(vector: list[float]) -> list[float]:
    """Stored as `real`: a number it cannot hold is refused here, not by Postgres; a vector
    that is zero as float4 points nowhere (its cosine is undefined)."""
    if not all(abs(v) <= FLOAT4_MAX for v in vector):  # NaN fails this too
        raise ValueError("a vector holds finite numbers a float4 can hold")
    if all(abs(v) < FLOAT4_TINY for v in vector):
        raise ValueError("a zero vector points nowhere")
    return vector


Vector = Annotated[
    list[float],
    PydanticField(min_length=1, max_length=MAX_DIMS),
    AfterValidator(_finite),
]


class MessageEmbedding(CreatedMixin, table=True):
    __tablename__ = "message_embeddings"
    __table_args__ = (
        CheckConstraint("cardinality(vector) = dims", name="dims"),
        UniqueConstraint("message_id", "model", name="uq_message_embeddings_message_model"),
        Index("ix_message_embeddings_conversation", "conversation_key", "model", "message_id"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    message_id: int = Field(
        sa_column=Column(
            BigInteger, ForeignKey("chat_messages.id", ondelete="CASCADE"), nullable=False
        )
    )
    conversation_key: str = Field(sa_type=SAText)
    model: str = Field(max_length=255)
    dims: int
    vector: list[float] = Field(sa_column=Column(ARRAY(REAL), nullable=False))


class EmbeddingIn(SQLModel):
    """One stored message's vector, named by the key it was stored with."""

    dedup_key: Text = Field(min_length=1, max_length=255)
    vector: Vector


class EmbeddingBatch(SQLModel):
    """`PUT /api/threads/{thread_id}/embeddings`: vectors of one model for stored messages."""

    model: Name = Field(max_length=255)
    items: list[EmbeddingIn] = Field(min_length=1, max_length=100)


class FactEmbedding(CreatedMixin, table=True):
    """A profile fact's vector by one embedding model, kept with its user so a turn ranks
    only the speaker's facts (deleted with its fact; dropped when the fact's text changes)."""

    __tablename__ = "fact_embeddings"
    __table_args__ = (
        CheckConstraint("cardinality(vector) = dims", name="dims"),
        UniqueConstraint("fact_id", "model", name="uq_fact_embeddings_fact_model"),
        Index("ix_fact_embeddings_user", "user_id", "model"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    fact_id: uuid.UUID = Field(
        sa_column=Column(SAUuid, ForeignKey("profile_facts.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: uuid.UUID = Field(sa_type=SAUuid)
    model: str = Field(max_length=255)
    dims: int
    vector: list[float] = Field(sa_column=Column(ARRAY(REAL), nullable=False))


class FactEmbeddingIn(SQLModel):
    """One profile fact's vector."""

    fact_id: uuid.UUID
    vector: Vector


class FactEmbeddingBatch(SQLModel):
    """`PUT /api/users/{user_id}/facts/embeddings`: vectors of one model for the user's
    facts."""

    model: Name = Field(max_length=255)
    items: list[FactEmbeddingIn] = Field(min_length=1, max_length=PROFILE_FACTS_MAX)
