"""Reminders and scheduled assistant prompts, and the record of each time one fired."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    UniqueConstraint,
    false,
)
from sqlalchemy import Text as SAText
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from common.features.job_partitions import PARTITION_SQL
from common.infrastructure.channels import Channel
from common.infrastructure.wire import CronJobStatus, CronJobType, RunOutcome
from rest_service.app.models.base import (
    BIGINT_MAX,
    AwareDatetime,
    CreatedMixin,
    Name,
    Text,
    TimestampMixin,
)
from rest_service.app.models.enums import varchar_enum

MAX_TEXT = 10_000
#: An urgent reminder's repeats: how often (minutes) and how many at most.
REPEAT_EVERY_MINUTES = (1, 1440)
MAX_REPEATS = (1, 50)
CHAT_ID_MIN = -BIGINT_MAX


class CronJobBase(SQLModel):
    name: Name = Field(max_length=255)
    type: CronJobType = Field(default=CronJobType.reminder, sa_type=varchar_enum(CronJobType, 32))
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True
    )
    chat_id: int = Field(ge=CHAT_ID_MIN, le=BIGINT_MAX, sa_type=BigInteger)
    #: The bots row whose conversation made it, which it fires through (its assistant answers
    #: a prompt); None: the default bot. Deleting the bot deletes its jobs (decision 0048).
    bot_id: uuid.UUID | None = Field(
        default=None, foreign_key="bots.id", ondelete="CASCADE", index=True
    )
    #: The channel it fires in (where it was made), and that channel's conversation id (None
    #: for Telegram, whose is `chat_id`).
    channel: Channel = Field(
        default=Channel.TELEGRAM,
        sa_type=varchar_enum(Channel, 16),
        sa_column_kwargs={"server_default": Channel.TELEGRAM.value},
    )
    channel_chat_id: Text | None = Field(default=None, min_length=1, max_length=255)
    #: What a reminder says.
    text: Text | None = Field(default=None, max_length=MAX_TEXT, sa_type=SAText)
    #: What an assistant_prompt job asks the assistant.
    prompt: Text | None = Field(default=None, max_length=MAX_TEXT, sa_type=SAText)
    #: One-off jobs: when (aware).
    run_at: AwareDatetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: Recurring jobs: 5 fields, standard cron weekdays (0 or 7 = Sunday), in `timezone`.
    cron_expression: Text | None = Field(default=None, max_length=255)
    #: An urgent reminder fires again every `repeat_every_minutes` until Done is pressed,
    #: `max_repeats` times at most.
    urgent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    repeat_every_minutes: int = Field(
        default=5,
        ge=REPEAT_EVERY_MINUTES[0],
        le=REPEAT_EVERY_MINUTES[1],
        sa_column_kwargs={"server_default": sql_text("5")},
    )
    max_repeats: int = Field(
        default=6,
        ge=MAX_REPEATS[0],
        le=MAX_REPEATS[1],
        sa_column_kwargs={"server_default": sql_text("6")},
    )


class CronJob(CronJobBase, TimestampMixin, table=True):
    __tablename__ = "cron_jobs"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_cron_jobs_idempotency_key"),
        Index("ix_cron_jobs_due", "status", "next_run_at"),
        # A replica's listing by partitions (`partitions=`) reads only its rows.
        Index("ix_cron_jobs_partition", sql_text(PARTITION_SQL.format(id="id"))),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    timezone: str = Field(max_length=64)
    #: The zone was assumed (the user had set none): setting one offers to move the job.
    timezone_assumed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    status: CronJobStatus = Field(
        default=CronJobStatus.active, sa_type=varchar_enum(CronJobStatus, 16)
    )
    last_run_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    next_run_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    idempotency_key: str | None = Field(default=None, max_length=255)
    #: The repeats of an urgent reminder's latest fire: the occurrence they repeat, how many
    #: went out (cron_service records them), and the occurrence Done was last pressed for.
    repeating_for: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    repeats_sent: int = Field(default=0, sa_column_kwargs={"server_default": sql_text("0")})
    acknowledged_for: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CronJobCreate(CronJobBase):
    #: IANA name; default: the user's timezone, else DEFAULT_TIMEZONE.
    timezone: Text | None = Field(default=None, max_length=64)
    #: Default: the user has no zone and the job takes DEFAULT_TIMEZONE.
    timezone_assumed: bool | None = None
    status: CronJobStatus = CronJobStatus.active
    idempotency_key: Text | None = Field(default=None, max_length=255)


class CronJobUpdate(SQLModel):
    name: Text | None = Field(default=None, min_length=1, max_length=255)
    type: CronJobType | None = None
    chat_id: int | None = Field(default=None, ge=CHAT_ID_MIN, le=BIGINT_MAX)
    text: Text | None = Field(default=None, max_length=MAX_TEXT)
    prompt: Text | None = Field(default=None, max_length=MAX_TEXT)
    run_at: AwareDatetime | None = None
    cron_expression: Text | None = Field(default=None, max_length=255)
    timezone: Text | None = Field(default=None, max_length=64)
    #: Default on a change of `timezone`: False (the zone is now a chosen one).
    timezone_assumed: bool | None = None
    status: CronJobStatus | None = None
    last_run_at: AwareDatetime | None = None
    next_run_at: AwareDatetime | None = None
    urgent: bool | None = None
    repeat_every_minutes: int | None = Field(
        default=None, ge=REPEAT_EVERY_MINUTES[0], le=REPEAT_EVERY_MINUTES[1]
    )
    max_repeats: int | None = Field(default=None, ge=MAX_REPEATS[0], le=MAX_REPEATS[1])
    #: cron_service's record of an urgent fire's repeats.
    repeating_for: AwareDatetime | None = None
    repeats_sent: int | None = Field(default=None, ge=0, le=MAX_REPEATS[1])


class CronJobDone(SQLModel):
    """Done pressed under a fired reminder: `occurrence` is the fire's scheduled time (the
    button carries it), None from a button older than urgent reminders."""

    occurrence: AwareDatetime | None = None


class CronJobPublic(CronJobBase):
    id: uuid.UUID
    timezone: str
    timezone_assumed: bool
    status: CronJobStatus
    last_run_at: datetime | None
    next_run_at: datetime | None
    idempotency_key: str | None
    repeating_for: datetime | None
    repeats_sent: int
    acknowledged_for: datetime | None
    created_at: datetime
    updated_at: datetime


class CronJobRunBase(SQLModel):
    scheduled_for: AwareDatetime = Field(sa_type=DateTime(timezone=True))
    delivered_at: AwareDatetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    outcome: RunOutcome = Field(sa_type=varchar_enum(RunOutcome, 16))
    error: Text | None = Field(default=None, max_length=MAX_TEXT, sa_type=SAText)
    #: The OutgoingMessage id the fire produced.
    message_id: Text | None = Field(default=None, max_length=64)
    #: An urgent reminder's repeat (1, 2, ...) of the fire at `scheduled_for - n * interval`;
    #: 0: a fire of its own.
    repeat: int = Field(
        default=0, ge=0, le=MAX_REPEATS[1], sa_column_kwargs={"server_default": sql_text("0")}
    )


class CronJobRun(CronJobRunBase, CreatedMixin, table=True):
    __tablename__ = "cron_job_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "scheduled_for", name="uq_cron_job_runs_job_scheduled"),
        Index("ix_cron_job_runs_scheduled_for", "scheduled_for"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    job_id: uuid.UUID = Field(foreign_key="cron_jobs.id", ondelete="CASCADE")


class CronJobRunCreate(CronJobRunBase):
    pass


class CronJobRunPublic(CronJobRunBase):
    id: int
    job_id: uuid.UUID
    created_at: datetime


class CronJobAcknowledgement(CreatedMixin, table=True):
    """Done pressed under a fire of an urgent reminder (once per fire): for the analytics,
    how many repeats it took."""

    __tablename__ = "cron_job_acknowledgements"
    __table_args__ = (
        UniqueConstraint("job_id", "occurrence", name="uq_cron_job_acknowledgements_fire"),
        Index("ix_cron_job_acknowledgements_created_at", "created_at"),
    )
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    job_id: uuid.UUID = Field(foreign_key="cron_jobs.id", ondelete="CASCADE")
    occurrence: datetime = Field(sa_type=DateTime(timezone=True))
    repeats: int
