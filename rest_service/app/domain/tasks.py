"""A user's tasks: listed by priority (high first), then deadline (none last); added once per
idempotency key, at most TASKS_MAX per user; completed, reopened, changed and deleted. A task's
reminder is a cron job of the same user's: completing or deleting the task, or giving it another
reminder, cancels the one it had (cron_service hears of it like any job's change)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import FieldError, conflict, invalid, not_found
from common.infrastructure.wire import (
    PRIORITY_RANK,
    TASKS_MAX,
    CronJobStatus,
    TaskStatus,
)
from rest_service.app.domain import cron_jobs
from rest_service.app.domain.common import apply_update, count, get_or_404, non_null, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.cron import CronJob, CronJobUpdate
from rest_service.app.models.task import (
    GoogleTaskDeletion,
    GoogleTaskSync,
    Task,
    TaskCreate,
    TaskGoogleLink,
    TaskSyncPublic,
    TaskSyncUpdate,
    TaskUpdate,
)
from rest_service.app.models.user import User

KIND = "task"
#: A reminder in one of these states still has something to cancel.
_PENDING = (CronJobStatus.active, CronJobStatus.paused)
_BY_PRIORITY = case(
    {priority.value: rank for priority, rank in PRIORITY_RANK.items()},
    value=col(Task.priority),
)


async def list_tasks(
    ctx: UnitOfWork,
    user_id: uuid.UUID,
    page: Page,
    *,
    status: TaskStatus | None = None,
    due_before: datetime | None = None,
) -> tuple[list[Task], int]:
    await get_or_404(ctx.session, User, user_id, "user")
    stmt = (
        select(Task)
        .where(col(Task.user_id) == user_id)
        .order_by(
            _BY_PRIORITY,
            col(Task.deadline).asc().nulls_last(),
            col(Task.created_at),
            col(Task.id),
        )
    )
    if status is not None:
        stmt = stmt.where(col(Task.status) == status)
    if due_before is not None:
        stmt = stmt.where(col(Task.deadline) <= due_before)
    return await paged(ctx.session, stmt, page)


async def create_task(ctx: UnitOfWork, user_id: uuid.UUID, data: TaskCreate) -> tuple[Task, bool]:
    """`True` when made now; a stored `idempotency_key` of this user's returns that task.
    The user's row is locked so two adds at once cannot pass the cap together."""
    user = await ctx.session.scalar(
        select(User).where(col(User.id) == user_id).with_for_update(key_share=True)
    )
    if user is None:
        raise not_found("user", user_id)
    if data.idempotency_key is not None:
        existing = await ctx.session.scalar(
            select(Task).where(col(Task.idempotency_key) == data.idempotency_key)
        )
        if existing is not None and existing.user_id == user_id:
            return existing, False
        if existing is not None:
            raise invalid("idempotency_key", "belongs to another user's task")
    if await count(ctx.session, col(Task.user_id) == user_id) >= TASKS_MAX:
        reason = f"the user has {TASKS_MAX} tasks, the most kept: delete some first"
        raise conflict(reason, [FieldError("title", reason)])
    if data.reminder_job_id is not None:
        await _own_job(ctx, user_id, data.reminder_job_id)
    task = Task.model_validate({**data.model_dump(), "user_id": user_id})
    ctx.session.add(task)
    await ctx.session.flush()
    return task, True


async def get_task(ctx: UnitOfWork, user_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    task = await ctx.session.get(Task, task_id)
    if task is None or task.user_id != user_id:
        raise not_found(KIND, task_id)
    return task


async def update_task(
    ctx: UnitOfWork, user_id: uuid.UUID, task_id: uuid.UUID, data: TaskUpdate
) -> Task:
    task = await get_task(ctx, user_id, task_id)
    changes = non_null(Task, data.model_dump(exclude_unset=True))
    old_reminder = task.reminder_job_id
    new_reminder = changes.get("reminder_job_id", old_reminder)
    if new_reminder is not None and new_reminder != old_reminder:
        await _own_job(ctx, user_id, new_reminder)
    status = changes.get("status")
    if status is not None and status != task.status:
        changes["completed_at"] = utcnow() if status == TaskStatus.done else None
    done = changes.get("status", task.status) == TaskStatus.done
    if old_reminder is not None and (new_reminder != old_reminder or done):
        await cancel_reminder(ctx, old_reminder)
    apply_update(task, changes)
    await ctx.session.flush()
    return task


async def delete_task(
    ctx: UnitOfWork, user_id: uuid.UUID, task_id: uuid.UUID, *, from_google: bool = False
) -> None:
    """A synced task's Google task is kept to delete there, unless the deletion came from
    Google."""
    task = await get_task(ctx, user_id, task_id)
    if task.reminder_job_id is not None:
        await cancel_reminder(ctx, task.reminder_job_id)
    if task.google_task_id is not None and not from_google:
        await ctx.session.execute(
            insert(GoogleTaskDeletion)
            .values(user_id=user_id, google_task_id=task.google_task_id)
            .on_conflict_do_nothing()
        )
    await ctx.session.delete(task)
    await ctx.session.flush()


# -- Google Tasks sync ----------------------------------------------------------------------


async def link_to_google(
    ctx: UnitOfWork, user_id: uuid.UUID, task_id: uuid.UUID, link: TaskGoogleLink
) -> Task:
    """The task in step with a Google task's version as of `synced_at`; `updated_at` is
    written as it is, so the mark is not itself a change to send."""
    task = await get_task(ctx, user_id, task_id)
    taken = await ctx.session.scalar(
        select(col(Task.id)).where(
            col(Task.user_id) == user_id,
            col(Task.google_task_id) == link.google_task_id,
            col(Task.id) != task_id,
        )
    )
    if taken is not None:
        raise invalid("google_task_id", "another task of this user's mirrors it")
    await ctx.session.execute(
        update(Task)
        .where(col(Task.id) == task_id)
        .values(
            google_task_id=link.google_task_id,
            google_updated=link.google_updated,
            google_synced_at=link.synced_at,
            updated_at=Task.updated_at,
        )
    )
    await ctx.session.refresh(task)
    return task


async def get_sync(ctx: UnitOfWork, user_id: uuid.UUID) -> TaskSyncPublic:
    await get_or_404(ctx.session, User, user_id, "user")
    sync = await ctx.session.get(GoogleTaskSync, user_id)
    deletions = await ctx.session.scalars(
        select(col(GoogleTaskDeletion.google_task_id))
        .where(col(GoogleTaskDeletion.user_id) == user_id)
        .order_by(col(GoogleTaskDeletion.created_at))
    )
    return TaskSyncPublic(
        enabled=sync is not None and sync.enabled,
        updated_min=sync.updated_min if sync is not None else None,
        deletions=list(deletions),
    )


async def set_sync(ctx: UnitOfWork, user_id: uuid.UUID, data: TaskSyncUpdate) -> TaskSyncPublic:
    """Turning sync off forgets how far Google was read: on again reads it all."""
    await get_or_404(ctx.session, User, user_id, "user")
    sync = await ctx.session.get(GoogleTaskSync, user_id, with_for_update=True)
    if sync is None:
        sync = GoogleTaskSync(user_id=user_id)
        ctx.session.add(sync)
    if data.enabled is not None:
        sync.enabled = data.enabled
        if not data.enabled:
            sync.updated_min = None
    if data.updated_min is not None:
        sync.updated_min = data.updated_min
    await ctx.session.flush()
    return await get_sync(ctx, user_id)


async def forget_deletion(ctx: UnitOfWork, user_id: uuid.UUID, google_task_id: str) -> None:
    await ctx.session.execute(
        delete(GoogleTaskDeletion).where(
            col(GoogleTaskDeletion.user_id) == user_id,
            col(GoogleTaskDeletion.google_task_id) == google_task_id,
        )
    )


async def cancel_reminder(ctx: UnitOfWork, job_id: uuid.UUID) -> None:
    """The job cancelled, if it has not fired or been cancelled already."""
    job = await ctx.session.get(CronJob, job_id)
    if job is not None and job.status in _PENDING:
        await cron_jobs.update_job(ctx, job_id, CronJobUpdate(status=CronJobStatus.cancelled))


async def _own_job(ctx: UnitOfWork, user_id: uuid.UUID, job_id: uuid.UUID) -> None:
    job = await ctx.session.get(CronJob, job_id)
    if job is None or job.user_id != user_id:
        raise invalid("reminder_job_id", "no such reminder of this user's")
