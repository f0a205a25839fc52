"""When a job fires: standard 5-field cron and one-off instants, on the wall clock of the job's
timezone.

APScheduler 3's `CronTrigger` is not used for this. Its `from_crontab` numbers weekdays from
Monday (`0 9 * * 1` fires on Tuesday), it fires a fixed local time twice in the repeated hour
of an autumn change, and around a spring change it can skip a day (a weekday midnight job in
America/Chicago goes from Friday to Tuesday). Here the rules are:

* weekdays as in crontab(5): 0 or 7 is Sunday, 1 is Monday; names `sun`..`sat`, `jan`..`dec`;
  when both day-of-month and day-of-week are restricted, either may match (Vixie cron);
* a local time that happens twice (autumn) fires once, at its first occurrence;
* a local time that does not exist (spring) fires at the same distance past the change,
  (02:30 on a night when 02:00 jumps to 03:00 fires at 03:30), never silently skipped.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: How far ahead or back an occurrence is looked for (covers Feb 29 on a given weekday).
_SEARCH_DAYS = 366 * 28
#: More than any change of a zone's UTC offset within a day.
_MAX_SHIFT = timedelta(hours=3)

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class InvalidSchedule(ValueError):
    """A cron expression, instant or timezone that cannot be scheduled; says why."""


def zone(name: str | None, default: str = "UTC") -> ZoneInfo:
    """The job's IANA zone; an unknown name is an error, not a silent UTC."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSchedule(f"unknown timezone {name!r}") from exc


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    #: The value `names[0]` stands for.
    names_start: int = 0

    def parse(self, text: str) -> frozenset[int]:
        values: set[int] = set()
        for part in text.lower().split(","):
            values |= self._parse_part(part)
        return frozenset(values)

    def _parse_part(self, part: str) -> set[int]:
        base, _, step_text = part.partition("/")
        step = self._number(step_text) if step_text else 1
        if step < 1:
            raise InvalidSchedule(f"{self.name}: step must be at least 1 in {part!r}")
        if base == "*":
            low, high = self.low, self.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = self._value(first), self._value(last)
        else:
            low = self._value(base)
            high = self.high if step_text else low
        if low > high:
            raise InvalidSchedule(f"{self.name}: range {part!r} runs backwards")
        return set(range(low, high + 1, step))

    def _value(self, text: str) -> int:
        if text in self.names:
            return self.names.index(text) + self.names_start
        value = self._number(text)
        if not self.low <= value <= self.high:
            raise InvalidSchedule(f"{self.name}: {value} is outside {self.low}-{self.high}")
        return value

    def _number(self, text: str) -> int:
        if not text.isdigit():
            raise InvalidSchedule(f"{self.name}: {text!r} is not a number")
        return int(text)


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


@dataclass(frozen=True)
class CronSchedule:
    """A standard crontab expression evaluated on the wall clock of `tz`."""

    expression: str
    tz: ZoneInfo
    #: Minutes of the day (hour * 60 + minute) it fires at, ascending.
    times: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str, tz: ZoneInfo) -> CronSchedule:
        text = _MACROS.get(expression.strip().lower(), expression)
        parts = text.split()
        if len(parts) != 5:
            raise InvalidSchedule(
                f"a cron expression has 5 fields (minute hour day month weekday), "
                f"got {len(parts)} in {expression!r}"
            )
        minute, hour, day, month, weekday = (
            f.parse(p) for f, p in zip(_FIELDS, parts, strict=True)
        )
        return cls(
            expression=expression,
            tz=tz,
            times=tuple(sorted(h * 60 + m for h in hour for m in minute)),
            days=day,
            months=month,
            weekdays=frozenset(d % 7 for d in weekday),
            days_restricted=not parts[2].startswith("*"),
            weekdays_restricted=not parts[4].startswith("*"),
        )

    def next_after(self, instant: datetime) -> datetime:
        """The first fire strictly after `instant` (UTC)."""
        best: datetime | None = None
        best_wall = datetime.min
        for wall in self._walls(self._local(instant) - _MAX_SHIFT, 1):
            if best is not None and wall > best_wall + _MAX_SHIFT:
                break
            fire = wall_to_instant(wall, self.tz)
            if fire > instant and (best is None or fire < best):
                best, best_wall = fire, wall
        if best is None:
            raise InvalidSchedule(f"{self.expression!r} never fires")
        return best

    def last_at_or_before(self, instant: datetime) -> datetime | None:
        """The latest fire at or before `instant` (UTC), or None if there is none."""
        best: datetime | None = None
        best_wall = datetime.max
        for wall in self._walls(self._local(instant) + _MAX_SHIFT, -1):
            if best is not None and wall < best_wall - _MAX_SHIFT:
                break
            fire = wall_to_instant(wall, self.tz)
            if fire <= instant and (best is None or fire > best):
                best, best_wall = fire, wall
        return best

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz).replace(tzinfo=None)

    def _walls(self, start: datetime, step: int) -> Iterator[datetime]:
        """Matching wall-clock times from `start` on (step 1) or back (step -1), in order.

        Wall order is instant order except within a clock change, which is why callers look
        `_MAX_SHIFT` beyond their first hit."""
        first = start.hour * 60 + start.minute
        for offset in range(_SEARCH_DAYS):
            day = start.date() + timedelta(days=offset * step)
            if not self._matches(day):
                continue
            times = self.times
            if offset == 0:
                cut = bisect_left(times, first) if step > 0 else bisect_right(times, first)
                times = times[cut:] if step > 0 else times[:cut]
            for minute_of_day in times if step > 0 else reversed(times):
                yield datetime.combine(day, time(*divmod(minute_of_day, 60)))

    def _matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week


def wall_to_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time: the first of a repeated time; a time skipped by a
    spring change is moved forward by the gap (fold=0 keeps the offset from before it)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class OneOff:
    """A job that fires once, at `run_at`."""

    run_at: datetime

    def next_after(self, instant: datetime) -> datetime | None:
        return self.run_at if self.run_at > instant else None

    def last_at_or_before(self, instant: datetime) -> datetime | None:
        return self.run_at if self.run_at <= instant else None


Schedule = CronSchedule | OneOff


def schedule_of(
    cron_expression: str | None, run_at: datetime | None, timezone: str | None
) -> Schedule:
    """A job's schedule: its cron expression in its timezone, else its one-off instant."""
    if cron_expression:
        return CronSchedule.parse(cron_expression, zone(timezone))
    if run_at is None:
        raise InvalidSchedule("a job needs a cron_expression or a run_at")
    if run_at.tzinfo is None:
        run_at = run_at.replace(tzinfo=zone(timezone))
    return OneOff(run_at.astimezone(UTC))
