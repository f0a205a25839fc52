"""Tasks: a user's to-do list (title, notes, deadline, priority, open or done), kept by the
assistant's `tasks` tool and tg_bot's /tasks. A deadline may carry a reminder: a cron job of
the user's, cancelled when the task is completed or deleted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, Index, UniqueConstraint, func
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from common.infrastructure.clock import utcnow
from common.infrastructure.wire import (
    GOOGLE_ID_MAX_CHARS,
    TASK_NOTES_MAX_CHARS,
    TASK_TITLE_MAX_CHARS,
    TaskPriority,
    TaskStatus,
)
from rest_service.app.models.base import (
    AwareDatetime,
    CreatedMixin,
    Text,
    TimestampMixin,
    _no_nul,
    one_line,
)
from rest_service.app.models.enums import varchar_enum

Title = Annotated[
    str,
    BeforeValidator(one_line),
    PydanticField(min_length=1, max_length=TASK_TITLE_MAX_CHARS),
    AfterValidator(_no_nul),
]
Notes = Annotated[str, PydanticField(max_length=TASK_NOTES_MAX_CHARS), AfterValidator(_no_nul)]


class Task(TimestampMixin, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_tasks_idempotency_key"),
        Index("ix_tasks_user_id_status", "user_id", "status"),
        Index("ix_tasks_user_id_google_task_id", "user_id", "google_task_id", unique=True),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    title: str = Field(max_length=TASK_TITLE_MAX_CHARS)
    notes: str | None = Field(default=None, sa_type=SAText)
    deadline: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    priority: TaskPriority = Field(
        default=TaskPriority.normal, sa_type=varchar_enum(TaskPriority, 16)
    )
    status: TaskStatus = Field(default=TaskStatus.open, sa_type=varchar_enum(TaskStatus, 16))
    #: The deadline's reminder; a job deleted on its own leaves the task without one.
    reminder_job_id: uuid.UUID | None = Field(
        default=None, foreign_key="cron_jobs.id", ondelete="SET NULL"
    )
    completed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: A redelivered message's second `add` finds the task the first one made.
    idempotency_key: str | None = Field(default=None, max_length=255)
    #: The Google task it mirrors while Google Tasks sync is (or was) on.
    google_task_id: str | None = Field(default=None, max_length=GOOGLE_ID_MAX_CHARS)
    #: Google's `updated` of the version last in step: another one was changed there.
    google_updated: str | None = Field(default=None, max_length=64)
    #: `updated_at` when last in step with Google: a later one was changed here.
    google_synced_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class GoogleTaskSync(CreatedMixin, table=True):
    """A user's Google Tasks sync: on or off, and Google's `updated` read up to."""

    __tablename__ = "google_task_sync"
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    enabled: bool = False
    updated_min: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "onupdate": utcnow, "nullable": False},
    )


class GoogleTaskDeletion(CreatedMixin, table=True):
    """A synced task deleted here whose Google task is still to delete there."""

    __tablename__ = "google_task_deletions"
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    google_task_id: str = Field(max_length=GOOGLE_ID_MAX_CHARS, primary_key=True)


class TaskCreate(SQLModel):
    title: Title
    notes: Notes | None = None
    deadline: AwareDatetime | None = None
    priority: TaskPriority = TaskPriority.normal
    reminder_job_id: uuid.UUID | None = None
    idempotency_key: Text | None = Field(default=None, min_length=1, max_length=255)


class TaskUpdate(SQLModel):
    """Partial: what is sent changes; `null` clears notes, deadline or reminder."""

    title: Title | None = None
    notes: Notes | None = None
    deadline: AwareDatetime | None = None
    priority: TaskPriority | None = None
    status: TaskStatus | None = None
    reminder_job_id: uuid.UUID | None = None


class TaskPublic(SQLModel):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    notes: str | None
    deadline: datetime | None
    priority: TaskPriority
    status: TaskStatus
    reminder_job_id: uuid.UUID | None
    completed_at: datetime | None
    idempotency_key: str | None
    google_task_id: str | None
    google_updated: str | None
    google_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


GoogleId = Annotated[
    str, PydanticField(min_length=1, max_length=GOOGLE_ID_MAX_CHARS), AfterValidator(_no_nul)
]
GoogleStamp = Annotated[str, PydanticField(min_length=1, max_length=64), AfterValidator(_no_nul)]


class TaskGoogleLink(SQLModel):
    """`PUT .../tasks/{task_id}/google`: the task is in step with this Google task's version
    as of `synced_at` (the task's `updated_at` the sync saw); `updated_at` is left alone."""

    google_task_id: GoogleId
    google_updated: GoogleStamp
    synced_at: AwareDatetime


class TaskSyncUpdate(SQLModel):
    """`PUT /api/users/{user_id}/task-sync`: what is sent changes."""

    enabled: bool | None = None
    updated_min: GoogleStamp | None = None


class TaskSyncPublic(SQLModel):
    enabled: bool
    updated_min: str | None
    #: Google tasks whose local task was deleted, still to delete there.
    deletions: list[str]
