"""A cron job as rest_service sent it, with its schedule parsed: when it should fire next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from common.features.schedule import InvalidSchedule, OneOff, Schedule, schedule_of, zone
from common.infrastructure.wire import CronJob, CronJobType


@dataclass(frozen=True)
class PlannedJob:
    """An active job from rest_service and its parsed schedule."""

    job: CronJob
    tz: ZoneInfo
    schedule: Schedule

    @cached_property
    def id(self) -> str:
        """Made once: a UUID's `str` was a tenth of a rebalance over 100 000 jobs."""
        return str(self.job.id)

    @property
    def text(self) -> str:
        """What a fire says: the reminder's text, or the prompt the assistant answers."""
        return _text(self.job) or ""

    @property
    def one_off(self) -> bool:
        return isinstance(self.schedule, OneOff)

    @property
    def anchor(self) -> datetime:
        """Occurrences at or before this are not fired (the last run, or the last change:
        a job created, edited or resumed does not catch up on what came before)."""
        known = [self.job.last_run_at, self.job.created_at, self.job.updated_at]
        return max(moment for moment in known if moment is not None)

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """Changes when anything that affects a fire changes."""
        job = self.job
        return (
            job.type,
            job.user_id,
            job.chat_id,
            self.text,
            str(self.tz),
            job.run_at,
            job.cron_expression,
            job.last_run_at,
            job.updated_at,
        )

    def next_fire(self, now: datetime) -> datetime | None:
        """The fire to schedule: an occurrence that came due unfired (delivered late or
        recorded missed), else the next one. A one-off fires at its `run_at`, however late."""
        if isinstance(self.schedule, OneOff):
            return self.schedule.run_at
        due = self.schedule.last_at_or_before(now)
        if due is not None and due > self.anchor:
            return due
        return self.schedule.next_after(now)

    def following(self, fired: datetime) -> datetime | None:
        """The occurrence after one that has fired (None for a one-off)."""
        return None if self.one_off else self.schedule.next_after(fired)


def plan(job: CronJob, default_timezone: str) -> PlannedJob:
    """Raises `InvalidSchedule` for a job that cannot be scheduled (bad expression or zone)."""
    timezone = job.timezone or default_timezone
    schedule = schedule_of(job.cron_expression, job.run_at, timezone)
    if not (_text(job) or "").strip():
        field = "prompt" if job.type == CronJobType.assistant_prompt else "text"
        raise InvalidSchedule(f"a {job.type} job needs its {field}")
    if job.type == CronJobType.assistant_prompt and job.user_id is None:
        raise InvalidSchedule("an assistant_prompt job needs the user it speaks for")
    return PlannedJob(job=job, tz=zone(timezone), schedule=schedule)


def _text(job: CronJob) -> str | None:
    return job.prompt if job.type == CronJobType.assistant_prompt else job.text
