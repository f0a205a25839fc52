"""A cron job as cron_service sees it, and when it should fire next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common.rest_client import CronJob
from common.schedule import InvalidSchedule, OneOff, Schedule, schedule_of, zone

REMINDER = "reminder"
ASSISTANT_PROMPT = "assistant_prompt"
ACTIVE = "active"


@dataclass(frozen=True)
class Job:
    """An active job from rest_service, its schedule parsed."""

    id: str
    type: str
    user_id: str | None
    chat_id: int
    text: str
    tz: ZoneInfo
    schedule: Schedule
    #: Occurrences at or before this are not fired (the last run, or the last change:
    #: a job created, edited or resumed does not catch up on what came before).
    anchor: datetime | None
    #: Changes when anything that affects a fire changes.
    fingerprint: tuple[Any, ...]

    @property
    def one_off(self) -> bool:
        return isinstance(self.schedule, OneOff)

    def next_fire(self, now: datetime) -> datetime | None:
        """The fire to schedule: an occurrence that came due unfired (delivered late or
        recorded missed), else the next one. A one-off fires at its `run_at`, however late."""
        if self.one_off:
            return self.schedule.run_at  # type: ignore[union-attr]
        due = self.schedule.last_at_or_before(now)
        if due is not None and self.anchor is not None and due > self.anchor:
            return due
        return self.schedule.next_after(now)

    def following(self, fired: datetime) -> datetime | None:
        """The occurrence after one that has fired (None for a one-off)."""
        return None if self.one_off else self.schedule.next_after(fired)


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def job_from_rest(data: CronJob, default_timezone: str) -> Job:
    """Raises `InvalidSchedule` for a job that cannot be scheduled (bad expression or zone)."""
    timezone = data.get("timezone") or default_timezone
    run_at = parse_time(data.get("run_at"))
    schedule = schedule_of(data.get("cron_expression"), run_at, timezone)
    text = (data.get("prompt") if data["type"] == ASSISTANT_PROMPT else data.get("text")) or ""
    if not text.strip():
        raise InvalidSchedule(f"a {data['type']} job needs its {_text_field(data['type'])}")
    if data["type"] == ASSISTANT_PROMPT and not data.get("user_id"):
        raise InvalidSchedule("an assistant_prompt job needs the user it speaks for")
    moments = [parse_time(data.get(name)) for name in ("last_run_at", "created_at", "updated_at")]
    known = [moment for moment in moments if moment is not None]
    return Job(
        id=str(data["id"]),
        type=data["type"],
        user_id=str(data["user_id"]) if data.get("user_id") else None,
        chat_id=int(data["chat_id"]),
        text=text,
        tz=zone(timezone),
        schedule=schedule,
        anchor=max(known) if known else None,
        fingerprint=(
            data["type"],
            data.get("user_id"),
            data["chat_id"],
            text,
            timezone,
            data.get("run_at"),
            data.get("cron_expression"),
            data.get("last_run_at"),
            data.get("updated_at"),
        ),
    )


def _text_field(job_type: str) -> str:
    return "prompt" if job_type == ASSISTANT_PROMPT else "text"
