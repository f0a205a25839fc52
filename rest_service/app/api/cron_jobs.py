"""/api/cron-jobs and /api/cron-job-runs: reminders, scheduled prompts, and their runs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from common.features.job_partitions import JOB_PARTITIONS
from common.infrastructure.wire import CronJobStatus, CronJobType, RunOutcome
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import any_token
from rest_service.app.domain import cron_jobs
from rest_service.app.models.base import AwareDatetime
from rest_service.app.models.cron import (
    CronJobCreate,
    CronJobDone,
    CronJobPublic,
    CronJobRunCreate,
    CronJobRunPublic,
    CronJobUpdate,
)

router = APIRouter(tags=["cron jobs"], responses=ERRORS, dependencies=[any_token])


@router.get("/api/cron-jobs/", response_model=list[CronJobPublic])
async def list_jobs(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    user_id: uuid.UUID | None = None,
    chat_id: Annotated[int | None, Query(description="set in this chat")] = None,
    status: CronJobStatus | None = None,
    type: CronJobType | None = None,
    due_before: Annotated[
        AwareDatetime | None, Query(description="next_run_at at or before this time")
    ] = None,
    partitions: Annotated[
        str | None,
        Query(
            description=f"only jobs of these partitions of the id space: numbers from 0 to"
            f" {JOB_PARTITIONS - 1}, comma-separated (a cron_service replica's share)",
            examples=["0,5,17"],
        ),
    ] = None,
) -> object:
    """Soonest first."""
    rows, total = await cron_jobs.list_jobs(
        ctx,
        page,
        user_id=user_id,
        chat_id=chat_id,
        status=status,
        type=type,
        due_before=due_before,
        partitions=partitions,
    )
    set_total(response, total)
    return rows


@router.post(
    "/api/cron-jobs/",
    response_model=CronJobPublic,
    status_code=201,
    responses={200: {"model": CronJobPublic, "description": "idempotency_key was stored"}},
)
async def create_job(ctx: UnitOfWorkDep, data: CronJobCreate, response: Response) -> object:
    """Exactly one of `run_at` (aware, not in the past) and `cron_expression` (5 fields,
    or `DTSTART:... RRULE:...` for what a cron line cannot hold);
    `text` for a reminder, `prompt` for an assistant_prompt; `timezone` defaults to the
    user's. A stored `idempotency_key` answers 200 with that job."""
    job, made = await cron_jobs.create_job(ctx, data)
    response.status_code = 201 if made else 200
    return job


@router.get("/api/cron-jobs/{job_id}", response_model=CronJobPublic)
async def get_job(ctx: UnitOfWorkDep, job_id: uuid.UUID) -> object:
    return await cron_jobs.get_job(ctx, job_id)


@router.put("/api/cron-jobs/{job_id}", response_model=CronJobPublic)
async def update_job(ctx: UnitOfWorkDep, job_id: uuid.UUID, data: CronJobUpdate) -> object:
    """Partial. `next_run_at` is recomputed when the schedule, status or `last_run_at`
    changes, unless given."""
    return await cron_jobs.update_job(ctx, job_id, data)


@router.post("/api/cron-jobs/{job_id}/done", response_model=CronJobPublic)
async def mark_done(ctx: UnitOfWorkDep, job_id: uuid.UUID, data: CronJobDone) -> object:
    """Done pressed under a fire: `occurrence` (the fire's scheduled time) acknowledges an
    urgent reminder's fire, which stops its repeats; a one-off ends. Idempotent."""
    return await cron_jobs.mark_done(ctx, job_id, data)


@router.delete("/api/cron-jobs/{job_id}", status_code=204)
async def delete_job(ctx: UnitOfWorkDep, job_id: uuid.UUID) -> None:
    """With its runs."""
    await cron_jobs.delete_job(ctx, job_id)


@router.get("/api/cron-jobs/{job_id}/runs", response_model=list[CronJobRunPublic])
async def list_job_runs(
    ctx: UnitOfWorkDep, job_id: uuid.UUID, page: PageDep, response: Response
) -> object:
    await cron_jobs.get_job(ctx, job_id)
    rows, total = await cron_jobs.list_runs(ctx, page, job_id=job_id, outcome=None, since=None)
    set_total(response, total)
    return rows


@router.post(
    "/api/cron-jobs/{job_id}/runs",
    response_model=CronJobRunPublic,
    status_code=201,
    responses={200: {"model": CronJobRunPublic, "description": "this run was recorded"}},
)
async def append_run(
    ctx: UnitOfWorkDep, job_id: uuid.UUID, data: CronJobRunCreate, response: Response
) -> object:
    """One per `(job_id, scheduled_for)`: a repeat answers 200 with the stored run."""
    run, made = await cron_jobs.append_run(ctx, job_id, data)
    response.status_code = 201 if made else 200
    return run


@router.get("/api/cron-job-runs/", response_model=list[CronJobRunPublic])
async def list_runs(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    outcome: RunOutcome | None = None,
    since: Annotated[AwareDatetime | None, Query(description="scheduled at or after")] = None,
    job_id: uuid.UUID | None = None,
) -> object:
    """Newest first."""
    rows, total = await cron_jobs.list_runs(ctx, page, job_id=job_id, outcome=outcome, since=since)
    set_total(response, total)
    return rows
