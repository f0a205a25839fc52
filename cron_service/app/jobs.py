"""A cron job as rest_service sent it, with its schedule parsed: when it should fire next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
            job.urgent,
            job.repeat_every_minutes,
            job.max_repeats,
            job.repeating_for,
            job.repeats_sent,
            job.acknowledged_for,
        )

    @property
    def repeats(self) -> bool:
        """An urgent reminder's fires repeat until Done (a briefing's never do)."""
        return self.job.urgent and self.job.type == CronJobType.reminder

    @property
    def interval(self) -> timedelta:
        return timedelta(minutes=self.job.repeat_every_minutes)

    def next_fire(self, now: datetime) -> datetime | None:
        """The fire to schedule: an occurrence that came due unfired (delivered late or
        recorded missed), else the next one, or a repeat of the latest fire if it comes first.
        A one-off fires at its `run_at`, however late, unless it is repeating."""
        repeat = self._pending_repeat(now)
        if isinstance(self.schedule, OneOff):
            return repeat or self.schedule.run_at
        due = self.schedule.last_at_or_before(now)
        regular = due if due is not None and due > self.anchor else self.schedule.next_after(now)
        return min(regular, repeat) if repeat else regular

    def following(
        self, fired: datetime, now: datetime | None = None, *, repeat: bool = True
    ) -> datetime | None:
        """What comes after a fire (sent at `now`, default: on time): its next repeat (if it
        repeats: `repeat`, urgent, not acknowledged), or the next occurrence (None for a
        one-off), whichever is first."""
        now = now or fired
        regular = None if self.one_off else self.schedule.next_after(fired)
        if not (repeat and self.repeats):
            return regular
        occurrence, number = self.occurrence_of(fired)
        again = (
            None if self._acknowledged(occurrence) else self._repeat(occurrence, number + 1, now)
        )
        return min(regular, again) if regular and again else regular or again

    def occurrence_of(self, instant: datetime) -> tuple[datetime, int]:
        """The occurrence a fire at `instant` belongs to, and which repeat of it it is (0:
        the occurrence itself). Computed, not remembered: a restarted or another replica
        agrees."""
        if not self.repeats:
            return instant, 0
        occurrence = self.schedule.last_at_or_before(instant) or instant
        number, rest = divmod(instant - occurrence, self.interval)
        if occurrence == instant or rest or not 1 <= number <= self.job.max_repeats:
            return instant, 0
        return occurrence, number

    def _pending_repeat(self, now: datetime) -> datetime | None:
        """The next repeat of the fire rest_service last recorded, if it still repeats."""
        occurrence = self.job.repeating_for
        if not self.repeats or occurrence is None or self._acknowledged(occurrence):
            return None
        if isinstance(self.schedule, OneOff) and occurrence != self.schedule.run_at:
            return None  # moved (snoozed) since: its new time starts afresh
        return self._repeat(occurrence, self.job.repeats_sent + 1, now)

    def _acknowledged(self, occurrence: datetime) -> bool:
        done = self.job.acknowledged_for
        return done is not None and done >= occurrence

    def _repeat(self, occurrence: datetime, number: int, now: datetime) -> datetime | None:
        """Repeat `number` of `occurrence`, or a later one whose time has come (repeats that
        passed while none could go out are not made up; the last one always goes); None
        beyond `max_repeats` or at the next occurrence, which starts repeats of its own."""
        passed = (now - occurrence) // self.interval
        number = max(number, min(passed, self.job.max_repeats))
        if number > self.job.max_repeats:
            return None
        at = occurrence + number * self.interval
        following = None if self.one_off else self.schedule.next_after(occurrence)
        return None if following is not None and at >= following else at


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
