"""Writes `time_phrases.json`: phrases in English and Russian with the moment each must
resolve to at several fixed "now"s, or "refused".

The expectations are computed here by plain date arithmetic, one small rule per family of
phrases, apart from the resolver (`assistant/src/tools/when.py`), so the two must agree; the
rules are the documented defaults (docs/decisions/0017-strict-time-phrases.md). Run it after
changing a rule: `.venv/bin/python -m assistant.tests.time_phrase_rules`. The reminder tool's
end-to-end tests use the same rules, with the tool's clock stopped at the real current time.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from assistant.src.tools.when import JUST_PASSED

NOWS = {
    # west of UTC, late evening
    "la_late": ("America/Los_Angeles", "2025-06-10T23:30"),
    # east of UTC, month end
    "tokyo_month_end": ("Asia/Tokyo", "2025-01-31T09:15"),
    # year end, late evening
    "berlin_year_end": ("Europe/Berlin", "2025-12-31T23:30"),
    # spring change: 02:00 EST becomes 03:00 EDT this night
    "ny_spring": ("America/New_York", "2025-03-09T01:30"),
    # autumn change: 01:00-02:00 happens twice this night
    "ny_autumn": ("America/New_York", "2025-11-02T00:30"),
    # spring change: 02:00 CET becomes 03:00 CEST this night
    "berlin_spring": ("Europe/Berlin", "2025-03-30T01:15"),
    # the evening before the autumn change (03:00 CEST becomes 02:00 CET)
    "berlin_autumn": ("Europe/Berlin", "2025-10-25T20:00"),
    # month end in February, midday
    "moscow_feb": ("Europe/Moscow", "2025-02-28T12:00"),
    # the last day of a leap February, evening, south of the equator
    "sydney_leap_feb": ("Australia/Sydney", "2028-02-29T18:00"),
    # a month end that is a Sunday, morning
    "moscow_sunday_month_end": ("Europe/Moscow", "2025-08-31T08:30"),
    # a 30-day month's end, late evening, west of UTC
    "ny_april_end": ("America/New_York", "2025-04-30T22:45"),
    # a minute after a full hour: a time of that hour today has just passed (is now)
    "berlin_just_past": ("Europe/Berlin", "2026-11-28T21:01"),
}

Refused = str
REFUSED: Refused = "refused"
Rule = Callable[[datetime], datetime | Refused]


def wall(day: date, clock: time, tz: ZoneInfo) -> datetime | Refused:
    """A local wall time; one skipped by a DST change is refused, a repeated one is its first."""
    moment = datetime.combine(day, clock, tzinfo=tz)
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment.replace(tzinfo=None):
        return REFUSED
    return moment


def future(moment: datetime | Refused, now: datetime) -> datetime | Refused:
    """A moment not before now; one that passed less than `JUST_PASSED` ago is now."""
    if moment == REFUSED:
        return REFUSED
    assert isinstance(moment, datetime)
    if moment >= now:
        return moment
    return now if now.astimezone(UTC) - moment.astimezone(UTC) <= JUST_PASSED else REFUSED


def after(delta: timedelta) -> Rule:
    return lambda now: (now.astimezone(UTC) + delta).astimezone(now.tzinfo)


def days_later(days: int, clock: time | None = None) -> Rule:
    def rule(now: datetime) -> datetime | Refused:
        day = now.date() + timedelta(days=days)
        return wall(day, clock or now.time().replace(microsecond=0), now.tzinfo)  # type: ignore[arg-type]

    return rule


def on_day(offset: int, clock: time) -> Rule:
    return lambda now: future(wall(now.date() + timedelta(days=offset), clock, now.tzinfo), now)  # type: ignore[arg-type]


def next_clock(clock: time) -> Rule:
    def rule(now: datetime) -> datetime | Refused:
        today = wall(now.date(), clock, now.tzinfo)  # type: ignore[arg-type]
        if today != REFUSED and today >= now:  # type: ignore[operator]
            return today
        if today == REFUSED and datetime.combine(now.date(), clock) >= now.replace(tzinfo=None):
            return REFUSED
        return wall(now.date() + timedelta(days=1), clock, now.tzinfo)  # type: ignore[arg-type]

    return rule


def tonight_small_hours(clock: time) -> Rule:
    return lambda now: future(wall(now.date() + timedelta(days=1), clock, now.tzinfo), now)  # type: ignore[arg-type]


def weekday(number: int, clock: time | None, kind: str = "") -> Rule:
    """Monday = 0. Plain: the coming one; asked about on that very day while its time is
    ahead. "next": asked about while the coming one is in this week. "this": may be today."""
    at = clock or time(9)

    def rule(now: datetime) -> datetime | Refused:
        tz = now.tzinfo
        today = now.date()
        ahead = (number - today.weekday()) % 7
        day = today + timedelta(days=ahead)
        if ahead == 0:
            today_at = wall(today, at, tz)  # type: ignore[arg-type]
            still = today_at != REFUSED and today_at > now  # type: ignore[operator]
            if kind == "" and still:
                return REFUSED
            if kind == "this" and not still:
                return REFUSED
            if kind != "this":
                day = today + timedelta(days=7)
        if kind == "next" and day < today - timedelta(days=today.weekday()) + timedelta(days=7):
            return REFUSED
        return wall(day, at, tz)  # type: ignore[arg-type]

    return rule


def on_date(month: int, day: int, clock: time | None, year: int | None = None) -> Rule:
    at = clock or time(9)

    def rule(now: datetime) -> datetime | Refused:
        years = [year] if year else list(range(now.year, now.year + 9))
        for candidate_year in years:
            try:
                candidate = date(candidate_year, month, day)
            except ValueError:
                continue
            if year is None and candidate < now.date():
                continue
            return future(wall(candidate, at, now.tzinfo), now)  # type: ignore[arg-type]
        return REFUSED

    return rule


def on_month_day(day: int, clock: time | None) -> Rule:
    at = clock or time(9)

    def rule(now: datetime) -> datetime | Refused:
        year, month = now.year, now.month
        for _ in range(13):
            try:
                candidate = date(year, month, day)
            except ValueError:
                candidate = None
            if candidate is not None and candidate >= now.date():
                return future(wall(candidate, at, now.tzinfo), now)  # type: ignore[arg-type]
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return REFUSED

    return rule


def next_week_day(number: int, clock: time | None, english: bool) -> Rule:
    """ "Wednesday of next week": that weekday in the week (Monday to Sunday) after this one;
    in English on a Sunday, refused where a week from Sunday to Saturday would differ."""

    def rule(now: datetime) -> datetime | Refused:
        today = now.date()
        day = today - timedelta(days=today.weekday()) + timedelta(days=7 + number)
        if english and today.weekday() == 6 and (day - today).days != 7 + (number + 1) % 7:
            return REFUSED
        return wall(day, clock or time(9), now.tzinfo)  # type: ignore[arg-type]

    return rule


def in_month(pick: str | int, ref: str, clock: time | None, weekday_number: int = 0) -> Rule:
    """A day picked in a month: "end" (its last day), a day of the month (an int), or
    "first".."last" weekday. ref "this" or "next", or "" for the first month from this one
    in which that day is today or later."""
    at = clock or time(9)
    nth = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}

    def day_in(year: int, month: int) -> date | None:
        last = calendar.monthrange(year, month)[1]
        if pick == "end":
            return date(year, month, last)
        if isinstance(pick, int):
            return date(year, month, pick) if pick <= last else None
        days = [
            date(year, month, d)
            for d in range(1, last + 1)
            if date(year, month, d).weekday() == weekday_number
        ]
        n = nth[pick]
        return days[n - 1 if n > 0 else -1] if n <= len(days) else None

    def rule(now: datetime) -> datetime | Refused:
        this = (now.year, now.month)
        following = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        months = {"this": [this], "next": [following]}.get(ref, [this, following])
        for year, month in months:
            day = day_in(year, month)
            if day is not None and (day >= now.date() or ref == "this"):
                return future(wall(day, at, now.tzinfo), now)  # type: ignore[arg-type]
        return REFUSED

    return rule


def iso(text: str) -> Rule:
    def rule(now: datetime) -> datetime | Refused:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            clock = time(9) if len(text) == 10 else moment.time()
            return future(wall(moment.date(), clock, now.tzinfo), now)  # type: ignore[arg-type]
        return future(moment.astimezone(now.tzinfo), now)

    return rule


def checked(rule: Rule, named_weekday: int) -> Rule:
    """A day with a weekday beside it ("Friday, 13 June"): refused unless they agree."""

    def check(now: datetime) -> datetime | Refused:
        found = rule(now)
        if isinstance(found, datetime) and found.weekday() != named_weekday:
            return REFUSED
        return found

    return check


def refused(_now: datetime) -> Refused:
    return REFUSED


def t(hour: int, minute: int = 0) -> time:
    return time(hour, minute)


M = timedelta(minutes=1)
H = timedelta(hours=1)

EN: list[tuple[str, Rule]] = [
    # relative, exact
    *[(f"in {n} minutes", after(n * M)) for n in (2, 5, 10, 15, 20, 25, 30, 45, 90, 120)],
    ("in 1 minute", after(M)),
    ("in a minute", after(M)),
    ("in five minutes", after(5 * M)),
    ("in ten minutes", after(10 * M)),
    ("in 10 mins", after(10 * M)),
    ("in 15 min", after(15 * M)),
    ("in half an hour", after(30 * M)),
    ("in an hour", after(H)),
    ("in one hour", after(H)),
    ("in an hour and a half", after(90 * M)),
    ("in 1.5 hours", after(90 * M)),
    *[(f"in {n} hours", after(n * H)) for n in (2, 3, 4, 5, 8, 12, 24, 48)],
    ("in two hours", after(2 * H)),
    ("in 2 hours 30 minutes", after(150 * M)),
    ("in 1 hour and 15 minutes", after(75 * M)),
    ("30 minutes from now", after(30 * M)),
    ("2 hours from now", after(2 * H)),
    ("in 30 seconds", after(timedelta(seconds=30))),
    ("20 minutes", after(20 * M)),
    ("2 hours", after(2 * H)),
    ("1 hour 30 minutes", after(90 * M)),
    ("now", after(timedelta())),
    ("right now", after(timedelta())),
    # relative days
    ("in 2 days", days_later(2)),
    ("in 3 days", days_later(3)),
    ("in a week", days_later(7)),
    ("in 2 weeks", days_later(14)),
    ("in 2 days at 10", days_later(2, t(10))),
    ("in 3 days at 6pm", days_later(3, t(18))),
    ("in a week at 9:30", days_later(7, t(9, 30))),
    # tomorrow and after
    ("tomorrow at 9", on_day(1, t(9))),
    ("tomorrow at 18", on_day(1, t(18))),
    ("tomorrow at 9am", on_day(1, t(9))),
    ("tomorrow at 9 am", on_day(1, t(9))),
    ("tomorrow at 7:30", on_day(1, t(7, 30))),
    ("tomorrow at 07:30", on_day(1, t(7, 30))),
    ("tomorrow at 6pm", on_day(1, t(18))),
    ("tomorrow at 6 p.m.", on_day(1, t(18))),
    ("tomorrow at 10:15 pm", on_day(1, t(22, 15))),
    ("tomorrow at 12pm", on_day(1, t(12))),
    ("tomorrow at 2:30 am", on_day(1, t(2, 30))),
    ("tomorrow at 02:30", on_day(1, t(2, 30))),
    ("tomorrow at noon", on_day(1, t(12))),
    ("tomorrow noon", on_day(1, t(12))),
    ("tomorrow", on_day(1, t(9))),
    ("tomorrow morning", on_day(1, t(9))),
    ("tomorrow afternoon", on_day(1, t(15))),
    ("tomorrow evening", on_day(1, t(19))),
    ("tomorrow night", on_day(1, t(22))),
    ("tomorrow morning at 8", on_day(1, t(8))),
    ("tomorrow evening at 8", on_day(1, t(20))),
    ("tomorrow at 8 in the evening", on_day(1, t(20))),
    ("Tomorrow at 9.", on_day(1, t(9))),
    ("the day after tomorrow", on_day(2, t(9))),
    ("day after tomorrow at 10", on_day(2, t(10))),
    ("the day after tomorrow at 5pm", on_day(2, t(17))),
    # clock times
    ("at 9", next_clock(t(9))),
    ("at 9:00", next_clock(t(9))),
    ("at 8am", next_clock(t(8))),
    ("at 11 am", next_clock(t(11))),
    ("at 8pm", next_clock(t(20))),
    ("at 21:00", next_clock(t(21))),
    ("at 23:45", next_clock(t(23, 45))),
    ("at 7:45", next_clock(t(7, 45))),
    ("at 10.30", next_clock(t(10, 30))),
    ("at 12", next_clock(t(12))),
    ("at noon", next_clock(t(12))),
    ("noon", next_clock(t(12))),
    ("at midday", next_clock(t(12))),
    ("at midnight", next_clock(t(0))),
    ("at 00:15", next_clock(t(0, 15))),
    ("at 02:30", next_clock(t(2, 30))),
    ("at 1:30 am", next_clock(t(1, 30))),
    ("9pm", next_clock(t(21))),
    ("7:15am", next_clock(t(7, 15))),
    ("at half past 8", next_clock(t(8, 30))),
    ("at quarter past 9", next_clock(t(9, 15))),
    ("at quarter to 10", next_clock(t(9, 45))),
    ("at 9 o'clock", next_clock(t(9))),
    # parts of the day
    ("in the morning", next_clock(t(9))),
    ("in the afternoon", next_clock(t(15))),
    ("in the evening", next_clock(t(19))),
    ("at night", next_clock(t(22))),
    ("tonight", on_day(0, t(20))),
    ("tonight at 8", on_day(0, t(20))),
    ("tonight at 11", on_day(0, t(23))),
    ("tonight at 11:59 pm", on_day(0, t(23, 59))),
    ("tonight at 1", tonight_small_hours(t(1))),
    ("this evening", on_day(0, t(19))),
    ("this evening at 7", on_day(0, t(19))),
    ("this afternoon", on_day(0, t(15))),
    ("this morning", on_day(0, t(9))),
    ("today at 23:45", on_day(0, t(23, 45))),
    ("today at 13:00", on_day(0, t(13))),
    ("today at 5pm", on_day(0, t(17))),
    ("evening at 7", next_clock(t(19))),
    # as models write them
    ("tomorrow 9:00", on_day(1, t(9))),
    ("tomorrow at 09:00 AM", on_day(1, t(9))),
    ("today 18:00", on_day(0, t(18))),
    ("18:00", next_clock(t(18))),
    ("9:30 PM", next_clock(t(21, 30))),
    ("January 15, 2026 at 9:00 AM", on_date(1, 15, t(9), 2026)),
    ("Thursday, January 15, 2026 at 9:00 AM", checked(on_date(1, 15, t(9), 2026), 3)),
    ("15 Jan 2026 10:00", on_date(1, 15, t(10), 2026)),
    ("tomorrow 9", on_day(1, t(9))),
    ("9 tonight", on_day(0, t(21))),
    ("friday 18", weekday(4, t(18))),
    ("tomorrow 3", refused),
    # weekdays
    ("on friday", weekday(4, None)),
    ("friday", weekday(4, None)),
    ("on Friday at 10", weekday(4, t(10))),
    ("friday at 5pm", weekday(4, t(17))),
    ("on monday at 9am", weekday(0, t(9))),
    ("monday morning", weekday(0, t(9))),
    ("on sunday at 10:30", weekday(6, t(10, 30))),
    ("saturday evening", weekday(5, t(19))),
    ("on Wednesday at noon", weekday(2, t(12))),
    ("on tuesday at 18:00", weekday(1, t(18))),
    ("thursday at 7pm", weekday(3, t(19))),
    ("next monday at 3pm", weekday(0, t(15), "next")),
    ("next friday", weekday(4, None, "next")),
    ("next sunday at 9", weekday(6, t(9), "next")),
    ("this saturday at noon", weekday(5, t(12), "this")),
    ("this sunday", weekday(6, None, "this")),
    ("this friday at 8pm", weekday(4, t(20), "this")),
    # dates
    ("on 5 March", on_date(3, 5, None)),
    ("5 March at 10", on_date(3, 5, t(10))),
    ("March 5 at 10am", on_date(3, 5, t(10))),
    ("March 5th", on_date(3, 5, None)),
    ("on the 5th of March", on_date(3, 5, None)),
    ("on 1 January", on_date(1, 1, None)),
    ("January 1 at 00:00", on_date(1, 1, t(0))),
    ("on 31 December at 23:59", on_date(12, 31, t(23, 59))),
    ("December 25 at 8am", on_date(12, 25, t(8))),
    ("on 14 February at 19:00", on_date(2, 14, t(19))),
    ("on 29 February", on_date(2, 29, None)),
    ("on 9 March at 2:30 am", on_date(3, 9, t(2, 30))),
    ("on 30 March at 02:30", on_date(3, 30, t(2, 30))),
    ("on 2 November at 1:30 am", on_date(11, 2, t(1, 30))),
    ("on 1 June 2026 at 10", on_date(6, 1, t(10), 2026)),
    ("12/25", on_date(12, 25, None)),
    ("12/25 at 9pm", on_date(12, 25, t(21))),
    ("on the 1st", on_month_day(1, None)),
    ("on the 15th at 10", on_month_day(15, t(10))),
    ("on the 28th at 6pm", on_month_day(28, t(18))),
    # refused
    ("purple elephants", refused),
    ("sometime", refused),
    ("later", refused),
    ("soon", refused),
    ("next week", refused),
    ("this weekend", refused),
    ("at 3", refused),
    ("tomorrow at 5", refused),
    ("at 4:30", refused),
    ("03/04", refused),
    ("tomorrow at midnight", refused),
    ("in 2 hours at 10", refused),
    ("yesterday", refused),
    ("yesterday at 9", refused),
    ("last friday", refused),
    ("on 31 February", refused),
    ("at 25:00", refused),
    ("at 13pm", refused),
    ("", refused),
    ("when I get home", refused),
    ("morning at 8pm", refused),
    ("tomorrow at 9 or 10", refused),
    ("on friday or saturday", refused),
    ("in a few minutes", refused),
    ("after lunch", refused),
    ("tomorrow friday", checked(on_day(1, t(9)), 4)),
    ("tomorrow (Saturday) at 10", checked(on_day(1, t(10)), 5)),
    ("Friday, 13 June at 10am", checked(on_date(6, 13, t(10)), 4)),
    ("Saturday, 1 February 2025 at 9:00", checked(on_date(2, 1, t(9), 2025), 5)),
    ("Tuesday the 1st at noon", checked(on_month_day(1, t(12)), 1)),
    ("in 2 days on friday", refused),
    # midnight that ends today
    ("tonight at midnight", on_day(1, t(0))),
    ("at midnight tonight", on_day(1, t(0))),
    ("today at midnight", on_day(1, t(0))),
    ("tomorrow night at midnight", refused),
    # clock times in words (a morning hour 1 to 6 is asked about, as "at 3" is)
    ("at a quarter to nine", next_clock(t(8, 45))),
    ("half past eight", next_clock(t(8, 30))),
    ("at half past seven pm", next_clock(t(19, 30))),
    ("quarter past four", refused),
    ("quarter past four in the afternoon", next_clock(t(16, 15))),
    ("tomorrow at a quarter past ten", on_day(1, t(10, 15))),
    ("ten to nine", next_clock(t(8, 50))),
    ("twenty past 11", next_clock(t(11, 20))),
    ("at quarter to one", next_clock(t(12, 45))),
    ("friday at half past nine in the evening", weekday(4, t(21, 30))),
    # spans in words
    ("in a fortnight", days_later(14)),
    ("a fortnight from today", days_later(14)),
    ("in a fortnight at 10am", days_later(14, t(10))),
    ("a week from today", days_later(7)),
    ("two weeks from today at 18:00", days_later(14, t(18))),
    ("the same time in a week", days_later(7)),
    ("same time next week", days_later(7)),
    ("tomorrow at the same time", days_later(1)),
    ("wednesday of next week", next_week_day(2, None, english=True)),
    ("on monday next week at 9:30", next_week_day(0, t(9, 30), english=True)),
    ("next week on friday at 5pm", next_week_day(4, t(17), english=True)),
    ("sunday of next week", next_week_day(6, None, english=True)),
    ("at the same time", refused),
    ("in 2 hours at the same time", refused),
    # days picked in a month (the end of the month is its last day, 09:00 unless a time is named)
    ("at the end of the month", in_month("end", "", None)),
    ("the end of the month at 6pm", in_month("end", "", t(18))),
    ("by the end of next month", in_month("end", "next", None)),
    ("on the last day of this month at 17:00", in_month("end", "this", t(17))),
    ("the first monday of next month", in_month("first", "next", None, 0)),
    ("on the first Monday of the month at 10am", in_month("first", "", t(10), 0)),
    ("the last friday of the month", in_month("last", "", None, 4)),
    ("the last Friday of this month at 4pm", in_month("last", "this", t(16), 4)),
    ("the second tuesday of next month at 9:30", in_month("second", "next", t(9, 30), 1)),
    ("next month on the 1st", in_month(1, "next", None)),
    ("on the 15th of next month at 10", in_month(15, "next", t(10))),
    ("on the 31st of next month", in_month(31, "next", None)),
    ("the 28th of this month", in_month(28, "this", None)),
    ("on the first of next month", in_month(1, "next", None)),
    ("the 1st of the month at 10", in_month(1, "", t(10))),
    ("end of month", in_month("end", "", None)),
    ("the last monday of the month at 3", refused),
    ("next month", refused),
    ("tomorrow at the end of the month", refused),
]

RU: list[tuple[str, Rule]] = [
    # relative, exact
    ("через 1 минуту", after(M)),
    ("через минуту", after(M)),
    ("через 2 минуты", after(2 * M)),
    ("через 3 минуты", after(3 * M)),
    *[(f"через {n} минут", after(n * M)) for n in (5, 10, 15, 20, 25, 30, 40, 45, 90)],
    ("через пять минут", after(5 * M)),
    ("через десять минут", after(10 * M)),
    ("через пятнадцать минут", after(15 * M)),
    ("через 10 мин", after(10 * M)),
    ("через 10 мин.", after(10 * M)),
    ("через полчаса", after(30 * M)),
    ("через час", after(H)),
    ("через один час", after(H)),
    ("через полтора часа", after(90 * M)),
    ("через 1,5 часа", after(90 * M)),
    ("через 2 часа", after(2 * H)),
    ("через 3 часа", after(3 * H)),
    ("через 4 часа", after(4 * H)),
    ("через 5 часов", after(5 * H)),
    ("через 8 часов", after(8 * H)),
    ("через 12 часов", after(12 * H)),
    ("через 24 часа", after(24 * H)),
    ("через два часа", after(2 * H)),
    ("через пару часов", after(2 * H)),
    ("через 2 часа 30 минут", after(150 * M)),
    ("через 1 час 15 минут", after(75 * M)),
    ("через 30 секунд", after(timedelta(seconds=30))),
    ("10 минут", after(10 * M)),
    ("2 часа", after(2 * H)),
    ("1 час 30 минут", after(90 * M)),
    ("сейчас", after(timedelta())),
    ("прямо сейчас", after(timedelta())),
    # relative days
    ("через 2 дня", days_later(2)),
    ("через 3 дня", days_later(3)),
    ("через день", days_later(1)),
    ("через неделю", days_later(7)),
    ("через 2 недели", days_later(14)),
    ("через 2 дня в 10", days_later(2, t(10))),
    ("через 3 дня в 18:00", days_later(3, t(18))),
    ("через неделю в 9:30", days_later(7, t(9, 30))),
    # tomorrow and after
    ("завтра в 9", on_day(1, t(9))),
    ("завтра в 18", on_day(1, t(18))),
    ("завтра в 9 утра", on_day(1, t(9))),
    ("завтра в 7:30", on_day(1, t(7, 30))),
    ("завтра в 07:30", on_day(1, t(7, 30))),
    ("завтра в 6 вечера", on_day(1, t(18))),
    ("завтра в 10 вечера", on_day(1, t(22))),
    ("завтра в 3 часа дня", on_day(1, t(15))),
    ("завтра в 12 дня", on_day(1, t(12))),
    ("завтра в 2:30 ночи", refused),
    ("завтра в 02:30", on_day(1, t(2, 30))),
    ("завтра в полдень", on_day(1, t(12))),
    ("завтра", on_day(1, t(9))),
    ("Завтра в 9.", on_day(1, t(9))),
    ("завтра утром", on_day(1, t(9))),
    ("завтра днем", on_day(1, t(15))),
    ("завтра днём", on_day(1, t(15))),
    ("завтра вечером", on_day(1, t(19))),
    ("завтра ночью", on_day(1, t(22))),
    ("завтра утром в 8", on_day(1, t(8))),
    ("завтра вечером в 8", on_day(1, t(20))),
    ("завтра в 8 часов вечера", on_day(1, t(20))),
    ("завтра в 9 часов", on_day(1, t(9))),
    ("на завтра в 10", on_day(1, t(10))),
    ("послезавтра", on_day(2, t(9))),
    ("послезавтра в 10", on_day(2, t(10))),
    ("послезавтра в 5 вечера", on_day(2, t(17))),
    # clock times
    ("в 9", next_clock(t(9))),
    ("в 9:00", next_clock(t(9))),
    ("в 8 утра", next_clock(t(8))),
    ("в 11 утра", next_clock(t(11))),
    ("в 8 вечера", next_clock(t(20))),
    ("в 21:00", next_clock(t(21))),
    ("в 23:45", next_clock(t(23, 45))),
    ("в 7:45", next_clock(t(7, 45))),
    ("в 10.30", next_clock(t(10, 30))),
    ("в 12", next_clock(t(12))),
    ("в полдень", next_clock(t(12))),
    ("в полночь", next_clock(t(0))),
    ("в 00:15", next_clock(t(0, 15))),
    ("в 02:30", next_clock(t(2, 30))),
    ("в 2 ночи", next_clock(t(2))),
    ("в 1:30 ночи", next_clock(t(1, 30))),
    ("в 11 вечера", next_clock(t(23))),
    ("в 3 часа дня", next_clock(t(15))),
    ("в 1 дня", next_clock(t(13))),
    ("к 10", next_clock(t(10))),
    ("к 18:00", next_clock(t(18))),
    ("в 9 часов", next_clock(t(9))),
    # parts of the day
    ("утром", next_clock(t(9))),
    ("днем", next_clock(t(15))),
    ("вечером", next_clock(t(19))),
    ("ночью", next_clock(t(22))),
    ("вечером в 8", next_clock(t(20))),
    ("сегодня вечером", on_day(0, t(19))),
    ("сегодня в 8 вечера", on_day(0, t(20))),
    ("сегодня вечером в 11", on_day(0, t(23))),
    ("сегодня в 23:45", on_day(0, t(23, 45))),
    ("сегодня в 13:00", on_day(0, t(13))),
    ("сегодня утром", on_day(0, t(9))),
    ("сегодня днем", on_day(0, t(15))),
    ("сегодня", on_day(0, t(9))),
    # as models write them
    ("завтра 9:00", on_day(1, t(9))),
    ("завтра в 09:00", on_day(1, t(9))),
    ("сегодня 18:00", on_day(0, t(18))),
    ("21:30", next_clock(t(21, 30))),
    ("15 января 2026 в 9:00", on_date(1, 15, t(9), 2026)),
    ("четверг, 15 января 2026 года, 9:00", checked(on_date(1, 15, t(9), 2026), 3)),
    ("15.01.2026 10:00", on_date(1, 15, t(10), 2026)),
    ("в 9 часов утра", next_clock(t(9))),
    ("завтра 10", on_day(1, t(10))),
    ("в пятницу 18", weekday(4, t(18))),
    ("вечером 9", next_clock(t(21))),
    ("завтра 4", refused),
    # weekdays
    ("в пятницу", weekday(4, None)),
    ("пятница", weekday(4, None)),
    ("в пятницу в 10", weekday(4, t(10))),
    ("в пятницу в 5 вечера", weekday(4, t(17))),
    ("в понедельник в 9 утра", weekday(0, t(9))),
    ("в понедельник утром", weekday(0, t(9))),
    ("в воскресенье в 10:30", weekday(6, t(10, 30))),
    ("в субботу вечером", weekday(5, t(19))),
    ("в среду в полдень", weekday(2, t(12))),
    ("во вторник в 18:00", weekday(1, t(18))),
    ("в четверг в 7 вечера", weekday(3, t(19))),
    ("в следующий понедельник в 15:00", weekday(0, t(15), "next")),
    ("в следующую пятницу", weekday(4, None, "next")),
    ("в следующее воскресенье в 9", weekday(6, t(9), "next")),
    ("в эту субботу в полдень", weekday(5, t(12), "this")),
    ("в это воскресенье", weekday(6, None, "this")),
    ("в эту пятницу в 8 вечера", weekday(4, t(20), "this")),
    # dates
    ("5 марта", on_date(3, 5, None)),
    ("5 марта в 9", on_date(3, 5, t(9))),
    ("5-го марта в 10 утра", on_date(3, 5, t(10))),
    ("1 января", on_date(1, 1, None)),
    ("1 января в 0:00", on_date(1, 1, t(0))),
    ("31 декабря в 23:59", on_date(12, 31, t(23, 59))),
    ("25 декабря в 8 утра", on_date(12, 25, t(8))),
    ("14 февраля в 19:00", on_date(2, 14, t(19))),
    ("29 февраля", on_date(2, 29, None)),
    ("9 марта в 02:30", on_date(3, 9, t(2, 30))),
    ("30 марта в 02:30", on_date(3, 30, t(2, 30))),
    ("2 ноября в 01:30", on_date(11, 2, t(1, 30))),
    ("1 июня 2026 года в 10", on_date(6, 1, t(10), 2026)),
    ("25.12", on_date(12, 25, None)),
    ("25.12 в 21:00", on_date(12, 25, t(21))),
    ("05.03", on_date(3, 5, None)),
    ("01.06.2026 в 10:00", on_date(6, 1, t(10), 2026)),
    ("1-го числа", on_month_day(1, None)),
    ("15-го в 10", on_month_day(15, t(10))),
    ("28 числа в 18:00", on_month_day(28, t(18))),
    # refused
    ("фиолетовые слоны", refused),
    ("как-нибудь", refused),
    ("позже", refused),
    ("скоро", refused),
    ("на следующей неделе", refused),
    ("на выходных", refused),
    ("в 3", refused),
    ("завтра в 5", refused),
    ("в 4:30", refused),
    ("завтра в полночь", refused),
    ("завтра в 2 ночи", refused),
    ("через 2 часа в 10", refused),
    ("вчера", refused),
    ("вчера в 9", refused),
    ("в прошлую пятницу", refused),
    ("31.02", refused),
    ("в 25:00", refused),
    ("в 13 вечера", refused),
    ("когда приду домой", refused),
    ("утром в 8 вечера", refused),
    ("завтра в 9 или в 10", refused),
    ("в пятницу или субботу", refused),
    ("через несколько минут", refused),
    ("после обеда", refused),
    ("завтра, в субботу", checked(on_day(1, t(9)), 5)),
    ("завтра, в пятницу", checked(on_day(1, t(9)), 4)),
    ("завтра (в субботу) в 10", checked(on_day(1, t(10)), 5)),
    ("в пятницу, 13 июня, в 10", checked(on_date(6, 13, t(10)), 4)),
    ("суббота, 1 февраля 2025 в 9:00", checked(on_date(2, 1, t(9), 2025), 5)),
    ("через 2 дня в пятницу", refused),
    ("в 12 утра", refused),
    # полночь, которой кончается сегодня
    ("сегодня в полночь", on_day(1, t(0))),
    ("в полночь сегодня", on_day(1, t(0))),
    ("сегодня ночью в полночь", refused),
    ("послезавтра в полночь", refused),
    # время словами (утренний час с 1 до 6 спрашиваем, как "в 3")
    ("без четверти девять", next_clock(t(8, 45))),
    ("в полдевятого", next_clock(t(8, 30))),
    ("полдевятого вечера", next_clock(t(20, 30))),
    ("четверть пятого", refused),
    ("в четверть пятого дня", next_clock(t(16, 15))),
    ("завтра в половине одиннадцатого", on_day(1, t(10, 30))),
    ("без пяти десять", next_clock(t(9, 55))),
    ("в пол-двенадцатого ночи", next_clock(t(23, 30))),
    ("без четверти час", next_clock(t(12, 45))),
    ("в пятницу без десяти восемь вечера", weekday(4, t(19, 50))),
    # промежутки словами
    ("через неделю в это же время", days_later(7)),
    ("в это же время через неделю", days_later(7)),
    ("через две недели в это же время", days_later(14)),
    ("завтра в это же время", days_later(1)),
    ("послезавтра в то же время", days_later(2)),
    ("в среду на следующей неделе", next_week_day(2, None, english=False)),
    ("на следующей неделе в понедельник в 9:30", next_week_day(0, t(9, 30), english=False)),
    ("в пятницу на следующей неделе в 5 вечера", next_week_day(4, t(17), english=False)),
    ("в воскресенье на следующей неделе", next_week_day(6, None, english=False)),
    ("в это же время", refused),
    ("в следующую среду на следующей неделе", refused),
    ("через неделю в это же время в 10", refused),
    ("через 2 часа в это же время", refused),
    # день в месяце (конец месяца - его последний день, в 9:00, если время не названо)
    ("в конце месяца", in_month("end", "", None)),
    ("в конце месяца в 18:00", in_month("end", "", t(18))),
    ("в конце следующего месяца", in_month("end", "next", None)),
    ("в последний день этого месяца в 5 вечера", in_month("end", "this", t(17))),
    ("в первый понедельник следующего месяца", in_month("first", "next", None, 0)),
    ("в первый понедельник месяца в 10 утра", in_month("first", "", t(10), 0)),
    ("в последнюю пятницу месяца", in_month("last", "", None, 4)),
    ("в последнюю пятницу этого месяца в 16:00", in_month("last", "this", t(16), 4)),
    ("во второй вторник следующего месяца в 9:30", in_month("second", "next", t(9, 30), 1)),
    ("1-го числа следующего месяца", in_month(1, "next", None)),
    ("в следующем месяце 15-го в 10", in_month(15, "next", t(10))),
    ("31-го следующего месяца", in_month(31, "next", None)),
    ("28 числа этого месяца", in_month(28, "this", None)),
    ("первого числа следующего месяца в 10", in_month(1, "next", t(10))),
    ("15-го числа этого месяца в 12:00", in_month(15, "this", t(12))),
    ("к концу месяца", in_month("end", "", None)),
    ("в последний понедельник месяца в 3", refused),
    ("в следующем месяце", refused),
    ("завтра в конце месяца", refused),
]

ISO: list[tuple[str, Rule]] = (
    [
        (text, iso(text))
        for text in (
            "2026-01-15T10:00",
            "2026-01-15T10:00:00",
            "2026-01-15 10:00",
            "2026-01-15T10:00Z",
            "2026-01-15T10:00:00+09:00",
            "2026-01-15T10:00-05:00",
            "2026-01-15",
            "2025-06-11T09:00",
            "2025-03-09T03:00",
            "2025-11-02T01:30",
            "2025-10-26T02:30",
            "2025-03-30T03:30",
            "2026-03-08T02:30",
            "2024-01-01T09:00",
        )
    ]
    + [
        ("PT20M", after(20 * M)),
        ("PT1H30M", after(90 * M)),
        ("P1DT2H", after(26 * H)),
    ]
    + [("2025-03-09T02:30", iso("2025-03-09T02:30")), ("2026-02-30T10:00", refused)]
)


def expected(rule: Rule, now_id: str) -> str:
    zone_name, text = NOWS[now_id]
    tz = ZoneInfo(zone_name)
    now = datetime.fromisoformat(text).replace(tzinfo=tz)
    found = rule(now)
    if found == REFUSED:
        return REFUSED
    assert isinstance(found, datetime)
    if found > now + timedelta(days=5 * 366):
        return REFUSED
    return found.isoformat(timespec="seconds")


def document() -> dict[str, object]:
    phrases = [
        {"phrase": phrase, "language": language, "expected": {n: expected(rule, n) for n in NOWS}}
        for language, family in (("en", EN), ("ru", RU), ("iso", ISO))
        for phrase, rule in family
    ]
    return {
        "about": (
            "Time phrases and the moment each resolves to (local ISO with offset) at each "
            "fixed now, or 'refused' (the resolver asks the user). Written by "
            "assistant/tests/time_phrase_rules.py; read by assistant/tests/test_time_phrases.py."
        ),
        "nows": {n: {"timezone": z, "now": t} for n, (z, t) in NOWS.items()},
        "phrases": phrases,
    }


if __name__ == "__main__":
    target = Path(__file__).parent / "data" / "time_phrases.json"
    target.write_text(json.dumps(document(), ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"{target}: {len(EN)} English, {len(RU)} Russian, {len(ISO)} ISO phrases")
