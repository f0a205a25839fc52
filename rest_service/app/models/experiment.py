"""Live experiments: an assistant answers each person with one of its variants (another
prompt or model), chosen from a hash of (experiment, person) into the variants' shares. The
control variant is the assistant as configured; `experiment_assignments` records who was in
which arm the first time they were answered, for the analytics."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, PrimaryKeyConstraint, UniqueConstraint, text
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from common.features.experiments import SHARE_TOTAL
from common.infrastructure.clock import utcnow
from rest_service.app.models.assistant import MAX_INSTRUCTIONS
from rest_service.app.models.base import CreatedMixin, Name, Text, TimestampMixin
from rest_service.app.models.enums import varchar_enum

MAX_VARIANTS = 10


class ExperimentStatus(StrEnum):
    running = "running"
    stopped = "stopped"
    promoted = "promoted"


class Experiment(TimestampMixin, table=True):
    __tablename__ = "experiments"
    __table_args__ = (
        Index(
            "uq_experiments_one_running",
            "assistant_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=255)
    status: ExperimentStatus = Field(
        default=ExperimentStatus.running, sa_type=varchar_enum(ExperimentStatus, 16)
    )
    started_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: The promoted variant (its prompt and model were written into the assistant).
    winner_variant_id: uuid.UUID | None = None


class ExperimentVariant(SQLModel, table=True):
    __tablename__ = "experiment_variants"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name", name="uq_experiment_variants_name"),
        UniqueConstraint("experiment_id", "position", name="uq_experiment_variants_position"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    experiment_id: uuid.UUID = Field(foreign_key="experiments.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    #: Its place in the experiment: the hash walks the shares in this order.
    position: int
    #: Percent of the people (all of an experiment's shares add up to 100).
    share: int
    #: The assistant as configured: no overrides.
    is_control: bool = False
    instructions: str | None = Field(default=None, sa_type=SAText)
    model: str | None = Field(default=None, max_length=255)


class ExperimentAssignment(CreatedMixin, table=True):
    """A person's arm, written with their first answer in the experiment."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (PrimaryKeyConstraint("experiment_id", "user_id"),)
    experiment_id: uuid.UUID = Field(foreign_key="experiments.id", ondelete="CASCADE")
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    variant_id: uuid.UUID = Field(
        foreign_key="experiment_variants.id", ondelete="CASCADE", index=True
    )


class VariantCreate(SQLModel):
    name: Name = Field(max_length=100)
    share: int = Field(ge=1, le=SHARE_TOTAL)
    is_control: bool = False
    #: Replaces the assistant's instructions for this arm.
    instructions: Text | None = Field(default=None, min_length=1, max_length=MAX_INSTRUCTIONS)
    #: Replaces the assistant's model for this arm (a name from /api/llm-models/).
    model: Text | None = Field(default=None, min_length=1, max_length=255)


class ExperimentCreate(SQLModel):
    assistant_id: uuid.UUID
    name: Name = Field(max_length=255)
    variants: list[VariantCreate] = Field(min_length=2, max_length=MAX_VARIANTS)


class ExperimentUpdate(SQLModel):
    name: Name | None = Field(default=None, max_length=255)


class PromoteIn(SQLModel):
    variant_id: uuid.UUID


class VariantPublic(SQLModel):
    id: uuid.UUID
    name: str
    position: int
    share: int
    is_control: bool
    instructions: str | None
    model: str | None


class ExperimentPublic(SQLModel):
    id: uuid.UUID
    assistant_id: uuid.UUID
    name: str
    status: ExperimentStatus
    started_at: datetime
    ended_at: datetime | None
    winner_variant_id: uuid.UUID | None
    variants: list[VariantPublic]
    created_at: datetime
    updated_at: datetime


class Estimate(SQLModel):
    """A figure with its 95% interval and the sample it comes from (`low`/`high` null when
    the sample is too small to say)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


class Figures(SQLModel):
    """An arm's figures (or all arms' together) over the experiment's window."""

    #: People assigned to the arm (answered at least once in it).
    people: int
    #: Conversations answered in the arm (a private chat, or a group: a group whose members
    #: are in two arms counts in each).
    conversations: int
    #: Model completions in the arm (a turn with tool calls makes several).
    completions: int
    #: Leads made in the arm's conversations during the window.
    leads: int
    #: Leads per conversation (the mean of each conversation's leads, normal interval).
    leads_per_conversation: Estimate
    #: Share of conversations with at least one lead (Wilson interval).
    converted: Estimate
    tokens_in: int
    tokens_out: int
    #: Tokens (in + out) per completion.
    tokens_per_completion: Estimate
    #: Money at the models' prices (`input_price`, `output_price` per million tokens);
    #: completions of a model without both prices are left out of it.
    cost: float
    cost_per_completion: Estimate
    latency_ms: Estimate
    p95_latency_ms: float | None
    #: 👍 among the answers the arm's people rated (Wilson interval).
    thumbs_up: Estimate


class VariantResults(Figures):
    variant_id: uuid.UUID
    name: str
    is_control: bool
    share: int


class ExperimentResults(SQLModel):
    experiment: ExperimentPublic
    #: The window the figures cover: the experiment's start to its end (or now).
    since: datetime
    until: datetime
    variants: list[VariantResults]
    #: All arms together: the counts and sums are the variants' sums; the estimates pool
    #: the arms' samples.
    totals: Figures
