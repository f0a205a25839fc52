"""When a job fires: standard 5-field cron (and its `@daily`-style macros), RFC 5545 recurrence
rules for what a cron line cannot hold ("every other Tuesday"), and one-off instants, on the
wall clock of the job's IANA zone. The one evaluator every service uses: rest_service to
validate and to compute `next_run_at`, cron_service to fire, the assistant's reminder tool and
tg_bot's /reminders to confirm and show a schedule (`describe`).

The rules:

* weekdays as in crontab(5): 0 or 7 is Sunday, 1 is Monday; names `sun`..`sat`, `jan`..`dec`;
  when both day-of-month and day-of-week are restricted, either may match (Vixie cron);
* a local time that happens twice (autumn change) fires once, at its first occurrence
  (`30 1 * * *` in New York fires at 05:30Z on 2025-11-02, not again at 06:30Z);
* a local time that does not exist (spring change) fires once, at the first valid instant after
  the gap (02:30 on a night when 02:00 jumps to 03:00 fires at 03:00), never silently skipped.

A recurrence rule is stored in one line, its anchor first, both as wall times of the job's zone
(the zone is the job's own field): `DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;INTERVAL=2;
BYDAY=TU;BYHOUR=8;BYMINUTE=0`. python-dateutil's `rrule` lists its wall times; they fire by the
same two rules as a cron line's.

Both follow from one definition: a wall-clock time `w` fires at the first instant whose local
time is at or past `w`. That map is monotonic, so the fires of a schedule come in the order of
their wall times and a search can stop at the first hit.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from common.features.texts import TEXTS
from common.features.timezones import known_zone

#: How far ahead or back an occurrence is looked for: Feb 29 on a given weekday comes every
#: 28 years, but across a century year that is not a leap year (2100) only after 40
#: (2088, 2128).
_SEARCH_DAYS = 366 * 40
#: More than any backward change of a zone's UTC offset since 1970 (the largest in tzdata is
#: Antarctica/Vostok's 7 hours in 1994; autumn changes are an hour).
_MAX_SHIFT = timedelta(hours=8)

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: The longest each month can be (February in a leap year).
_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

MACROS = {
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
    found = known_zone(name or default)
    if found is None:
        raise InvalidSchedule(f"unknown timezone {name!r}")
    return found


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
            values |= self._parse_part(part, text)
        return frozenset(values)

    def _parse_part(self, part: str, whole: str) -> set[int]:
        base, slash, step_text = part.partition("/")
        step = self._number(step_text, whole) if slash else 1
        if step < 1:
            raise InvalidSchedule(f"the {self.name} field {whole!r} has a bad step {step_text!r}")
        if base == "*":
            low, high = self.low, self.high
        elif "-" in base:
            first, _, last = base.partition("-")
            low, high = self._value(first, whole), self._value(last, whole)
        else:
            low = self._value(base, whole)
            high = self.high if step_text else low
        if low > high:
            raise InvalidSchedule(f"the {self.name} field {whole!r} runs backwards")
        return set(range(low, high + 1, step))

    def _value(self, text: str, whole: str) -> int:
        if text in self.names:
            return self.names.index(text) + self.names_start
        value = self._number(text, whole)
        if not self.low <= value <= self.high:
            raise InvalidSchedule(
                f"the {self.name} field {whole!r} is out of range ({self.low}-{self.high})"
            )
        return value

    def _number(self, text: str, whole: str) -> int:
        if not (text.isascii() and text.isdigit()):
            raise InvalidSchedule(f"the {self.name} field {whole!r} is not standard cron")
        return int(text)


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _WEEKDAYS, 0),
)


def normalize(expression: str) -> str:
    """The 5 fields separated by single spaces; a macro becomes the fields it stands for."""
    text = " ".join(expression.split())
    return MACROS.get(text.lower(), text)


@dataclass(frozen=True)
class CronSchedule:
    """A standard crontab expression evaluated on the wall clock of `tz`."""

    expression: str
    tz: ZoneInfo
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    #: 0 = Sunday .. 6 = Saturday (7 folded into 0).
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool
    #: Minutes of the day (hour * 60 + minute) it fires at, ascending.
    times: tuple[int, ...]

    @classmethod
    def parse(cls, expression: str, tz: ZoneInfo | None = None) -> CronSchedule:
        """Raises `InvalidSchedule` saying which field is wrong, or that it never fires."""
        text = normalize(expression)
        parts = text.split(" ") if text else []
        if len(parts) != 5:
            raise InvalidSchedule(
                "needs 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)} in {expression!r}"
            )
        minute, hour, day, month, weekday = (
            f.parse(p) for f, p in zip(_FIELDS, parts, strict=True)
        )
        schedule = cls(
            expression=text,
            tz=tz or ZoneInfo("UTC"),
            minutes=minute,
            hours=hour,
            days=day,
            months=month,
            weekdays=frozenset(d % 7 for d in weekday),
            days_restricted=not parts[2].startswith("*"),
            weekdays_restricted=not parts[4].startswith("*"),
            times=tuple(sorted(h * 60 + m for h in hour for m in minute)),
        )
        if not schedule._can_fire():
            raise InvalidSchedule(f"{text!r} never fires (no month has that day)")
        return schedule

    def _can_fire(self) -> bool:
        if self.days_restricted and self.weekdays_restricted:
            return True  # either may match, and every weekday comes round
        return any(day <= _MONTH_LENGTHS[m - 1] for m in self.months for day in self.days)

    def next_after(self, instant: datetime) -> datetime:
        """The first fire strictly after `instant` (aware), in UTC.

        Walls before `instant`'s own local time fire at or before it (the map is monotonic),
        so the search starts there and the first wall that fires later is the answer."""
        try:
            for wall in self._walls(self._local(instant), 1):
                fire = wall_to_instant(wall, self.tz)
                if fire > instant:
                    return fire
        except OverflowError as exc:
            raise InvalidSchedule(f"no fire after {instant.isoformat()} before year 10000") from exc
        raise InvalidSchedule(  # pragma: no cover: a parsed schedule fires within _SEARCH_DAYS
            f"{self.expression!r} never fires"
        )

    def last_at_or_before(self, instant: datetime) -> datetime | None:
        """The latest fire at or before `instant` (aware), in UTC, or None if there is none.

        After an autumn change a later wall time may already have fired (in the first pass
        of the repeated hour), so the search starts `_MAX_SHIFT` ahead of the local time."""
        try:
            for wall in self._walls(self._local(instant) + _MAX_SHIFT, -1):
                fire = wall_to_instant(wall, self.tz)
                if fire <= instant:
                    return fire
        except OverflowError:
            pass  # the calendar ends (year 1 or 9999) before a fire
        return None

    def _local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise InvalidSchedule("an instant needs its UTC offset")
        return instant.astimezone(self.tz).replace(tzinfo=None, second=0, microsecond=0)

    def _walls(self, start: datetime, step: int) -> Iterator[datetime]:
        """Matching wall-clock times from `start` on (step 1) or back (step -1), in order."""
        first = start.hour * 60 + start.minute
        for offset in range(_SEARCH_DAYS):
            day = start.date() + timedelta(days=offset * step)
            if not self.matches_day(day):
                continue
            times = self.times
            if offset == 0:
                cut = bisect_left(times, first + (0 if step > 0 else 1))
                times = times[cut:] if step > 0 else times[:cut]
            for minute_of_day in times if step > 0 else reversed(times):
                yield datetime.combine(day, time(*divmod(minute_of_day, 60)))

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def matches_wall(self, wall: datetime) -> bool:
        """Whether a wall-clock minute is one of the schedule's (ignoring the clock's changes)."""
        return wall.minute in self.minutes and wall.hour in self.hours and self.matches_day(wall)


def wall_to_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant whose local time in `tz` is at or past `wall` (naive), in UTC: the
    first of a repeated time, or the end of the gap for a time a spring change skips."""
    wall = wall.replace(tzinfo=None)
    before = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if before.astimezone(tz).replace(tzinfo=None) == wall:
        return before  # fold=0 is the first occurrence of a repeated time
    # In a gap: fold=1 reads it with the offset after the change, an instant before the
    # change; fold=0 with the offset before it, an instant after. The change lies between.
    low = int(wall.replace(tzinfo=tz, fold=1).astimezone(UTC).timestamp())
    high = int(before.timestamp())
    while low + 1 < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


#: The parts of a recurrence rule a job may use. A rule holds what a cron line cannot: every
#: N days or weeks (on named weekdays), at fixed times of day; no end (COUNT, UNTIL: a
#: reminder repeats until it is deleted), no seconds.
_RULE_PARTS = ("FREQ", "INTERVAL", "WKST", "BYDAY", "BYHOUR", "BYMINUTE")
_RULE_FREQS = ("DAILY", "WEEKLY")
_RULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DTSTART = re.compile(r"^DTSTART:(\d{8}T\d{4}00)$")
#: Rule parts whose values are numbers, and the range each allows.
_RULE_NUMBERS = {"INTERVAL": (1, 52), "BYHOUR": (0, 23), "BYMINUTE": (0, 59)}
#: At most this many times of day (BYHOUR x BYMINUTE): more often is a cron line's job.
_RULE_MAX_TIMES = 24
#: The anchor's earliest year: a rule is listed from its anchor on.
_RULE_FIRST_YEAR = 1970


def is_rule(expression: str) -> bool:
    """Whether a stored schedule is a recurrence rule (else it is read as a cron line)."""
    return expression.lstrip().upper().startswith(("DTSTART", "RRULE"))


@dataclass(frozen=True)
class RuleSchedule:
    """An RFC 5545 recurrence rule from an anchor (DTSTART), on the wall clock of `tz`."""

    expression: str
    tz: ZoneInfo
    start: datetime
    #: The rule's parts as written in the canonical form ("FREQ" -> "WEEKLY").
    parts: dict[str, str] = field(compare=False)
    #: Minutes of the day (hour * 60 + minute) it fires at, ascending.
    times: tuple[int, ...]
    rule: rrule = field(compare=False, repr=False)

    @classmethod
    def parse(cls, expression: str, tz: ZoneInfo | None = None) -> RuleSchedule:
        """`DTSTART:YYYYMMDDTHHMM00 RRULE:...` (naive: the zone is the job's); raises
        `InvalidSchedule` saying which part is missing or wrong, or that it never fires."""
        lines = expression.upper().split()
        if len(lines) != 2 or not lines[1].startswith("RRULE:"):
            raise InvalidSchedule(
                "a recurrence rule needs its anchor and its rule: "
                "'DTSTART:20261201T080000 "
                "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0'"
            )
        anchor = _DTSTART.match(lines[0])
        if anchor is None:
            raise InvalidSchedule(
                f"the anchor {lines[0]!r} must be DTSTART:YYYYMMDDTHHMM00, a wall time with "
                "no zone (the job's timezone is its zone)"
            )
        try:
            start = datetime.strptime(anchor[1], "%Y%m%dT%H%M%S")
        except ValueError as exc:
            raise InvalidSchedule(f"the anchor {lines[0]!r} is not a date and time") from exc
        if start.year < _RULE_FIRST_YEAR:
            raise InvalidSchedule(f"the anchor {lines[0]!r} is before {_RULE_FIRST_YEAR}")
        parts = _rule_parts(lines[1].removeprefix("RRULE:"))
        text = f"DTSTART:{start:%Y%m%dT%H%M%S} RRULE:" + ";".join(
            f"{name}={parts[name]}" for name in _RULE_PARTS if name in parts
        )
        rule = rrulestr(text, cache=False)  # every part and the anchor were checked above
        assert isinstance(rule, rrule)
        hours = [int(h) for h in parts["BYHOUR"].split(",")]
        minutes = [int(m) for m in parts["BYMINUTE"].split(",")]
        if len(hours) * len(minutes) > _RULE_MAX_TIMES:
            raise InvalidSchedule(
                f"a recurrence rule fires at most {_RULE_MAX_TIMES} times a day "
                "(BYHOUR x BYMINUTE); more often is a cron line's: '*/15 * * * *'"
            )
        schedule = cls(
            expression=text,
            tz=tz or ZoneInfo("UTC"),
            start=start,
            parts=parts,
            times=tuple(sorted({h * 60 + m for h in hours for m in minutes})),
            rule=rule,
        )
        # the calendar ends in 9999: an anchor in its last years searches to its end
        ahead = min(timedelta(days=_SEARCH_DAYS), datetime.max - start)
        horizon = rule.replace(until=start + ahead)
        if horizon.after(start, inc=True) is None:
            raise InvalidSchedule(f"{text!r} never fires (no date matches the rule)")
        return schedule

    def next_after(self, instant: datetime) -> datetime:
        """The first fire strictly after `instant` (aware), in UTC (walls before its own
        local time fire at or before it, as for a cron line)."""
        try:
            start = _local(instant, self.tz)
            for wall in self._near(start).xafter(start, inc=True):
                fire = wall_to_instant(wall, self.tz)
                if fire > instant:
                    return fire
        except OverflowError:
            pass
        raise InvalidSchedule(f"no fire after {instant.isoformat()} before year 10000")

    def last_at_or_before(self, instant: datetime) -> datetime | None:
        """The latest fire at or before `instant` (aware), in UTC, or None if there is none."""
        try:
            start = _local(instant, self.tz) + _MAX_SHIFT
            rule = self._near(start)
            wall = rule.before(start, inc=True)
            while wall is not None:
                fire = wall_to_instant(wall, self.tz)
                if fire <= instant:
                    return fire
                wall = rule.before(wall)
        except OverflowError:
            pass
        return None

    def _near(self, wall: datetime) -> rrule:
        """The rule with its anchor moved on by whole periods (N days, or N weeks: the same
        days and weeks fire) to at most two weekly cycles before `wall`, so it is not listed
        from an anchor years back. Every fire within those cycles and after is kept."""
        n = int(self.parts.get("INTERVAL", "1"))
        period = timedelta(days=n if self.parts["FREQ"] == "DAILY" else 7 * n)
        margin = timedelta(days=14 * n) + _MAX_SHIFT  # a whole cycle of N days over weekdays
        periods = (wall - margin - self.start) // period
        if periods <= 0:
            return self.rule
        return self.rule.replace(dtstart=self.start + periods * period)


def _rule_parts(text: str) -> dict[str, str]:
    """The rule's parts, checked against what a job may use; says what is missing or wrong."""
    parts: dict[str, str] = {}
    for item in text.split(";"):
        name, equals, value = item.partition("=")
        if not equals or not value:
            raise InvalidSchedule(f"the rule part {item!r} needs NAME=VALUE")
        if name not in _RULE_PARTS:
            raise InvalidSchedule(
                f"the rule part {name} is not supported (a rule is every N days or weeks, "
                "at fixed times of day, until the reminder is deleted; a cron line holds "
                f"monthly and yearly dates): use only {', '.join(_RULE_PARTS)}"
            )
        if name in parts:
            raise InvalidSchedule(f"the rule part {name} is given twice")
        parts[name] = value
    for needed in ("FREQ", "BYHOUR", "BYMINUTE"):
        if needed not in parts:
            raise InvalidSchedule(
                f"the rule needs {needed}: how often it repeats (FREQ) and the times of day "
                "(BYHOUR, BYMINUTE)"
            )
    if parts["FREQ"] not in _RULE_FREQS:
        raise InvalidSchedule(f"FREQ must be one of {', '.join(_RULE_FREQS)}")
    if parts.get("WKST", "MO") not in _RULE_DAYS:
        raise InvalidSchedule(f"WKST must be one of {', '.join(_RULE_DAYS)}")
    for name, (low, high) in _RULE_NUMBERS.items():
        if name not in parts:
            continue
        values = parts[name].split(",")
        if not all(re.fullmatch(r"-?\d{1,2}", v) and low <= int(v) <= high for v in values):
            raise InvalidSchedule(f"{name} {parts[name]!r} is out of range ({low}..{high})")
        parts[name] = ",".join(str(v) for v in sorted({int(v) for v in values}))
    for day in parts.get("BYDAY", "MO").split(","):
        if day not in _RULE_DAYS:
            raise InvalidSchedule(f"BYDAY {parts['BYDAY']!r}: days are MO..SU, e.g. TU,TH")
    return parts


def _local(instant: datetime, tz: ZoneInfo) -> datetime:
    """`instant`'s wall time in `tz`, to the minute."""
    if instant.tzinfo is None:
        raise InvalidSchedule("an instant needs its UTC offset")
    return instant.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


@dataclass(frozen=True)
class OneOff:
    """A job that fires once, at `run_at`."""

    run_at: datetime

    def next_after(self, instant: datetime) -> datetime | None:
        return self.run_at if self.run_at > instant else None

    def last_at_or_before(self, instant: datetime) -> datetime | None:
        return self.run_at if self.run_at <= instant else None


Schedule = CronSchedule | RuleSchedule | OneOff
Repeating = CronSchedule | RuleSchedule


def repeating(expression: str, tz: ZoneInfo | None = None) -> Repeating:
    """A stored recurring schedule: a recurrence rule, else a cron line."""
    if is_rule(expression):
        return RuleSchedule.parse(expression, tz)
    return CronSchedule.parse(expression, tz)


def schedule_of(
    cron_expression: str | None, run_at: datetime | None, timezone: str | None
) -> Schedule:
    """A job's schedule: its cron expression in its timezone, else its one-off instant (a naive
    `run_at` is a wall time in the timezone, read by the same gap and repeat rules)."""
    if cron_expression:
        return repeating(cron_expression, zone(timezone))
    if run_at is None:
        raise InvalidSchedule("a job needs a cron_expression or a run_at")
    if run_at.tzinfo is None:
        return OneOff(wall_to_instant(run_at, zone(timezone)))
    return OneOff(run_at.astimezone(UTC))


def next_fire(expression: str, timezone: str, after: datetime) -> datetime:
    """The first fire of a cron line or rule in an IANA zone strictly after `after`, in UTC."""
    return repeating(expression, zone(timezone)).next_after(after)


# --- in words ------------------------------------------------------------------------------

_WORKWEEK = frozenset(range(1, 6))
_WEEKEND = frozenset({0, 6})
_ALL_DAYS = frozenset(range(0, 7))
#: At most this many fixed times of day are named ("at 09:00, 13:00 and 18:00").
_MAX_TIMES = 4
#: A fallback shows at most this much of the expression.
_MAX_SHOWN = 100


class _Words:
    """The catalogue's `schedule.*` in one language: the grammar stays here, the words there."""

    def __init__(self, language: str | None) -> None:
        self._texts = TEXTS.speaking(language)

    def __call__(self, key: str, **values: object) -> str:
        return self._texts.text(f"schedule.{key}", **values)

    def counted(self, key: str, n: int, *, spelled: bool = False, **values: object) -> str:
        """`key.few` for 2-4 (not 12-14), else `key.many`: Russian and Ukrainian need both.
        `spelled`: 2 to 4 in words where the language writes them so ("раз в три недели")."""
        few = n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14)
        number = self.item("numbers", n - 2) if spelled and 2 <= n <= 4 else str(n)
        return self(f"{key}.{'few' if few else 'many'}", n=number, **values)

    def item(self, key: str, index: int) -> str:
        return self(key).split(",")[index]

    def join(self, items: list[str]) -> str:
        if len(items) == 1:
            return items[0]
        return f"{', '.join(items[:-1])} {self('and')} {items[-1]}"

    def at(self, times: list[str]) -> str:
        return self("at", times=self.join(times))

    def days(self, weekdays: list[int]) -> str:
        return self.join([self.item("days", d) for d in weekdays])

    def ordinal(self, n: int) -> str:
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return self(f"ordinal.{suffix}", n=n)

    def date(self, key: str, day: int, month: int, **values: object) -> str:
        return self(key, day=day, month=self.item("months", month - 1), **values)


def describe(expression: str, language: str = "en") -> str:
    """The schedule in the words of `language` ("every weekday at 09:00", "по будням в
    09:00"); a form it has no words for is given as the expression itself, in backticks."""
    words = _Words(language)
    if is_rule(expression):
        try:
            rule = RuleSchedule.parse(expression)
        except InvalidSchedule:
            return _fallback(expression, words)
        return _rule_words(rule, words) or _fallback(rule.expression, words)
    try:
        schedule = CronSchedule.parse(expression)
    except InvalidSchedule:
        return _fallback(expression, words)
    return _cron_words(schedule, words) or _fallback(schedule.expression, words)


def _fallback(expression: str, words: _Words) -> str:
    """One line, one code span, whatever the expression held."""
    text = " ".join(expression.split()).replace("`", "'")
    code = f"`{text[:_MAX_SHOWN]}{'…' if len(text) > _MAX_SHOWN else ''}`"
    return words("rule_code" if is_rule(text) else "cron_code", code=code)


def _fixed_times(s: CronSchedule) -> list[str] | None:
    if len(s.times) > _MAX_TIMES:
        return None
    return [f"{t // 60:02d}:{t % 60:02d}" for t in s.times]


def _every_minutes(s: CronSchedule) -> int | None:
    """N for `*/N * ...` with N dividing the hour (so it is a true "every N minutes")."""
    if s.hours != frozenset(range(24)) or not s.minutes or min(s.minutes) != 0:
        return None
    step = 60 if len(s.minutes) == 1 else sorted(s.minutes)[1]
    if 60 % step or s.minutes != frozenset(range(0, 60, step)):
        return None
    return step


def _every_hours(s: CronSchedule) -> int | None:
    """N for `0 */N * * *` with N > 1 dividing the day."""
    if s.minutes != frozenset({0}) or len(s.hours) < 2 or min(s.hours) != 0:
        return None
    step = sorted(s.hours)[1]
    return step if not 24 % step and s.hours == frozenset(range(0, 24, step)) else None


def _day_kind(s: CronSchedule) -> str | None:
    """Which everyday form the days are: daily, weekdays, monthly, yearly (or None)."""
    all_months = s.months == frozenset(range(1, 13))
    if s.days_restricted and s.weekdays_restricted:
        return None
    if not s.days_restricted and all_months:
        return "daily" if s.weekdays == _ALL_DAYS else "weekdays"
    if s.days_restricted and not s.weekdays_restricted:
        if all_months and len(s.days) <= _MAX_TIMES:
            return "monthly"
        if len(s.months) == 1 and len(s.days) == 1:
            return "yearly"
    return None


def _sorted_weekdays(days: frozenset[int]) -> list[int]:
    return sorted(days, key=lambda d: (d + 6) % 7)  # Monday first


def _cron_words(s: CronSchedule, words: _Words) -> str | None:
    kind = _day_kind(s)
    step = _every_minutes(s)
    if step is not None and kind == "daily":
        if step == 1:
            return words("every_minute")
        if step == 60:
            return words("every_hour") if min(s.minutes) == 0 else None
        return words.counted("every_n_minutes", step)
    if s.hours == frozenset(range(24)) and len(s.minutes) == 1 and kind == "daily":
        return words("hourly_at", minute=f"{min(s.minutes):02d}")
    if (hours := _every_hours(s)) and kind == "daily":
        return words.counted("every_n_hours", hours)
    times = _fixed_times(s)
    if times is None or kind is None:
        return None
    at = words.at(times)
    if kind == "daily":
        return words("daily", at=at)
    if kind == "weekdays":
        return _on_weekdays(s.weekdays, at, words)
    if kind == "monthly":
        days = words.join([words.ordinal(d) for d in sorted(s.days)])
        found = words("monthly", days=days, at=at)
        return f"{found} {words('months_skipped')}" if max(s.days) > 28 else found
    (day,), (month,) = s.days, s.months
    found = words.date("yearly", day, month, at=at)
    return f"{found} {words('leap_years_only')}" if (day, month) == (29, 2) else found


def _on_weekdays(weekdays: frozenset[int], at: str, words: _Words) -> str:
    if weekdays == _WORKWEEK:
        return words("workdays", at=at)
    if weekdays == _WEEKEND:
        return words("weekends", at=at)
    order = _sorted_weekdays(weekdays)
    if len(order) == 1:
        return f"{words.item('every_weekday', order[0])} {at}"
    return words("on_days", days=words.days(order), at=at)


def _rule_words(s: RuleSchedule, words: _Words) -> str | None:
    """Every N days or every N weeks on named weekdays, at fixed times, from the anchor;
    other rules have no words (the rule itself is shown)."""
    freq, n = s.parts["FREQ"], int(s.parts.get("INTERVAL", "1"))
    days = s.parts["BYDAY"].split(",") if "BYDAY" in s.parts else []
    if len(s.times) > _MAX_TIMES or (freq == "DAILY" and days):
        return None
    weekdays = sorted({(_RULE_DAYS.index(d) + 1) % 7 for d in days}, key=lambda d: (d + 6) % 7)
    if freq == "WEEKLY" and not weekdays:
        weekdays = [(s.start.weekday() + 1) % 7]
    at = words.at([f"{t // 60:02d}:{t % 60:02d}" for t in s.times])
    if freq == "DAILY":
        every = (
            words("daily", at=at)
            if n == 1
            else words("every_other_day", at=at)
            if n == 2
            else words.counted("every_n_days", n, spelled=True, at=at)
        )
    elif len(weekdays) == 1 and n <= 2:
        first = words.item("every_weekday" if n == 1 else "every_other_weekday", weekdays[0])
        every = f"{first} {at}"
    elif n <= 2:
        key = "weekly_on_days" if n == 1 else "every_other_week_on_days"
        every = words(key, days=words.days(weekdays), at=at)
    else:
        every = words.counted(
            "every_n_weeks_on_days", n, spelled=True, days=words.days(weekdays), at=at
        )
    return words.date("since", s.start.day, s.start.month, schedule=every, year=s.start.year)
