"""Reminders made under an assumed zone (`timezone_assumed`: the user had set none), and
moving them to the zone the user has now set at the same local clock time. tg_bot's
`/timezone` offers and does the move; the assistant's `time` tool offers it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from common.features.schedule import wall_to_instant
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import ConflictError, ValidationFailedError
from common.infrastructure.rest_client import UNSET, Id, RestClient
from common.infrastructure.wire import CronJob, CronJobStatus, CronJobType


@dataclass
class MoveReport:
    moved: list[CronJob] = field(default_factory=list)
    #: One-offs whose clock time has already passed in the new zone: left as they were.
    passed: list[CronJob] = field(default_factory=list)


async def assumed_reminders(
    rest: RestClient, user_id: Id, zone: str, group_chat_id: int | None = None
) -> list[CronJob]:
    """The user's active reminders whose zone was assumed and differs from `zone`; in a group
    only those set in that group (a member's private reminders never show there)."""
    found = [
        job
        async for job in rest.iter_cron_jobs(
            user_id=user_id,
            chat_id=group_chat_id,
            status=CronJobStatus.active,
            type=CronJobType.reminder,
        )
    ]
    return [job for job in found if job.timezone_assumed and job.timezone != zone]


async def move_reminders(rest: RestClient, jobs: list[CronJob], zone: str) -> MoveReport:
    """Each job to `zone` keeping its local clock time; rest_service recomputes the next run."""
    report = MoveReport()
    now = utcnow()
    for job in jobs:
        run_at = same_clock_time(job, zone)
        if run_at is not None and run_at <= now:
            report.passed.append(job)
            continue
        try:
            moved = await rest.update_cron_job(job.id, timezone=zone, run_at=run_at or UNSET)
        except (ValidationFailedError, ConflictError):
            report.passed.append(job)
            continue
        report.moved.append(moved)
    return report


async def keep_reminders(rest: RestClient, jobs: list[CronJob]) -> None:
    """The user keeps them as they are: they are no longer offered for a move."""
    for job in jobs:
        await rest.update_cron_job(job.id, timezone_assumed=False)


def same_clock_time(job: CronJob, zone: str) -> datetime | None:
    """A one-off's `run_at` at the same wall-clock time in `zone`; None for a recurring job
    (its cron expression is already local). Gaps and repeats follow `common.features.schedule`'s
    rules."""
    if job.run_at is None:
        return None
    local = job.run_at.astimezone(ZoneInfo(job.timezone))
    return wall_to_instant(local.replace(tzinfo=None), ZoneInfo(zone))


def local_next_run(job: CronJob) -> datetime | None:
    """When the job fires next, on its own zone's clock."""
    upcoming = job.next_run_at or job.run_at
    return upcoming.astimezone(ZoneInfo(job.timezone)) if upcoming else None
