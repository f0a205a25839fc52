"""A thread's running summary: the assistant's own notes on the turns that fell out of the
recent window, so nothing said earlier is simply cut."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import Text, TimestampMixin
from rest_service.app.models.thread import (
    CONVERSATION_KEY_MAX,
    MessagePublic,
    ThreadSummaryPublic,
)

#: The longest summary stored; the assistant asks its model for far less.
SUMMARY_MAX_CHARS = 20_000
_ID_MAX = 2**63 - 1


class ThreadSummary(TimestampMixin, table=True):
    __tablename__ = "thread_summaries"
    thread_id: str = Field(primary_key=True, max_length=64)
    #: Whose conversation it is, so /forget finds it after the thread row is gone.
    conversation_key: str = Field(max_length=CONVERSATION_KEY_MAX, index=True)
    content: str = Field(sa_type=SAText)
    #: The newest message it covers: the next summary folds in only what came after.
    covers_message_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class SummaryWrite(SQLModel):
    """`PUT /api/threads/{thread_id}/summary`: stored only if the summary it replaces is the
    one it was made from (`previous_covers_message_id`, null for the first): two writers
    never overwrite each other's newer work."""

    content: Text = Field(min_length=1, max_length=SUMMARY_MAX_CHARS)
    covers_message_id: int = Field(ge=1, le=_ID_MAX)
    previous_covers_message_id: int | None = Field(default=None, ge=1, le=_ID_MAX)


class SummaryBacklog(SQLModel):
    """The stored summary and the messages after it, older than the recent window."""

    summary: ThreadSummaryPublic | None
    messages: list[MessagePublic]
