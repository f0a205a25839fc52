"""Live experiments: made with their variants, stopped, or promoted (the variant's prompt and
model written into the assistant). Each is a config write: the snapshot carries the running
ones, the version bumps and the change history records the experiment (and, on a promote,
the assistant), so either is reverted from the history like any config change."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from common.infrastructure.errors import ConflictError, FieldError, invalid
from rest_service.app.domain import assistants, live_config
from rest_service.app.domain.common import apply_update, get_or_404, paged
from rest_service.app.domain.llm_models import require_model
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import AssistantUpdate
from rest_service.app.models.experiment import (
    Experiment,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentStatus,
    ExperimentUpdate,
    ExperimentVariant,
    VariantCreate,
    VariantPublic,
)
from rest_service.app.models.history import RowState

KIND = "experiment"
SHARES_TOTAL = 100

#: A person's arm, written with their first answer in it (the answer's row names the arm).
_ASSIGN_SQL = (
    "INSERT INTO experiment_assignments (experiment_id, user_id, variant_id, created_at) "
    "SELECT v.experiment_id, a.user_id, v.id, now() "
    "FROM unnest($1::uuid[], $2::uuid[]) AS a(variant_id, user_id) "
    "JOIN experiment_variants v ON v.id = a.variant_id JOIN users u ON u.id = a.user_id "
    "ON CONFLICT DO NOTHING"
)


async def list_experiments(
    ctx: UnitOfWork,
    page: Page,
    assistant_id: uuid.UUID | None,
    status: ExperimentStatus | None,
) -> tuple[list[ExperimentPublic], int]:
    stmt = select(Experiment).order_by(col(Experiment.started_at).desc(), col(Experiment.id))
    if assistant_id is not None:
        stmt = stmt.where(col(Experiment.assistant_id) == assistant_id)
    if status is not None:
        stmt = stmt.where(col(Experiment.status) == status)
    rows, total = await paged(ctx.session, stmt, page)
    return [await public(ctx.session, row) for row in rows], total


async def get_experiment(ctx: UnitOfWork, experiment_id: uuid.UUID) -> Experiment:
    return await get_or_404(ctx.session, Experiment, experiment_id, KIND)


async def variants_of(session: AsyncSession, experiment_id: uuid.UUID) -> list[ExperimentVariant]:
    rows = await session.scalars(
        select(ExperimentVariant)
        .where(col(ExperimentVariant.experiment_id) == experiment_id)
        .order_by(col(ExperimentVariant.position))
    )
    return list(rows.all())


async def public(session: AsyncSession, experiment: Experiment) -> ExperimentPublic:
    variants = [VariantPublic.model_validate(v) for v in await variants_of(session, experiment.id)]
    return ExperimentPublic.model_validate({**experiment.model_dump(), "variants": variants})


async def create_experiment(ctx: UnitOfWork, data: ExperimentCreate) -> Experiment:
    """Starts at once; 409 while the assistant runs another."""
    await assistants.get_assistant(ctx, data.assistant_id)
    await _check_variants(ctx, data.variants)
    await _none_running(ctx, data.assistant_id)
    experiment = Experiment(
        assistant_id=data.assistant_id, name=data.name, started_at=await _database_now(ctx)
    )
    ctx.session.add(experiment)
    for position, variant in enumerate(data.variants):
        ctx.session.add(
            ExperimentVariant(
                experiment_id=experiment.id, position=position, **variant.model_dump()
            )
        )
    await live_config.config_changed(ctx)
    return experiment


async def update_experiment(
    ctx: UnitOfWork, experiment_id: uuid.UUID, data: ExperimentUpdate
) -> Experiment:
    """Only the name: changing arms would move people between them mid-experiment."""
    experiment = await get_experiment(ctx, experiment_id)
    if data.name is not None:
        experiment.name = data.name
    await live_config.config_changed(ctx)
    return experiment


async def delete_experiment(ctx: UnitOfWork, experiment_id: uuid.UUID) -> None:
    """A finished experiment and its figures' arms (answers keep their rows, armless)."""
    experiment = await get_experiment(ctx, experiment_id)
    if experiment.status is ExperimentStatus.running:
        raise ConflictError(f"experiment {experiment_id} is running: stop it first")
    await ctx.session.delete(experiment)
    await live_config.config_changed(ctx)


async def stop_experiment(ctx: UnitOfWork, experiment_id: uuid.UUID) -> Experiment:
    """Everyone gets the assistant as configured again; the figures stay."""
    experiment = await _running(ctx, experiment_id)
    await _finish(ctx, experiment, ExperimentStatus.stopped, None)
    await live_config.config_changed(ctx)
    return experiment


async def promote_variant(
    ctx: UnitOfWork, experiment_id: uuid.UUID, variant_id: uuid.UUID
) -> Experiment:
    """The variant's prompt and model become the assistant's, and the experiment ends."""
    experiment = await _running(ctx, experiment_id)
    variant = await ctx.session.get(ExperimentVariant, variant_id)
    if variant is None or variant.experiment_id != experiment.id:
        raise invalid("variant_id", f"experiment {experiment_id} has no variant {variant_id}")
    overrides = {"instructions": variant.instructions, "model": variant.model}
    changes = AssistantUpdate.model_validate({k: v for k, v in overrides.items() if v is not None})
    await assistants.update_assistant(ctx, experiment.assistant_id, changes)
    await _finish(ctx, experiment, ExperimentStatus.promoted, variant.id)
    await live_config.config_changed(ctx)
    return experiment


async def restore(ctx: UnitOfWork, key: uuid.UUID, state: RowState, exists: bool) -> None:
    """A history revert: the experiment's status, end, winner and name as recorded (a
    running one again only while its assistant runs no other). Variants are not in the
    history, so a deleted experiment cannot come back."""
    if not exists:
        raise ConflictError(f"experiment {key} was deleted with its variants; make a new one")
    experiment = await get_experiment(ctx, key)
    recorded = Experiment.model_validate({**experiment.model_dump(), **state})
    if (
        recorded.status is ExperimentStatus.running
        and experiment.status is not ExperimentStatus.running
    ):
        await _none_running(ctx, experiment.assistant_id)
    apply_update(
        experiment,
        {
            "name": recorded.name,
            "status": recorded.status,
            "ended_at": recorded.ended_at,
            "winner_variant_id": recorded.winner_variant_id,
        },
    )
    await live_config.config_changed(ctx)


async def record_assignments(conn: AsyncConnection, stored: Sequence[dict[str, Any]]) -> None:
    """Each person's arm, the first time an answer in it is stored (later ones change
    nothing: the hash gives them the same arm while the experiment stays as it is)."""
    pairs = {
        (row["experiment_variant_id"], row["user_id"])
        for row in stored
        if row["experiment_variant_id"] is not None and row["user_id"] is not None
    }
    if pairs:
        variants, users = zip(*sorted(pairs, key=str), strict=True)
        await conn.exec_driver_sql(_ASSIGN_SQL, (list(variants), list(users)))


async def _check_variants(ctx: UnitOfWork, variants: list[VariantCreate]) -> None:
    """Shares add up to 100, one control (the assistant as it is), names unique, and every
    other arm changes something, with a model that exists and chats."""
    total = sum(v.share for v in variants)
    if total != SHARES_TOTAL:
        raise invalid("variants", f"the shares add up to {total}, not {SHARES_TOTAL}")
    controls = [i for i, v in enumerate(variants) if v.is_control]
    if len(controls) != 1:
        raise invalid("variants", f"exactly one variant is the control, not {len(controls)}")
    names = [v.name.casefold() for v in variants]
    for i, variant in enumerate(variants):
        where = f"variants.{i}"
        if names.index(names[i]) != i:
            raise invalid(f"{where}.name", f"two variants are named {variant.name!r}")
        overrides = variant.instructions is not None or variant.model is not None
        if variant.is_control and overrides:
            raise invalid(where, "the control is the assistant as configured: no overrides")
        if not variant.is_control and not overrides:
            raise invalid(where, "a variant sets `instructions`, `model` or both")
        await require_model(ctx, variant.model, f"{where}.model")


async def _none_running(ctx: UnitOfWork, assistant_id: uuid.UUID) -> None:
    running = await ctx.session.scalar(
        select(col(Experiment.id)).where(
            col(Experiment.assistant_id) == assistant_id,
            col(Experiment.status) == ExperimentStatus.running,
        )
    )
    if running is not None:
        reason = f"assistant {assistant_id} already runs experiment {running}"
        raise ConflictError(reason, [FieldError("assistant_id", reason)])


async def _running(ctx: UnitOfWork, experiment_id: uuid.UUID) -> Experiment:
    experiment = await get_experiment(ctx, experiment_id)
    if experiment.status is not ExperimentStatus.running:
        raise ConflictError(f"experiment {experiment_id} is {experiment.status.value}, not running")
    return experiment


async def _finish(
    ctx: UnitOfWork, experiment: Experiment, status: ExperimentStatus, winner: uuid.UUID | None
) -> None:
    experiment.status = status
    experiment.ended_at = await _database_now(ctx)
    experiment.winner_variant_id = winner


async def _database_now(ctx: UnitOfWork) -> datetime:
    """The window's ends on the database's clock, the one leads are stamped by (`now()`:
    the transaction's start), so a lead made in the experiment's first moments counts."""
    moment = await ctx.session.scalar(select(func.now()))
    assert isinstance(moment, datetime)
    return moment
