"""How a reminder repeats: a 5-field cron expression, or words in English or Russian ("every
weekday at 9", "каждый понедельник в 10", "every month on the 1st", "ежедневно в 9") turned
into one. The time of day is read by `when.time_of_day`, so "at 9" means the same in a one-off
and a repetition; when and how a cron expression fires is `common.schedule`'s, the one
evaluator every service uses. Words that are not understood are asked about, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from assistant.src.tools.base import ToolError
from assistant.src.tools.when import (
    DAY_DEFAULT,
    MONTH_NAMES,
    WEEKDAY_NAMES,
    UnclearTime,
    resolve,
    time_of_day,
)
from common.schedule import CronSchedule, InvalidSchedule, describe

_CRON_FIELDS = re.compile(r"^(@\w+|(\S+\s+){4}\S+)$")
_CRON_FIELD = re.compile(r"^(\*|[0-9a-z]{1,3})([-/,](\*|[0-9a-z]{1,3}))*$")
_WORKDAYS = re.compile(
    r"\b(?:every |each |on )?(?:week ?days?|work ?days?|business days?)\b"
    r"|\b(?:по |в )?будн(?:ям|и|ие дни)\b|\bкажд\w* будн\w* день\b|\bпо рабочим дням\b"
    r"|\bв рабочие дни\b"
)
_WEEKENDS = re.compile(r"\b(?:every |on |at )?weekends?\b|\b(?:по |в |кажд\w* )?выходн\w*\b")
_DAILY = re.compile(r"\b(?:every ?day|daily|each day|every single day|ежедневно|кажд\w* день)\b")
_EVERY_PART = re.compile(
    r"\b(?:every|each|кажд\w*)\s+(?P<part>morning|afternoon|evening|night|утро|вечер|ночь)\b"
)
_PARTS = {"утро": "morning", "вечер": "evening", "ночь": "night"}
_MONTH_DAY = re.compile(
    r"\b(?:every month|each month|monthly|ежемесячно|каждый месяц)\s+(?:on\s+)?(?:the\s+)?"
    r"(?P<a>[0-9]{1,2})(?:st|nd|rd|th|-?го|-?е)?(?:\s+числа)?\b"
    r"|\b(?:on\s+)?(?:the\s+)?(?P<b>[0-9]{1,2})(?:st|nd|rd|th)?(?: day)?\s+of\s+"
    r"(?:every|each|the)\s+month\b"
    r"|\b(?P<c>[0-9]{1,2})-?(?:го|е)?\s+числа(?:\s+каждого месяца)?\b"
    r"|\bкаждое\s+(?P<d>[0-9]{1,2})-?(?:е)?\s+число\b"
)
_EVERY_N = re.compile(
    r"\b(?:every|each|каждые|каждый|каждую)\s+(?P<n>[0-9]{1,2})?\s*"
    r"(?:(?P<minutes>minutes?|mins?|минут[уы]?)|(?P<hours>hours?|час(?:а|ов)?))\b"
    r"|\b(?P<hourly>hourly|ежечасно)\b"
)
_PLURAL_WEEKDAY = re.compile(r"\bпо\s+(\w+)")
_EVERY = re.compile(r"\b(?:every|each|on|кажд\w*|по|и|and|the)\b")
_MONTHS_RE = "|".join(f"(?P<mo{n}>{p})" for n, p in MONTH_NAMES)
_YEARLY = re.compile(
    rf"\b(?:every year|each year|yearly|annually|ежегодно|каждый год)\s+(?:on\s+)?"
    rf"(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|-?го)?\s+(?:of\s+)?(?:{_MONTHS_RE})\b"
)


@dataclass(frozen=True)
class Recurrence:
    """A repeating reminder: its cron expression, evaluated by `common.schedule`."""

    cron: str
    #: No time of day was said, so the day's default (09:00) was taken: say so.
    time_assumed: bool = False

    def first_after(self, now: datetime) -> datetime:
        """The first fire after `now`, in `now`'s zone (the reminder's)."""
        tz = now.tzinfo
        assert isinstance(tz, ZoneInfo)
        return CronSchedule.parse(self.cron, tz).next_after(now).astimezone(tz)

    def describe(self, language: str = "en") -> str:
        return describe(self.cron, language)


def parse_recurrence(
    recurrence: str, when: str | None = None, tz: ZoneInfo | None = None
) -> Recurrence:
    """`recurrence` in words (English or Russian) or as a cron expression; the time of day may
    come from `when` ("every Monday" + "9:00", "tomorrow at 9", or an ISO date-time), read in
    `tz` (the user's zone; UTC when not given)."""
    text = " ".join(recurrence.lower().replace("ё", "е").split()).strip(" .!?")
    if text.startswith("@") or (
        _CRON_FIELDS.match(text) and all(_CRON_FIELD.match(f) for f in text.split())
    ):
        return _cron(text)
    cron = _every_n(text)
    if cron is not None:
        return _cron(cron)
    day_field, month_field, weekday_field, rest = _days(text)
    clock = _clock(rest, when, tz or ZoneInfo("UTC"))
    fields = f"{day_field} {month_field} {weekday_field}"
    if clock is None:
        return _cron(f"{DAY_DEFAULT.minute} {DAY_DEFAULT.hour} {fields}", time_assumed=True)
    return _cron(f"{clock.minute} {clock.hour} {fields}")


def _cron(expression: str, *, time_assumed: bool = False) -> Recurrence:
    try:
        return Recurrence(CronSchedule.parse(expression).expression, time_assumed)
    except InvalidSchedule as exc:
        raise ToolError(f"invalid cron expression: {exc}") from exc


def _every_n(text: str) -> str | None:
    match = _EVERY_N.fullmatch(text)
    if match is None:
        return None
    n = int(match["n"] or 1)
    if match["minutes"]:
        if n not in {1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30}:
            raise UnclearTime(f"every {n} minutes cannot be kept evenly: every 5, 10, 15 or 30?")
        return "* * * * *" if n == 1 else f"*/{n} * * * *"
    if n not in {1, 2, 3, 4, 6, 8, 12}:
        raise UnclearTime(f"every {n} hours cannot be kept evenly: every 2, 3, 4, 6 or 12?")
    return "0 * * * *" if n == 1 else f"0 */{n} * * *"


def _days(text: str) -> tuple[str, str, str, str]:
    """(day-of-month, month, day-of-week fields, the text left for the time of day)."""
    for pattern, weekdays in ((_WORKDAYS, "1-5"), (_WEEKENDS, "0,6")):
        match = pattern.search(text)
        if match:
            return "*", "*", weekdays, _cut(text, match)
    match = _YEARLY.search(text)
    if match:
        month = next(n for n, _ in MONTH_NAMES if match.group(f"mo{n}"))
        return match["d"], str(month), "*", _cut(text, match)
    match = _MONTH_DAY.search(text)
    if match:
        day = int(next(g for g in match.groups() if g))
        if not 1 <= day <= 31:
            raise UnclearTime(f"there is no day {day} in a month: which day is meant?")
        return str(day), "*", "*", _cut(text, match)
    found: set[int] = set()
    rest = text
    for number, day_names in WEEKDAY_NAMES:
        match = re.search(rf"\b(?:{day_names})\b", rest)
        if match:
            found.add((number + 1) % 7)
            rest = _cut(rest, match)
    if found:
        if not re.search(r"\b(every|each|on|кажд\w*|по)\b|s\b", text):
            raise UnclearTime(f"{text!r}: every week on that day, or once?")
        return "*", "*", ",".join(str(d) for d in sorted(found)), rest
    for pattern in (_DAILY, _EVERY_PART):
        match = pattern.search(text)
        if match:
            keep = match["part"] if pattern is _EVERY_PART else ""
            return "*", "*", "*", _cut(text, match) + " " + _PARTS.get(keep, keep)
    raise UnclearTime(
        f"I could not read {text!r} as a repetition. How often: e.g. 'every day at 8', "
        "'every weekday at 9', 'every Monday at 9', 'every month on the 1st at 10'?"
    )


def _clock(rest: str, when: str | None, tz: ZoneInfo) -> time | None:
    rest = " ".join(_EVERY.sub(" ", rest).split())
    clock = time_of_day(rest) if rest else None
    if clock is None and when:
        clock = _clock_of_when(when, tz)
    return clock


def _clock_of_when(when: str, tz: ZoneInfo) -> time | None:
    """The local time of day `when` names: a clock time, or a moment ("tomorrow at 9", an
    ISO date-time, converted to `tz` when it has an offset)."""
    try:
        return time_of_day(when)
    except UnclearTime:
        found = resolve(when, tz, datetime.now(tz), future=False)  # only its time counts
    return None if found.all_day else found.at.time().replace(second=0, microsecond=0)


def _cut(text: str, match: re.Match[str]) -> str:
    return " ".join((text[: match.start()] + " " + text[match.end() :]).split())
