"""One row per tool call the assistant made: what, for whom, how long, whether it worked."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Identity, Index
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import CreatedMixin, SmallCount, Text


class ToolInvocationBase(SQLModel):
    tool_name: Text = Field(min_length=1, max_length=64)
    tool_id: uuid.UUID | None = Field(default=None, foreign_key="tools.id", ondelete="SET NULL")
    assistant_id: uuid.UUID | None = Field(
        default=None, foreign_key="assistants.id", ondelete="SET NULL"
    )
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    #: The queue message the call belonged to.
    message_id: Text | None = Field(default=None, max_length=64)
    duration_ms: SmallCount = 0
    ok: bool = True
    error: Text | None = Field(default=None, max_length=10_000, sa_type=SAText)


class ToolInvocation(ToolInvocationBase, CreatedMixin, table=True):
    __tablename__ = "tool_invocations"
    __table_args__ = (
        Index("ix_tool_invocations_created_at", "created_at"),
        Index("ix_tool_invocations_user_id", "user_id"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )


class ToolInvocationCreate(ToolInvocationBase):
    pass


class ToolInvocationPublic(ToolInvocationBase):
    id: int
    created_at: datetime
