"""/api/experiments: live experiments of an assistant's prompt or model (admin only). Stop
and promote are config writes: recorded in the change history and reverted from it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only
from rest_service.app.domain import experiments
from rest_service.app.domain.experiment_results import experiment_results
from rest_service.app.models.experiment import (
    ExperimentCreate,
    ExperimentPublic,
    ExperimentResults,
    ExperimentStatus,
    ExperimentUpdate,
    PromoteIn,
)

router = APIRouter(
    prefix="/api/experiments", tags=["experiments"], responses=ERRORS, dependencies=[admin_only]
)


@router.get("/", response_model=list[ExperimentPublic])
async def list_experiments(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    assistant_id: uuid.UUID | None = None,
    status: ExperimentStatus | None = None,
) -> object:
    """Newest first."""
    rows, total = await experiments.list_experiments(ctx, page, assistant_id, status)
    set_total(response, total)
    return rows


@router.post("/", response_model=ExperimentPublic, status_code=201)
async def create_experiment(ctx: UnitOfWorkDep, data: ExperimentCreate) -> object:
    """Starts at once. Shares add up to 100; one variant is the control (no overrides);
    the others set `instructions` and/or `model`. 409 while the assistant runs another."""
    experiment = await experiments.create_experiment(ctx, data)
    return await experiments.public(ctx.session, experiment)


@router.get("/{experiment_id}", response_model=ExperimentPublic)
async def get_experiment(ctx: UnitOfWorkDep, experiment_id: uuid.UUID) -> object:
    return await experiments.public(
        ctx.session, await experiments.get_experiment(ctx, experiment_id)
    )


@router.put("/{experiment_id}", response_model=ExperimentPublic)
async def update_experiment(
    ctx: UnitOfWorkDep, experiment_id: uuid.UUID, data: ExperimentUpdate
) -> object:
    """The name only: the arms stay as they started, so nobody changes arm."""
    experiment = await experiments.update_experiment(ctx, experiment_id, data)
    return await experiments.public(ctx.session, experiment)


@router.delete("/{experiment_id}", status_code=204)
async def delete_experiment(ctx: UnitOfWorkDep, experiment_id: uuid.UUID) -> None:
    """A stopped or promoted one (409 while running)."""
    await experiments.delete_experiment(ctx, experiment_id)


@router.post("/{experiment_id}/stop", response_model=ExperimentPublic)
async def stop_experiment(ctx: UnitOfWorkDep, experiment_id: uuid.UUID) -> object:
    """Everyone gets the assistant as configured; 409 unless running."""
    experiment = await experiments.stop_experiment(ctx, experiment_id)
    return await experiments.public(ctx.session, experiment)


@router.post("/{experiment_id}/promote", response_model=ExperimentPublic)
async def promote_variant(ctx: UnitOfWorkDep, experiment_id: uuid.UUID, data: PromoteIn) -> object:
    """The variant's instructions and model become the assistant's; the experiment ends."""
    experiment = await experiments.promote_variant(ctx, experiment_id, data.variant_id)
    return await experiments.public(ctx.session, experiment)


@router.get("/{experiment_id}/results", response_model=ExperimentResults)
async def get_results(ctx: UnitOfWorkDep, experiment_id: uuid.UUID) -> object:
    """Per variant and in total, over the experiment's window, with 95% intervals."""
    return await experiment_results(ctx, experiment_id)
