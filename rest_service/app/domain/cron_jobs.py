"""Reminders and scheduled prompts (one-off `run_at` or recurring cron), and their runs.
Every write tells cron_service on `cron:updated`."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import ARRAY, Integer, any_, func, literal, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from common.features.job_partitions import PARTITION_SQL, parse_partitions
from common.features.limits import LIMIT_REFUSALS
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import FieldError, ValidationFailedError, conflict
from common.infrastructure.wire import CronJobStatus, CronJobType, RunOutcome
from rest_service.app.domain.common import apply_update, get_or_404, non_null, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import AfterCommit, UnitOfWork
from rest_service.app.domain.validation import (
    check_cron,
    check_recurrence,
    check_timezone,
    next_cron_time,
)
from rest_service.app.models.bot import Bot
from rest_service.app.models.cron import (
    CronJob,
    CronJobAcknowledgement,
    CronJobCreate,
    CronJobDone,
    CronJobRun,
    CronJobRunCreate,
    CronJobUpdate,
)
from rest_service.app.models.user import User

#: Urgent fires acknowledged (Done pressed), by the repeats sent before it.
ACKNOWLEDGED = Counter(
    "smart_assistant_urgent_reminders_acknowledged_total",
    "Urgent reminders acknowledged (Done pressed), by the repeats they needed",
    ["repeats"],
)

KIND = "cron job"
#: A one-off time this far in the past is a mistake, not a late reminder.
PAST_TOLERANCE = timedelta(minutes=1)
#: Fields whose change moves the next run.
_SCHEDULE_FIELDS = frozenset({"run_at", "cron_expression", "timezone", "status", "last_run_at"})


async def create_job(ctx: UnitOfWork, data: CronJobCreate) -> tuple[CronJob, bool]:
    """A stored `idempotency_key` returns the stored job (False: not made now)."""
    if data.idempotency_key is not None:
        existing = await _by_key(ctx, data.idempotency_key)
        if existing is not None:
            return existing, False
    user = await get_or_404(ctx.session, User, data.user_id, "user") if data.user_id else None
    if data.bot_id is not None:
        await get_or_404(ctx.session, Bot, data.bot_id, "bot")
    fields = data.model_dump()
    fields["timezone"] = (
        data.timezone or (user.timezone if user else None) or ctx.settings.default_timezone
    )
    if data.timezone_assumed is None:
        fields["timezone_assumed"] = _assumed(user, fields["timezone"], ctx.settings)
    _check_job(fields, now=utcnow(), new_run_at=True)
    _check_recurrence(ctx, fields, changed=True)
    await _check_active_limit(ctx, fields, was_active=False)
    fields["next_run_at"] = _next_run(fields, utcnow())
    job = CronJob.model_validate(fields)
    stmt = (
        insert(CronJob)
        .values(job.model_dump())
        .on_conflict_do_nothing(index_elements=[col(CronJob.idempotency_key)])
        .returning(col(CronJob.id))
    )
    made = await ctx.session.scalar(stmt)
    stored = await _by_key(ctx, data.idempotency_key) if made is None else None
    job_id = made or (stored.id if stored else job.id)
    if made is not None:
        _announce(ctx, job_id, "created")
    return await get_or_404(ctx.session, CronJob, job_id, KIND), made is not None


async def list_jobs(
    ctx: UnitOfWork,
    page: Page,
    *,
    user_id: uuid.UUID | None,
    chat_id: int | None,
    status: CronJobStatus | None,
    type: CronJobType | None,
    due_before: datetime | None,
    partitions: str | None = None,
) -> tuple[list[CronJob], int]:
    """`partitions`: only the jobs of these partitions of the id space
    (`common.features.job_partitions`), the share a cron_service replica loads."""
    stmt = select(CronJob).order_by(
        col(CronJob.next_run_at).asc().nulls_last(), col(CronJob.created_at), col(CronJob.id)
    )
    if user_id is not None:
        stmt = stmt.where(col(CronJob.user_id) == user_id)
    if chat_id is not None:
        stmt = stmt.where(col(CronJob.chat_id) == chat_id)
    if status is not None:
        stmt = stmt.where(col(CronJob.status) == status)
    if type is not None:
        stmt = stmt.where(col(CronJob.type) == type)
    if due_before is not None:
        stmt = stmt.where(col(CronJob.next_run_at) <= due_before)
    if partitions is not None:
        wanted = _partitions(partitions)
        # One array parameter, not one per partition: one statement, however many.
        partition: ColumnElement[int] = literal_column(PARTITION_SQL.format(id="cron_jobs.id"))
        stmt = stmt.where(partition == any_(literal(sorted(wanted), ARRAY(Integer))))
    return await paged(ctx.session, stmt, page)


def _partitions(text: str) -> frozenset[int]:
    try:
        return parse_partitions(text)
    except ValueError as exc:
        raise ValidationFailedError(
            f"partitions: {exc}", [FieldError("partitions", str(exc))]
        ) from exc


async def get_job(ctx: UnitOfWork, job_id: uuid.UUID) -> CronJob:
    return await get_or_404(ctx.session, CronJob, job_id, KIND)


async def update_job(ctx: UnitOfWork, job_id: uuid.UUID, data: CronJobUpdate) -> CronJob:
    job = await get_job(ctx, job_id)
    changes = non_null(CronJob, data.model_dump(exclude_unset=True))
    merged = {**job.model_dump(), **changes}
    now = utcnow()
    _check_job(merged, now=now, new_run_at="run_at" in changes)
    _check_recurrence(ctx, merged, changed="cron_expression" in changes)
    await _check_active_limit(ctx, merged, was_active=job.status == CronJobStatus.active)
    if "cron_expression" in changes:
        changes["cron_expression"] = merged["cron_expression"]
    if "timezone" in changes and "timezone_assumed" not in changes:
        changes["timezone_assumed"] = False
    if "next_run_at" not in changes and _SCHEDULE_FIELDS & changes.keys():
        changes["next_run_at"] = _next_run(merged, now)
    apply_update(job, changes)
    await ctx.session.flush()
    _announce(ctx, job.id, "updated")
    return job


async def mark_done(ctx: UnitOfWork, job_id: uuid.UUID, data: CronJobDone) -> CronJob:
    """Done under a fired reminder: an urgent fire is acknowledged (its repeats stop, and the
    repeats it took are kept for the analytics, once per fire), a one-off ends even when its
    fire is not yet recorded. Pressed again: nothing more."""
    job = await get_job(ctx, job_id)
    occurrence = data.occurrence
    changes: dict[str, Any] = {}
    latest = job.repeating_for
    # An older fire's Done changes nothing: its repeats ended when the next fire came.
    if job.urgent and occurrence is not None and (latest is None or occurrence >= latest):
        repeats = job.repeats_sent if latest == occurrence else 0
        made = await ctx.session.scalar(
            insert(CronJobAcknowledgement)
            .values(job_id=job_id, occurrence=occurrence, repeats=repeats)
            .on_conflict_do_nothing(constraint="uq_cron_job_acknowledgements_fire")
            .returning(col(CronJobAcknowledgement.id))
        )
        if made is not None:
            ctx.after_commit(f"ack:{job_id}:{occurrence.isoformat()}", _count_acknowledged(repeats))
        if job.acknowledged_for is None or job.acknowledged_for < occurrence:
            changes["acknowledged_for"] = occurrence
    if job.cron_expression is None and job.status == CronJobStatus.active:
        changes |= {"status": CronJobStatus.done, "next_run_at": None}
    if changes:
        apply_update(job, changes)
        await ctx.session.flush()
        _announce(ctx, job.id, "updated")
    return job


def _count_acknowledged(repeats: int) -> AfterCommit:
    async def count(_: UnitOfWork) -> None:
        ACKNOWLEDGED.labels(str(repeats)).inc()

    return count


async def delete_job(ctx: UnitOfWork, job_id: uuid.UUID) -> None:
    """Its runs go with it: they are the job's own record, not references to it."""
    job = await get_job(ctx, job_id)
    await ctx.session.delete(job)
    await ctx.session.flush()
    _announce(ctx, job_id, "deleted")


async def append_run(
    ctx: UnitOfWork, job_id: uuid.UUID, data: CronJobRunCreate
) -> tuple[CronJobRun, bool]:
    """One run per (job, scheduled time): a repeat returns the stored one."""
    await get_job(ctx, job_id)
    stmt = (
        insert(CronJobRun)
        .values(job_id=job_id, **data.model_dump())
        .on_conflict_do_nothing(constraint="uq_cron_job_runs_job_scheduled")
        .returning(col(CronJobRun.id))
    )
    made = await ctx.session.scalar(stmt)
    run = await ctx.session.scalar(
        select(CronJobRun).where(
            col(CronJobRun.job_id) == job_id, col(CronJobRun.scheduled_for) == data.scheduled_for
        )
    )
    assert run is not None
    return run, made is not None


async def list_runs(
    ctx: UnitOfWork,
    page: Page,
    *,
    job_id: uuid.UUID | None,
    outcome: RunOutcome | None,
    since: datetime | None,
) -> tuple[list[CronJobRun], int]:
    stmt = select(CronJobRun).order_by(
        col(CronJobRun.scheduled_for).desc(), col(CronJobRun.id).desc()
    )
    if job_id is not None:
        stmt = stmt.where(col(CronJobRun.job_id) == job_id)
    if outcome is not None:
        stmt = stmt.where(col(CronJobRun.outcome) == outcome)
    if since is not None:
        stmt = stmt.where(col(CronJobRun.scheduled_for) >= since)
    return await paged(ctx.session, stmt, page)


def _check_job(fields: dict[str, Any], now: datetime, new_run_at: bool) -> None:
    """One-off xor recurring; the text its type needs; a real zone; a cron that fires."""
    run_at, expression = fields.get("run_at"), fields.get("cron_expression")
    if (run_at is None) == (expression is None):
        _refuse("run_at", "give exactly one of run_at (one-off) and cron_expression (recurring)")
    if expression is not None:
        fields["cron_expression"] = check_cron(expression)
    elif new_run_at and run_at is not None and run_at < now - PAST_TOLERANCE:
        _refuse("run_at", f"{run_at.isoformat()} is in the past")
    check_timezone(fields["timezone"])
    if fields.get("channel", Channel.TELEGRAM) != Channel.TELEGRAM and not fields.get(
        "channel_chat_id"
    ):
        _refuse(
            "channel_chat_id", f"a job in {fields['channel']} needs the conversation it fires in"
        )
    needed = "text" if fields["type"] == CronJobType.reminder else "prompt"
    if not (fields.get(needed) or "").strip():
        _refuse(needed, f"a {fields['type']} job needs {needed}")


def _check_recurrence(ctx: UnitOfWork, fields: dict[str, Any], *, changed: bool) -> None:
    """MIN_RECURRENCE_MINUTES, checked when the schedule is set (an old job keeps its own)."""
    expression = fields.get("cron_expression")
    if not changed or expression is None:
        return
    try:
        check_recurrence(
            expression, fields["timezone"], ctx.settings.min_recurrence_minutes, utcnow()
        )
    except ValidationFailedError:
        LIMIT_REFUSALS.labels("recurrence_interval").inc()
        raise


async def _check_active_limit(ctx: UnitOfWork, fields: dict[str, Any], *, was_active: bool) -> None:
    """MAX_ACTIVE_REMINDERS per user, when a job becomes active. The user's row is locked
    first, so concurrent creates (one turn's parallel tool calls) are counted one by one."""
    limit, user_id = ctx.settings.max_active_reminders, fields.get("user_id")
    active = fields.get("status", CronJobStatus.active) == CronJobStatus.active
    if limit <= 0 or user_id is None or was_active or not active:
        return
    await ctx.session.execute(select(col(User.id)).where(col(User.id) == user_id).with_for_update())
    count = await ctx.session.scalar(
        select(func.count())
        .select_from(CronJob)
        .where(col(CronJob.user_id) == user_id, col(CronJob.status) == CronJobStatus.active)
    )
    if (count or 0) >= limit:
        LIMIT_REFUSALS.labels("active_reminders").inc()
        reason = (
            f"the user already has {count} active reminders, the most allowed is {limit}; "
            "delete or finish some first"
        )
        raise conflict(reason, [FieldError("user_id", reason)])


def _next_run(fields: dict[str, Any], now: datetime) -> datetime | None:
    """None unless active; recurring: the next fire after now (and after the last run);
    one-off: `run_at` until a run at or after it is recorded."""
    if fields.get("status", CronJobStatus.active) != CronJobStatus.active:
        return None
    last = fields.get("last_run_at")
    if fields.get("cron_expression"):
        after = max(now, last) if last else now
        return next_cron_time(fields["cron_expression"], fields["timezone"], after)
    run_at: datetime = fields["run_at"]
    return None if last is not None and last >= run_at else run_at


def _assumed(user: User | None, zone: str, settings: Any) -> bool:
    """A user's job made while they had no zone, in the default one: the zone was a guess."""
    return user is not None and not user.timezone and zone == settings.default_timezone


def _refuse(field: str, reason: str) -> None:
    raise ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])


async def _by_key(ctx: UnitOfWork, key: str | None) -> CronJob | None:
    if key is None:
        return None
    return await ctx.session.scalar(select(CronJob).where(col(CronJob.idempotency_key) == key))


async def announce_bot_jobs_deleted(ctx: UnitOfWork, bot_id: uuid.UUID) -> None:
    """A bot's jobs go with it (the foreign key cascades): cron_service hears of each."""
    found = await ctx.session.scalars(select(col(CronJob.id)).where(col(CronJob.bot_id) == bot_id))
    for job_id in found.all():
        _announce(ctx, job_id, "deleted")


def _announce(ctx: UnitOfWork, job_id: uuid.UUID, change: str) -> None:
    ctx.after_commit(f"cron:{job_id}", announce_cron({"job_id": str(job_id), "change": change}))


def announce_cron(message: dict[str, str]) -> AfterCommit:
    """Tell cron_service on `cron:updated`, once the change is committed (it reads the job
    back as soon as it hears)."""

    async def announce(ctx: UnitOfWork) -> None:
        await ctx.cache.publish_cron(json.dumps(message))

    return announce
