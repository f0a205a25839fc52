"""/api/users/{user_id}/tasks: a user's to-do list. Either token (the assistant's `tasks`
tool and tg_bot's /tasks keep it; the admin sees it)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from common.infrastructure.wire import GOOGLE_ID_MAX_CHARS, TaskStatus
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import any_token
from rest_service.app.domain import tasks
from rest_service.app.models.base import AwareDatetime
from rest_service.app.models.task import (
    TaskCreate,
    TaskGoogleLink,
    TaskPublic,
    TaskSyncPublic,
    TaskSyncUpdate,
    TaskUpdate,
)

router = APIRouter(prefix="/api/users", tags=["tasks"], responses=ERRORS, dependencies=[any_token])


@router.get("/{user_id}/tasks", response_model=list[TaskPublic])
async def list_tasks(
    ctx: UnitOfWorkDep,
    user_id: uuid.UUID,
    page: PageDep,
    response: Response,
    status: TaskStatus | None = None,
    due_before: Annotated[
        AwareDatetime | None, Query(description="deadline at or before this time")
    ] = None,
) -> object:
    """By priority (high first), then deadline (none last), then age."""
    rows, total = await tasks.list_tasks(ctx, user_id, page, status=status, due_before=due_before)
    set_total(response, total)
    return rows


@router.post(
    "/{user_id}/tasks",
    response_model=TaskPublic,
    status_code=201,
    responses={200: {"model": TaskPublic, "description": "idempotency_key was stored"}},
)
async def create_task(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, data: TaskCreate, response: Response
) -> object:
    """A stored `idempotency_key` answers 200 with that task; 409 at TASKS_MAX tasks;
    `reminder_job_id` must be a cron job of this user's."""
    task, made = await tasks.create_task(ctx, user_id, data)
    response.status_code = 201 if made else 200
    return task


@router.get("/{user_id}/tasks/{task_id}", response_model=TaskPublic)
async def get_task(ctx: UnitOfWorkDep, user_id: uuid.UUID, task_id: uuid.UUID) -> object:
    return await tasks.get_task(ctx, user_id, task_id)


@router.patch("/{user_id}/tasks/{task_id}", response_model=TaskPublic)
async def update_task(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, task_id: uuid.UUID, data: TaskUpdate
) -> object:
    """Partial. `status` done stamps `completed_at` and cancels the reminder; a new or
    cleared `reminder_job_id` cancels the old one."""
    return await tasks.update_task(ctx, user_id, task_id, data)


@router.delete("/{user_id}/tasks/{task_id}", status_code=204)
async def delete_task(
    ctx: UnitOfWorkDep,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    from_google: Annotated[
        bool, Query(description="deleted in Google Tasks: nothing is left to delete there")
    ] = False,
) -> None:
    """Cancels its reminder; a synced task's Google task is kept to delete there."""
    await tasks.delete_task(ctx, user_id, task_id, from_google=from_google)


@router.put("/{user_id}/tasks/{task_id}/google", response_model=TaskPublic)
async def link_task_to_google(
    ctx: UnitOfWorkDep, user_id: uuid.UUID, task_id: uuid.UUID, link: TaskGoogleLink
) -> object:
    """Google Tasks sync: the task is in step with this Google task's version as of
    `synced_at`; its `updated_at` stays."""
    return await tasks.link_to_google(ctx, user_id, task_id, link)


@router.get("/{user_id}/task-sync", response_model=TaskSyncPublic)
async def get_task_sync(ctx: UnitOfWorkDep, user_id: uuid.UUID) -> object:
    """Whether Google Tasks sync is on, how far Google was read, what is left to delete
    there."""
    return await tasks.get_sync(ctx, user_id)


@router.put("/{user_id}/task-sync", response_model=TaskSyncPublic)
async def set_task_sync(ctx: UnitOfWorkDep, user_id: uuid.UUID, data: TaskSyncUpdate) -> object:
    """Turns Google Tasks sync on or off (off forgets how far Google was read)."""
    return await tasks.set_sync(ctx, user_id, data)


@router.delete("/{user_id}/task-sync/deletions/{google_task_id}", status_code=204)
async def forget_google_deletion(
    ctx: UnitOfWorkDep,
    user_id: uuid.UUID,
    google_task_id: Annotated[str, Path(max_length=GOOGLE_ID_MAX_CHARS)],
) -> None:
    """That Google task is deleted there (or was gone already)."""
    await tasks.forget_deletion(ctx, user_id, google_task_id)
