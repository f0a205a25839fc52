"""Feedback: a customer's 👍 / 👎 on one answer of an assistant, with an optional comment
after a 👎; one per answer and user (pressing again changes it). It keeps what made the
answer (the model, a hash of the instructions), so satisfaction can be read by assistant,
model, prompt and day."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, SmallInteger
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import Text, TimestampMixin, _no_nul
from rest_service.app.models.thread import CONVERSATION_KEY_MAX

COMMENT_MAX = 2000
MODEL_MAX = 255
MESSAGE_KEY_MAX = 255
#: The instructions' hash: hex, as the assistant writes it (`prompt_hash`).
PROMPT_HASH_PATTERN = r"^[0-9a-f]{8,64}$"

Rating = Literal[1, -1]


def _stripped_or_none(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


PromptHash = Annotated[str, StringConstraints(pattern=PROMPT_HASH_PATTERN)]
Comment = Annotated[
    Annotated[str, PydanticField(max_length=COMMENT_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]


class Feedback(TimestampMixin, table=True):
    __tablename__ = "feedback"
    __table_args__ = (
        Index("uq_feedback_message_user", "message_key", "user_id", unique=True),
        Index("ix_feedback_assistant_id_created_at", "assistant_id", "created_at"),
        Index("ix_feedback_created_at", "created_at"),
        CheckConstraint("rating IN (1, -1)", name="rating_up_or_down"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    #: The conversation (a user id, or `chat:<chat_id>`): the admin's conversation page.
    conversation_key: str = Field(max_length=CONVERSATION_KEY_MAX)
    #: The rated answer's `dedup_key` in the history (`<incoming message id>:answer`): stays
    #: when retention deletes the message itself.
    message_key: str = Field(max_length=MESSAGE_KEY_MAX)
    #: The rated answer in `chat_messages` (None once retention removed it).
    chat_message_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("chat_messages.id", ondelete="SET NULL"), nullable=True
        ),
    )
    #: +1 (👍) or -1 (👎).
    rating: int = Field(sa_column=Column(SmallInteger, nullable=False))
    comment: str | None = Field(default=None, sa_type=SAText)
    #: The model that made the answer (the stored answer's own, when it has one).
    model: str | None = Field(default=None, max_length=MODEL_MAX)
    #: A hash of the assistant's instructions the answer was made with.
    prompt_hash: str | None = Field(default=None, max_length=64)
    bot_id: uuid.UUID | None = Field(default=None, foreign_key="bots.id", ondelete="SET NULL")


class FeedbackIn(SQLModel):
    """A user's rating of an answer (what tg_bot sends when a 👍 / 👎 is pressed, and again
    with `comment` when the user writes why). Left out, `comment` keeps what was said; a 👍
    drops a 👎's comment."""

    message_key: Text = Field(min_length=1, max_length=MESSAGE_KEY_MAX)
    user_id: uuid.UUID
    assistant_id: uuid.UUID
    rating: Rating
    comment: Comment = None
    model: Text | None = Field(default=None, max_length=MODEL_MAX)
    prompt_hash: PromptHash | None = None
    bot_id: uuid.UUID | None = None


class FeedbackPublic(SQLModel):
    id: uuid.UUID
    assistant_id: uuid.UUID
    user_id: uuid.UUID
    conversation_key: str
    message_key: str
    chat_message_id: int | None
    rating: int
    comment: str | None
    model: str | None
    prompt_hash: str | None
    bot_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class Satisfaction(SQLModel):
    """One group's figures: `satisfaction` is the share of 👍 among rated answers (None:
    nothing rated)."""

    key: str
    label: str
    rated: int
    up: int
    down: int
    satisfaction: float | None


class Dislike(SQLModel):
    """A 👎 with what the admin needs to read the conversation behind it."""

    id: uuid.UUID
    assistant_id: uuid.UUID
    conversation_key: str
    chat_message_id: int | None
    #: The rated answer's thread (None once retention removed the answer).
    thread_id: str | None
    model: str | None
    comment: str | None
    created_at: datetime


class FeedbackAnalytics(SQLModel):
    """`GET /api/analytics/feedback`: each grouping's counts add up to `total`'s."""

    total: Satisfaction
    by_assistant: list[Satisfaction]
    by_model: list[Satisfaction]
    by_day: list[Satisfaction]
    dislikes: list[Dislike]
