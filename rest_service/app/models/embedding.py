"""Recall by meaning: one vector per stored message and embedding model, kept with its
conversation's key so a turn ranks only its own (and deleted with its message)."""

from __future__ import annotations

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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

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
