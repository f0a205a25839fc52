"""When a phrase means: an ISO 8601 date-time, or words in English or Russian, resolved in the
user's zone relative to a given `now`.

Deterministic and strict on purpose. Every word of the phrase must be understood; anything
left over, or a phrase that could mean two moments, raises `UnclearTime`, phrased as a
question the model passes on to the user. A wrong reminder confirmed as done is worse than a
question. The defaults (documented in docs/decisions/0017-strict-time-phrases.md):

* a part of the day without a clock time: morning 09:00, noon 12:00, afternoon 15:00,
  evening 19:00, tonight 20:00, night 22:00; a day without a time (a weekday, a date,
  "tomorrow"): 09:00, and `Resolved.all_day` says no time was named;
* "at 9" is the next 09:00 from now; hours 1 to 6 with no am/pm, part of the day or
  leading zero are asked about (03:00 or 15:00?);
* a weekday is the coming one; on that very weekday, while its time is still ahead, it is
  asked about (today or in a week?); "next Friday" is asked about when the coming Friday
  is still in this week;
* a date without a year is its next occurrence; a local time skipped by a DST change is
  asked about; one repeated by a DST change is its first occurrence;
* "tonight at midnight", "сегодня в полночь" are the 00:00 that ends today ("tomorrow at
  midnight" is asked about); a clock time in words is read as its digits ("quarter past
  four" as "at 4:15", "полдевятого" as "в 8:30");
* "the end of the month" is its last day, a day without a time (09:00); a day picked in
  "the month" without "this" or "next" is this month's if still today or later, else next
  month's; "Wednesday of next week" is in the Monday-to-Sunday week after this one (asked
  about in English on a Sunday, where a Sunday-to-Saturday week differs).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from assistant.src.tools.base import ToolError
from common.features.timezones import (
    TimezoneError,
    known_zone,
    zone_from_city,
    zone_from_moscow,
    zone_from_name,
    zone_from_offset,
)
from common.infrastructure.clock import utcnow

#: Times of a part of the day named without a clock time.
PART_DEFAULTS: dict[str, time] = {
    "morning": time(9),
    "afternoon": time(15),
    "evening": time(19),
    "tonight": time(20),
    "night": time(22),
}
#: 24-hour clock times that fit a part of the day ("this evening at 20:00").
_PART_HOURS: dict[str, range] = {
    "morning": range(0, 12),
    "afternoon": range(12, 19),
    "evening": range(17, 24),
    "tonight": range(17, 24),
    "night": range(21, 24),
}
#: The time given to a day named without a time of day.
DAY_DEFAULT = time(9)
#: A moment this little in the past is now: the model's clock (the prompt's HH:MM) lags.
JUST_PASSED = timedelta(minutes=2)
#: How far ahead a phrase may point.
MAX_AHEAD = timedelta(days=5 * 366)


_Day = TypeVar("_Day", date, datetime)


class UnclearTime(ToolError):
    """The phrase cannot be resolved to one moment; the message is a question for the user."""

    def __init__(self, question: str) -> None:
        super().__init__(f"Do not guess; ask the user: {question}")


@dataclass(frozen=True)
class Resolved:
    """A moment in the user's zone; `all_day` when the phrase named a day but no time."""

    at: datetime
    all_day: bool = False


def zone(name: str) -> ZoneInfo:
    """An IANA name, or what `common.features.timezones` reads without a lookup: any case, a city
    under a zone's name ("Tokyo"), an offset ("UTC+3"), "МСК+2"."""
    exact = known_zone(name)
    if exact is not None:
        return exact
    try:
        found = zone_from_name(name) or zone_from_offset(name) or zone_from_moscow(name)
        city = None if found else zone_from_city(name)
    except TimezoneError as exc:
        raise ToolError(f"timezone {name!r}: {exc}") from exc
    if found is not None:
        return ZoneInfo(found.name)
    if city is None:
        raise ToolError(
            f"unknown timezone {name!r}: use an IANA name like Europe/Berlin, a big city like "
            "Tokyo, or an offset like UTC+3"
        )
    return ZoneInfo(city)


def local(moment: datetime) -> str:
    """A moment as a confirmation names it: weekday, date, HH:MM, zone and offset."""
    offset = moment.strftime("%z")
    return f"{moment:%A %d %B %Y, %H:%M} ({moment.tzinfo}, UTC{offset[:3]}:{offset[3:]})"


def resolve(phrase: str, tz: ZoneInfo, now: datetime, *, future: bool = True) -> Resolved:
    """The moment `phrase` names, in `tz`. With `future`, a moment before `now` is refused
    (asked about); without, a clock time with no day is today's (for ranges and conversion)."""
    now = now.astimezone(tz).replace(microsecond=0)
    text = _normalize(phrase)
    if not text:
        raise UnclearTime("when exactly? (no time was given)")
    result = _iso(text, tz) or _Phrase(phrase, text, tz, now, future).resolve()
    # In UTC: two datetimes of one zone compare (and subtract) by their wall clocks, which
    # puts the first 01:45 of a night the clocks go back after its second 01:10.
    at, now_utc = result.at.astimezone(UTC), now.astimezone(UTC)
    if future and now_utc - JUST_PASSED <= at < now_utc:
        return Resolved(now)  # the model worked it out from a clock that has moved on since
    if future and at < now_utc:
        raise UnclearTime(
            f"{phrase!r} is {local(result.at)}, which has already passed (it is now "
            f"{now:%A %d %B %Y, %H:%M}). Which future day and time?"
        )
    if at - now_utc > MAX_AHEAD:
        raise UnclearTime(f"{phrase!r} is more than five years ahead: which date is meant?")
    return result


def resolve_moment(phrase: str, tz: ZoneInfo, now: datetime) -> datetime:
    """The future moment a phrase names (reminders)."""
    return resolve(phrase, tz, now, future=True).at


# -- normalising and ISO ----------------------------------------------------------------------

_PUNCTUATION = re.compile(r"[;!?«»\"“”()]+|,(?![0-9])|\.(?=\s|$)")


def _normalize(phrase: str) -> str:
    text = phrase.lower().replace("ё", "е").replace("a.m.", "am").replace("p.m.", "pm")
    text = text.replace("o'clock", "").replace("o’clock", "").replace("–", "-")
    return " ".join(_PUNCTUATION.sub(" ", text).split())


_ISO_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([t ][0-9:.,]+(z|[+-][0-9:]+)?)?$")


def _iso(text: str, tz: ZoneInfo) -> Resolved | None:
    """An ISO 8601 date-time (a naive one is the user's local time); a date alone is 09:00."""
    if not _ISO_SHAPE.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise UnclearTime(f"{text!r} is not a valid date and time: which one is meant?") from exc
    if moment.tzinfo is not None:
        try:
            return Resolved(moment.astimezone(tz))
        except (OverflowError, ValueError) as exc:
            raise UnclearTime(f"{text!r} is out of range: which date is meant?") from exc
    if len(text) == 10:
        return Resolved(_wall(moment.date(), DAY_DEFAULT, tz, text), all_day=True)
    return Resolved(_wall(moment.date(), moment.time(), tz, text))


def _wall(day: date, clock: time, tz: ZoneInfo, phrase: str) -> datetime:
    """`day` at `clock` on the wall clock of `tz`; a time skipped by a DST change is asked
    about, a repeated one is its first occurrence."""
    moment = datetime.combine(day, clock, tzinfo=tz)
    try:
        back = moment.astimezone(UTC).astimezone(tz)
    except (OverflowError, ValueError) as exc:
        raise UnclearTime(f"{phrase!r} is out of range: which date is meant?") from exc
    if back.replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise UnclearTime(
            f"{phrase!r}: {clock:%H:%M} does not exist on {day:%d %B %Y} in {tz} (the clocks "
            "skip it that night). Which time is meant instead?"
        )
    return moment


# -- words ------------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50,
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4,
    "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "одиннадцать": 11, "двенадцать": 12, "пятнадцать": 15, "двадцать": 20,
    "тридцать": 30, "сорок": 40, "пятьдесят": 50, "пару": 2, "couple of": 2, "a couple of": 2,
}  # fmt: skip
_NUMBER = (
    r"(?:[0-9]{1,4}(?:[.,][0-9])?|"
    + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))
    + ")"
)
_UNITS: tuple[tuple[str, str], ...] = (
    ("seconds", r"seconds?|secs?|секунд[уы]?|сек"),
    ("minutes", r"minutes?|mins?|минут[уы]?|мин"),
    ("hours", r"hours?|hrs?|h|час(?:а|ов)?|ч"),
    ("days", r"days?|дн(?:я|ей)|день|сутки|суток"),
    ("weeks", r"weeks?|недел[юиь]|недель"),
    ("fortnights", r"fortnights?"),
    ("months", r"months?|месяц(?:а|ев)?"),
    ("years", r"years?|год(?:а)?|лет"),
)
_UNIT = "|".join(f"(?P<{name}>{pattern})" for name, pattern in _UNITS)
_HALF_HOUR = re.compile(r"\b(?:in |через )?(?:half an hour|a half hour|half hour|полчаса)\b")
_HOUR_AND_HALF = re.compile(
    r"\b(?:in |через )?(?:an hour and a half|one and a half hours?|1\.5 hours?|полтора часа|"
    r"1,5 часа)\b"
)
_DURATION_PART = re.compile(rf"\b(?P<n>{_NUMBER})?\s*(?:{_UNIT})\b")
_RELATIVE = re.compile(
    rf"\b(?P<lead>in|через|after|спустя)\s+(?P<body>(?:(?:{_NUMBER})?\s*(?:{_UNIT})\b"
    rf"(?:\s+(?:and|и))?\s*)+)(?P<half>(?:and )?a half|с половиной)?"
    r"|(?P<body2>(?:[0-9]{1,4}\s*(?:" + _UNIT.replace("?P<", "?P<x_") + r")\s*)+)"
    r"\s*(?:from now|later|спустя)\b"
)
_FROM_TODAY = re.compile(
    rf"\b(?P<body>(?:{_NUMBER}\s*)?(?:{_UNIT.replace('?P<', '?P<z_')}))\s+from\s+(?:today|now)\b"
)
#: "the same time", "в это же время": the clock time of now, on the day named beside it.
_SAME_TIME = re.compile(
    r"\b(?:at\s+)?(?:the\s+)?same\s+time\b|\b(?:в\s+)?(?:это|то)\s+же\s+(?:самое\s+)?время\b"
)
#: "Wednesday of next week", "в среду на следующей неделе".
_NEXT_WEEK = re.compile(r"\b(?:(?:of|on)\s+)?next\s+week\b|\b(?:на\s+)?следующей\s+неделе\b")
#: A whole phrase that is only a duration ("20 minutes", "10 минут"): from now, as `when`.
_DURATION_ONLY = re.compile(
    rf"^(?:[0-9]{{1,4}}(?:[.,][0-9])?\s*(?:{_UNIT.replace('?P<', '?P<y_')})\s*(?:and\s+|и\s+)?)+$"
)
#: An ISO 8601 duration ("PT20M", "P1DT2H"), as some models write a delay.
_ISO_DURATION = re.compile(
    r"^p(?:(?P<days>[0-9]{1,4})d)?(?:t(?:(?P<hours>[0-9]{1,4})h)?(?:(?P<minutes>[0-9]{1,5})m)?"
    r"(?:(?P<seconds>[0-9]{1,6})s)?)?$"
)

WEEKDAY_NAMES: tuple[tuple[int, str], ...] = (  # date.weekday(): 0 = Monday
    (0, r"mondays?|mon|понедельник\w*"),
    (1, r"tuesdays?|tue|tues|вторник\w*"),
    (2, r"wednesdays?|wed|сред[ауые]\w*"),
    (3, r"thursdays?|thu|thurs|четверг\w*"),
    (4, r"fridays?|fri|пятниц[аеуы]\w*"),
    (5, r"saturdays?|sat|суббот[аеуы]\w*"),
    (6, r"sundays?|sun|воскресень[еяю]\w*"),
)
MONTH_NAMES: tuple[tuple[int, str], ...] = (
    (1, r"january|jan|январ[ья]\w*"),
    (2, r"february|feb|феврал[ья]\w*"),
    (3, r"march|mar|марта?\w*"),
    (4, r"april|apr|апрел[ья]\w*"),
    (5, r"may|ма[яй]"),
    (6, r"june|jun|июн[ья]"),
    (7, r"july|jul|июл[ья]"),
    (8, r"august|aug|августа?"),
    (9, r"september|sept|sep|сентябр[ья]"),
    (10, r"october|oct|октябр[ья]"),
    (11, r"november|nov|ноябр[ья]"),
    (12, r"december|dec|декабр[ья]"),
)
_WEEKDAY = "|".join(f"(?P<wd{n}>{p})" for n, p in WEEKDAY_NAMES)
_MONTH = "|".join(f"(?P<mo{n}>{p})" for n, p in MONTH_NAMES)
_ORD = r"(?:st|nd|rd|th|-?го|-?е|-?ое)?"

_ORDINALS: dict[str, int] = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "last": -1,
}  # fmt: skip
_RU_ORDINALS = ((r"перв\w*", 1), (r"втор(?:ой|ую|ое)", 2), (r"трет(?:ий|ью|ье)", 3),
                (r"четверт(?:ый|ую|ое)", 4), (r"последн\w*", -1))  # fmt: skip
_WEEKDAY_M = _WEEKDAY.replace("?P<wd", "?P<mw")
_MONTH_REF_EN = r"(?P<ref>(?:(?:the|this|next)\s+)?month)"
_MONTH_REF_RU = r"(?P<ref>(?:(?:этого|текущего|следующего)\s+)?месяца)"
#: "the last Friday of the month", "в первый понедельник следующего месяца".
_NTH_WEEKDAY = re.compile(
    rf"\b(?:on\s+)?(?:the\s+)?(?P<ord>{'|'.join(_ORDINALS)})\s+(?:{_WEEKDAY_M})\s+"
    rf"(?:of|in)\s+{_MONTH_REF_EN}\b"
    r"|\b(?:(?:в|во)\s+)?(?P<ru_ord>"
    + "|".join(f"(?P<ro{n if n > 0 else 0}>{p})" for p, n in _RU_ORDINALS)
    + rf")\s+(?:{_WEEKDAY_M.replace('?P<mw', '?P<rw')})\s+"
    + _MONTH_REF_RU.replace("?P<ref>", "?P<ru_ref>")
    + r"\b"
)
#: "the end of the month", "the last day of next month", "в конце месяца".
_MONTH_END = re.compile(
    rf"\b(?:(?:at|on|by)\s+)?(?:the\s+)?(?:end|last\s+day)\s+of\s+{_MONTH_REF_EN}\b"
    r"|\b(?:(?:в|к)\s+)?(?:конц[еау]|последний\s+день)\s+"
    + _MONTH_REF_RU.replace("?P<ref>", "?P<ru_ref>")
    + r"\b"
)
#: "the first of next month", "первого числа следующего месяца": day 1.
_FIRST_OF = re.compile(
    rf"\b(?:on\s+)?the\s+first\s+of\s+{_MONTH_REF_EN}\b"
    r"|\b(?:с\s+)?первого(?:\s+числа)?\s+" + _MONTH_REF_RU.replace("?P<ref>", "?P<ru_ref>") + r"\b"
)
#: "next month" beside a day of the month ("next month on the 1st", "1-го следующего месяца").
_MONTH_REF = re.compile(
    r"\b(?:(?:of|in)\s+)?(?:the\s+)?(?P<ref>this|next)\s+month\b|\b(?:of|in)\s+the\s+month\b"
    r"|\b(?:в\s+)?(?P<ru>этом|текущем|следующем)\s+месяце\b"
    r"|\b(?P<ru2>этого|текущего|следующего)\s+месяца\b"
)
_DAY_WORDS: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), offset)
    for pattern, offset in (
        (r"(?:the )?day after tomorrow|послезавтра", 2),
        (r"tomorrow|tmrw|tmr|завтра", 1),
        (r"today|сегодня", 0),
    )
)
_WEEKDAY_PHRASE = re.compile(
    rf"\b(?:(?:on|в|во)\s+)?(?P<mod>next|this|coming|следующ\w*|эт\w*|ближайш\w*)?\s*"
    rf"(?:{_WEEKDAY})\b"
)
_DATE_DAY_MONTH = re.compile(
    rf"\b(?:on\s+)?(?:the\s+)?(?P<d>[0-9]{{1,2}}){_ORD}\s+(?:of\s+)?(?:{_MONTH})\b"
    rf"(?:\s+(?P<y>[0-9]{{4}})(?:\s*(?:года|г))?)?"
)
_DATE_MONTH_DAY = re.compile(
    rf"\b(?:on\s+)?(?:{_MONTH})\s+(?:the\s+)?(?P<d>[0-9]{{1,2}}){_ORD}\b(?:\s+(?P<y>[0-9]{{4}}))?"
)
_DATE_DOTTED = re.compile(r"\b(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})(?:\.(?P<y>[0-9]{2,4}))?\b")
_DATE_SLASHED = re.compile(r"\b(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})(?:/(?P<y>[0-9]{2,4}))?\b")
_MONTH_DAY_ONLY = re.compile(
    r"\b(?:on\s+)?the\s+(?P<d>[0-9]{1,2})(?:st|nd|rd|th)\b|\b(?P<d2>[0-9]{1,2})-?го(?:\s+числа)?\b"
    r"|\b(?P<d3>[0-9]{1,2})\s+числа\b"
)

_PARTS: tuple[tuple[str, re.Pattern[str], int], ...] = tuple(  # (part, pattern, day offset meant)
    (part, re.compile(rf"\b(?:{pattern})\b"), offset)
    for part, pattern, offset in (
        ("tonight", r"tonight|tonite", 0),
        ("morning", r"this morning", 0),
        ("afternoon", r"this afternoon", 0),
        ("evening", r"this evening", 0),
        ("morning", r"(?:in the )?morning|утром|с утра|утро", -1),
        ("afternoon", r"(?:in the )?afternoon|днем", -1),
        ("evening", r"(?:in the )?evening|вечером|вечер", -1),
        ("night", r"at night|(?:in the )?night|ночью", -1),
    )
)
_NAMED_TIMES = re.compile(
    r"\b(?:at |в |к )?(?P<noon>noon|midday|полдень|полудню)\b"
    r"|\b(?:at |в |к )?(?P<mid>midnight|полночь|полуночи)\b"
)
_SUFFIX = r"am|pm|утра|дня|вечера|ночи"
_CLOCK = re.compile(
    r"\b(?:(?P<lead>at|в|во|к|by|до)\s+)?"
    r"(?P<h>[0-9]{1,2})(?:(?P<sep>[:.])(?P<m>[0-9]{2}))?\s*"
    r"(?:час(?:а|ов)?\s*)?(?P<suffix>" + _SUFFIX + r")?(?![0-9:./])"
    r"(?:\s*(?:час(?:а|ов)?))?"
)
_LONE_HOUR = re.compile(r"([0-9]{1,2})")


def _alternatives(words: dict[str, int]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_EN_HOURS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_EN_MINUTES = {"five": 5, "ten": 10, "twenty": 20, "twenty-five": 25, "twenty five": 25}
_EN_HOUR = r"(?:1[0-2]|[1-9]|" + "|".join(_EN_HOURS) + ")"
_HALF_PAST = re.compile(
    r"\b(?:at\s+)?(?:(?:a\s+)?(?P<kind>half past|quarter past|quarter to)|"
    rf"(?P<n>[0-9]{{1,2}}|{_alternatives(_EN_MINUTES)})\s+(?:minutes?\s+)?"
    rf"(?P<dir>past|to))\s+(?P<h>{_EN_HOUR})\b"
    r"(?:\s*(?P<suffix>am|pm))?\b"
)
_RU_HOURS = {
    "час": 1, "один": 1, "два": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
    "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11, "двенадцать": 12,
    **{str(n): n for n in range(1, 13)},
}  # fmt: skip
#: "пятого" is the fifth hour, the one from 04:00 to 05:00.
_RU_ORDINAL_HOURS = {
    "первого": 1, "второго": 2, "третьего": 3, "четвертого": 4, "пятого": 5, "шестого": 6,
    "седьмого": 7, "восьмого": 8, "девятого": 9, "десятого": 10, "одиннадцатого": 11,
    "двенадцатого": 12,
}  # fmt: skip
_RU_MINUTES_BEFORE = {
    "четверти": 15, "пяти": 5, "десяти": 10, "пятнадцати": 15, "двадцати": 20,
    "двадцати пяти": 25, **{str(n): n for n in range(1, 30)},
}  # fmt: skip
_RU_MINUTES = {
    "пять": 5, "десять": 10, "пятнадцать": 15, "двадцать": 20, "двадцать пять": 25,
    **{str(n): n for n in range(1, 60)},
}  # fmt: skip
_RU_SUFFIX = r"(?:\s+(?P<suffix>утра|дня|вечера|ночи))?"


_RU_BEFORE = re.compile(
    rf"\bбез\s+(?P<n>{_alternatives(_RU_MINUTES_BEFORE)})(?:\s+минут[ы]?)?\s+"
    rf"(?P<h>{_alternatives(_RU_HOURS)})\b(?:\s+час(?:а|ов)?\b)?{_RU_SUFFIX}\b"
)
_RU_INTO = re.compile(
    r"\b(?:(?P<half>пол-?\s*|половин[аеу]\s+)|(?P<quarter>четверть\s+)|"
    rf"(?P<n>{_alternatives(_RU_MINUTES)})\s+минут[ау]?\s+)"
    rf"(?P<h>{_alternatives(_RU_ORDINAL_HOURS)})\b{_RU_SUFFIX}\b"
)
_FILLER = re.compile(
    r"\b(?:on|at|in|the|of|by|и|and|в|во|на|к|please|пожалуйста|remind me|напомни)\b"
)
_NOW = re.compile(r"^(?:now|right now|right away|immediately|сейчас|прямо сейчас|немедленно)$")


@dataclass
class _Parts:
    relative: timedelta | None = None
    wall: dict[str, int] | None = None
    day: date | None = None
    weekday: tuple[int, str] | None = None
    month_date: tuple[int | None, int, int] | None = None  # (year, month, day)
    month_day: int | None = None
    part: str | None = None
    part_today: bool = False
    clock: tuple[int, int] | None = None
    suffix: str | None = None
    explicit_24h: bool = False
    #: A weekday named beside a date, which must be that date's weekday.
    weekday_check: int | None = None
    #: "the same time": now's clock time on the day named.
    same_time: bool = False
    #: A day picked in a month: ("end", 0) or ("weekday", n) for the n-th (-1: last) weekday.
    month_pick: tuple[str, int, int] | None = None
    #: Which month: "this", "next", or "" for the next one in which the day is still ahead.
    month_ref: str | None = None
    #: "next week", and whether it was said in Russian (a week that starts on Monday).
    next_week: str | None = None


class _Phrase:
    """One phrase being read: each recognised piece is cut out of `rest`."""

    def __init__(self, phrase: str, text: str, tz: ZoneInfo, now: datetime, future: bool):
        self.phrase, self.rest, self.tz, self.now, self.future = phrase, text, tz, now, future
        self.parts = _Parts()

    def resolve(self) -> Resolved:
        if _NOW.match(self.rest):
            return Resolved(self.now.replace(microsecond=0))
        for read in self._readers():
            read()
        leftover = " ".join(_FILLER.sub(" ", self.rest).split())
        if leftover:
            raise UnclearTime(
                f"I could not read {self.phrase!r} as a time (not understood: {leftover!r}). "
                "When exactly? e.g. 'tomorrow at 09:00' or a date and time"
            )
        return self._combine()

    def _readers(self) -> list[Callable[[], None]]:
        return [
            self._read_month_relative,
            self._read_same_time,
            self._read_relative,
            self._read_day_words,
            self._read_parts,
            self._read_dates,
            self._read_weekday,
            self._read_named_times,
            self._read_clock,
        ]

    def _cut(self, match: re.Match[str]) -> None:
        self.rest = self.rest[: match.start()] + " " + self.rest[match.end() :]

    def _ask(self, question: str) -> UnclearTime:
        return UnclearTime(f"{self.phrase!r}: {question}")

    # -- readers ----------------------------------------------------------------------------

    def _read_month_relative(self) -> None:
        match = _FIRST_OF.search(self.rest)
        if match:
            ref = match["ref"] or match["ru_ref"] or ""
            self._cut(match)
            self._claim_day()
            self.parts.month_day = 1
        elif match := _NTH_WEEKDAY.search(self.rest) or _MONTH_END.search(self.rest):
            ref = match["ref"] or match["ru_ref"] or ""
            if "ord" in match.re.groupindex and (match["ord"] or match["ru_ord"]):
                if match["ord"]:
                    nth = _ORDINALS[match["ord"]]
                    number = next(n for n, _ in WEEKDAY_NAMES if match.group(f"mw{n}"))
                else:
                    nth = next(n for _, n in _RU_ORDINALS if match.group(f"ro{max(n, 0)}"))
                    number = next(n for n, _ in WEEKDAY_NAMES if match.group(f"rw{n}"))
                self.parts.month_pick = ("weekday", nth, number)
            else:
                self.parts.month_pick = ("end", 0, 0)
            self._cut(match)
        else:
            match = _MONTH_REF.search(self.rest)
            if match is None:
                return
            ref = match["ref"] or match["ru"] or match["ru2"] or ""
            self._cut(match)
        self.parts.month_ref = (
            "next" if "next" in ref or "следующ" in ref
            else "this" if "this" in ref or "этого" in ref or "этом" in ref or "текущ" in ref
            else ""
        )  # fmt: skip

    def _read_same_time(self) -> None:
        match = _SAME_TIME.search(self.rest)
        if match:
            self._cut(match)
            self.parts.same_time = True
        match = _NEXT_WEEK.search(self.rest)
        if match:
            self._cut(match)
            self.parts.next_week = "ru" if "недел" in match[0] else "en"

    def _read_relative(self) -> None:
        iso = _ISO_DURATION.match(self.rest)
        if iso and self.rest != "p" and not self.rest.endswith("t"):
            self.rest = ""
            spans = {k: float(v) for k, v in iso.groupdict().items() if v}
            self.parts.relative = timedelta(**spans)  # an exact span, days of 24 hours
            return
        if _DURATION_ONLY.match(self.rest):
            self.rest = f"in {self.rest}"
        span = _FROM_TODAY.search(self.rest)
        if span:  # "a week from today" is "in a week"
            self.rest = f"{self.rest[: span.start()]} in {span['body']} {self.rest[span.end() :]}"
        for pattern, minutes in ((_HOUR_AND_HALF, 90), (_HALF_HOUR, 30)):
            match = pattern.search(self.rest)
            if match:
                self._cut(match)
                self._add_duration({"minutes": minutes})
        match = _RELATIVE.search(self.rest)
        if match is None:
            return
        body = match["body"] or match["body2"] or ""
        amounts: dict[str, float] = {}
        for piece in _DURATION_PART.finditer(body):
            unit = next(name for name, _ in _UNITS if piece.group(name))
            amounts[unit] = amounts.get(unit, 0.0) + _number(piece["n"])
        if match["half"]:
            biggest = next((n for n, _ in reversed(_UNITS) if n in amounts), None)
            if biggest is not None:
                amounts[biggest] += 0.5
        self._cut(match)
        if "fortnights" in amounts:  # two weeks
            amounts["weeks"] = amounts.get("weeks", 0.0) + 2 * amounts.pop("fortnights")
        self._add_duration(amounts)

    def _add_duration(self, amounts: dict[str, float]) -> None:
        wall = {k: v for k, v in amounts.items() if k in ("days", "weeks", "months", "years")}
        exact = {k: v for k, v in amounts.items() if k not in wall}
        if any(v != int(v) for v in wall.values()):
            raise self._ask("how many days exactly, and at what time?")
        if wall:
            merged = dict(self.parts.wall or {})
            for key, value in wall.items():
                merged[key] = merged.get(key, 0) + int(value)
            self.parts.wall = merged
        if exact:
            delta = timedelta(**{k: v for k, v in exact.items()})
            self.parts.relative = (self.parts.relative or timedelta()) + delta

    def _read_day_words(self) -> None:
        for pattern, offset in _DAY_WORDS:
            match = pattern.search(self.rest)
            if match:
                self._cut(match)
                self._set_day(self.now.date() + timedelta(days=offset))
                return

    def _read_parts(self) -> None:
        for part, pattern, offset in _PARTS:
            match = pattern.search(self.rest)
            if match:
                self._cut(match)
                self.parts.part = part
                if offset == 0:
                    self.parts.part_today = True
                    self._set_day(self.now.date())
                return

    def _read_dates(self) -> None:
        for pattern in (_DATE_DAY_MONTH, _DATE_MONTH_DAY):
            match = pattern.search(self.rest)
            if match:
                month = next(n for n, _ in MONTH_NAMES if match.group(f"mo{n}"))
                self._cut(match)
                self._set_month_date(_year(match["y"]), month, int(match["d"]))
                return
        match = _DATE_DOTTED.search(self.rest)
        if match and not self._is_clock_context(match):
            self._cut(match)
            self._set_month_date(_year(match["y"]), int(match["m"]), int(match["d"]))
            return
        match = _DATE_SLASHED.search(self.rest)
        if match:
            a, b = int(match["a"]), int(match["b"])
            if a <= 12 and b <= 12 and a != b:
                raise self._ask(
                    f"is {match[0]} day {a} of month {b}, or month {a} day {b}? Please say the "
                    "month by name"
                )
            day, month = (a, b) if a > 12 or a == b else (b, a)
            self._cut(match)
            self._set_month_date(_year(match["y"]), month, day)
            return
        match = _MONTH_DAY_ONLY.search(self.rest)
        if match:
            self._cut(match)
            self._claim_day()
            self.parts.month_day = int(match["d"] or match["d2"] or match["d3"])

    def _is_clock_context(self, match: re.Match[str]) -> bool:
        """After "в", "at", "к" a dotted "10.30" is a clock time, not a date."""
        before = self.rest[: match.start()].split()[-1:]
        return bool(before and before[0] in {"at", "в", "во", "к", "by"}) and match["y"] is None

    def _read_weekday(self) -> None:
        match = _WEEKDAY_PHRASE.search(self.rest)
        if match is None:
            return
        number = next(n for n, _ in WEEKDAY_NAMES if match.group(f"wd{n}"))
        mod = match["mod"] or ""
        kind = "next" if mod in {"next"} or mod.startswith("следующ") else "this" if mod else ""
        self._cut(match)
        p = self.parts
        if not kind and (p.day or p.month_date or p.month_day is not None):
            p.weekday_check = number  # "Friday, 13 June": must agree with the date
            return
        self._claim_day()
        p.weekday = (number, kind)

    def _read_named_times(self) -> None:
        match = _NAMED_TIMES.search(self.rest)
        if match:
            self._cut(match)
            self._set_clock((0, 0) if match["mid"] else (12, 0), None, explicit=True)
            p = self.parts
            tonight = p.day == self.now.date() and p.part in {None, "tonight"}
            other_day = p.weekday or p.month_date or p.wall or p.month_day is not None
            if match["mid"] and tonight and not other_day:
                # "tonight at midnight", "сегодня в полночь": the 00:00 that ends today
                p.day, p.part, p.suffix = self.now.date() + timedelta(days=1), None, "midnight"
                return
            if match["mid"] and self._has_day():
                raise self._ask("midnight at the start or at the end of that day?")
            if match["mid"]:
                self.parts.suffix = "midnight"

    def _read_clock(self) -> None:
        match = _HALF_PAST.search(self.rest)
        if match:
            hour = _hour(match["h"])
            if match["kind"] in {"half past", "quarter past"}:
                minute = {"half past": 30, "quarter past": 15}[match["kind"]]
            elif match["kind"] == "quarter to":
                hour, minute = hour - 1, 45
            else:
                minute = _EN_MINUTES.get(match["n"]) or int(match["n"])
                if not 0 < minute < 60:
                    raise self._ask(f"{match[0]!r} is not a time of day: which time is meant?")
                if match["dir"] == "to":
                    hour, minute = hour - 1, 60 - minute
            self._cut(match)
            # "quarter to one" is 12:45, as "at 12:45" is
            self._set_clock((hour or 12, minute), match["suffix"], explicit=False)
            return
        if self._read_russian_clock_words():
            return
        for match in _CLOCK.finditer(self.rest):
            if match["lead"] or match["sep"] or match["suffix"] or "час" in match[0]:
                self._cut(match)
                explicit = bool(match["sep"]) and len(match["h"]) == 2
                minute = int(match["m"]) if match["m"] else 0
                self._set_clock((int(match["h"]), minute), match["suffix"], explicit=explicit)
                return
        lone = _LONE_HOUR.fullmatch(" ".join(_FILLER.sub(" ", self.rest).split()))
        if lone and (self._has_day() or self.parts.part):
            # "tomorrow 9", "9 tonight": with a day or a part of the day, a lone number is the hour.
            self.rest = ""
            self._set_clock((int(lone[1]), 0), None, explicit=len(lone[1]) == 2)

    def _read_russian_clock_words(self) -> bool:
        """ "без четверти девять" 08:45, "полдевятого" 08:30, "четверть пятого" 04:15,
        "десять минут пятого" 04:10; the hour is read as "at 8" is (a part of the day or
        "утра", "вечера" after it names which half of the day)."""
        match = _RU_BEFORE.search(self.rest)
        if match:
            hour, minute = _RU_HOURS[match["h"]] - 1, 60 - _RU_MINUTES_BEFORE[match["n"]]
        else:
            match = _RU_INTO.search(self.rest)
            if match is None:
                return False
            into = _RU_ORDINAL_HOURS[match["h"]]
            minute = 30 if match["half"] else 15 if match["quarter"] else _RU_MINUTES[match["n"]]
            hour = into - 1
        self._cut(match)
        self._set_clock((hour or 12, minute), match["suffix"], explicit=False)
        return True

    # -- setters ----------------------------------------------------------------------------

    def _has_day(self) -> bool:
        p = self.parts
        return bool(
            p.day or p.weekday or p.month_date or p.month_day is not None or p.wall or p.month_pick
        )

    def _claim_day(self) -> None:
        if self.parts.day is not None and not self.parts.part_today:
            raise self._ask("two different days are named: which one is meant?")
        if self.parts.weekday or self.parts.month_date or self.parts.month_day is not None:
            raise self._ask("two different days are named: which one is meant?")
        if self.parts.month_pick:
            raise self._ask("two different days are named: which one is meant?")

    def _set_day(self, day: date) -> None:
        if self.parts.day is not None and self.parts.day != day:
            raise self._ask("two different days are named: which one is meant?")
        if self.parts.weekday or self.parts.month_date or self.parts.month_pick:
            raise self._ask("two different days are named: which one is meant?")
        self.parts.day = day

    def _set_month_date(self, year: int | None, month: int, day: int) -> None:
        self._claim_day()
        if not 1 <= month <= 12 or not 1 <= day <= 31:
            raise self._ask(f"there is no day {day} of month {month}: which date is meant?")
        self.parts.month_date = (year, month, day)

    def _set_clock(self, clock: tuple[int, int], suffix: str | None, *, explicit: bool) -> None:
        if self.parts.clock is not None:
            raise self._ask("two different times are named: which one is meant?")
        hour, minute = clock
        if minute > 59 or hour > 23:
            raise self._ask(f"{hour}:{minute:02d} is not a time of day: which time is meant?")
        self.parts.clock, self.parts.suffix, self.parts.explicit_24h = clock, suffix, explicit

    # -- combining --------------------------------------------------------------------------

    def _combine(self) -> Resolved:
        result = self._moment()
        named = self.parts.weekday_check
        if named is not None and result.at.weekday() != named:
            day_name = date(2024, 1, 1 + named).strftime("%A")  # 2024-01-01 was a Monday
            raise self._ask(
                f"{result.at:%d %B %Y} is a {result.at:%A}, not a {day_name}: which day is meant?"
            )
        return result

    def _moment(self) -> Resolved:
        p = self.parts
        if p.month_ref is not None:
            return self._in_month()
        if p.next_week:
            return self._in_next_week()
        if p.same_time and not self._has_day():
            raise self._ask("the same time on which day?")
        if p.wall and (p.day or p.weekday or p.month_date or p.month_day is not None):
            raise self._ask("a delay and a day are both named: which one is meant?")
        if p.relative is not None:
            if self._has_day() or p.clock or p.part or p.same_time:
                raise self._ask("a delay and a day or time are both named: which one is meant?")
            # Minutes and hours pass in real time: across a DST change the clock moves more.
            return Resolved((self.now.astimezone(UTC) + p.relative).astimezone(self.tz))
        clock = self._time_of_day()
        if p.wall:
            day = self._shift(self.now.date(), p.wall)
            if clock is None:
                moment = self._shift(self.now.replace(microsecond=0, tzinfo=None), p.wall)
                return Resolved(_wall(moment.date(), moment.time(), self.tz, self.phrase))
            return Resolved(_wall(day, clock, self.tz, self.phrase))
        if p.weekday:
            return self._on_weekday(clock)
        if p.month_date:
            return self._on_date(clock)
        if p.month_day is not None:
            return self._on_month_day(clock)
        if p.day is not None:
            if clock is None:
                return Resolved(_wall(p.day, DAY_DEFAULT, self.tz, self.phrase), all_day=True)
            return Resolved(_wall(self._late_night(p.day, clock), clock, self.tz, self.phrase))
        if clock is None:
            raise self._ask("when exactly? e.g. 'tomorrow at 09:00'")
        return Resolved(self._next_clock(clock))

    def _late_night(self, day: date, clock: time) -> date:
        """ "tonight at 1" is the small hours after today; "tomorrow at 2 at night" could be
        either side of midnight, so it is asked about."""
        if self._part not in {"tonight", "night"} or clock.hour >= 5:
            return day
        if self.parts.part == "tonight":
            return day + timedelta(days=1)
        raise self._ask(f"{clock:%H:%M} in the night into {day:%A %d %B} or into the day after?")

    @property
    def _part(self) -> str | None:
        suffix = {"утра": "morning", "дня": "afternoon", "вечера": "evening", "ночи": "night"}
        return suffix.get(self.parts.suffix or "") or self.parts.part

    def _time_of_day(self) -> time | None:
        p = self.parts
        if p.same_time:
            if p.clock is not None or p.part:
                raise self._ask("the same time and another time are both named: which one?")
            return self.now.time().replace(fold=0)
        if p.clock is None:
            return PART_DEFAULTS[p.part] if p.part else None
        hour, minute = p.clock
        if p.suffix == "midnight":
            return time(0, 0)
        if p.suffix in {"am", "pm"}:
            if not 1 <= hour <= 12:
                raise self._ask(f"{hour} {p.suffix} is not a time: which time is meant?")
            morning = p.part == "morning"
            if p.part and (p.suffix == "am") != morning and p.part != "tonight":
                raise self._ask(f"{hour} {p.suffix} and '{p.part}' disagree: which is meant?")
            return time(hour % 12 + (12 if p.suffix == "pm" else 0), minute)
        part = self._part
        if p.suffix and p.part and part != p.part and p.part != "tonight":
            raise self._ask(f"'{p.suffix}' and '{p.part}' disagree: which time is meant?")
        if part is not None and hour <= 12:
            return time(_in_part(hour, part, self._ask), minute)
        if part is not None and (p.suffix or hour not in _PART_HOURS[part]):
            raise self._ask(f"{hour}:{minute:02d} and '{part}' disagree: which time is meant?")
        if 1 <= hour <= 6 and not p.explicit_24h and part is None:
            raise self._ask(
                f"{hour}:{minute:02d} in the morning or {hour + 12}:{minute:02d} in the afternoon?"
            )
        return time(hour, minute)

    def _next_clock(self, clock: time) -> datetime:
        """The next time the clock shows `clock` (today's, without `future`)."""
        today = self.now.date()
        if self.future and datetime.combine(today, clock) < self.now.replace(tzinfo=None):
            return _wall(today + timedelta(days=1), clock, self.tz, self.phrase)
        moment = _wall(today, clock, self.tz, self.phrase)
        if self.future and moment.astimezone(UTC) < self.now.astimezone(UTC):
            # the first of a repeated hour's two times has passed: the second, still ahead
            moment = moment.replace(fold=1)
        return moment

    def _in_month(self) -> Resolved:
        """A day picked in this or next month ("the end of the month" is its last day, at
        the time given or 09:00 as any day without a time). With no "this" or "next", the
        month in which that day is still ahead (today counts, as for "on the 15th")."""
        p = self.parts
        others = p.relative or p.wall or p.day or p.weekday or p.month_date or p.next_week
        if others or p.same_time:
            raise self._ask("two different days are named: which one is meant?")
        if p.month_pick is None and p.month_day is None:
            raise self._ask("which day of the month, and at what time?")
        today = self.now.date()
        first = today.replace(day=1)
        steps = {"this": [0], "next": [1]}.get(p.month_ref or "", [0, 1])
        clock = self._time_of_day()
        for step in steps:
            if step:  # the next month, only when asked for: December 9999 has none
                try:
                    first = (first + timedelta(days=32)).replace(day=1)
                except OverflowError:
                    raise self._ask("that is too far ahead: which date is meant?") from None
            day = self._day_in(first)
            if day is not None and (day >= today or not self.future or p.month_ref == "this"):
                moment = _wall(day, clock or DAY_DEFAULT, self.tz, self.phrase)
                return Resolved(moment, all_day=clock is None)
        raise self._ask(f"that day is not in {first:%B %Y}: which date is meant?")

    def _day_in(self, first: date) -> date | None:
        """The day picked in the month that starts on `first`; None when it has none."""
        p = self.parts
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        if p.month_pick is None:
            wanted = p.month_day or 0
            return first.replace(day=wanted) if 1 <= wanted <= last.day else None
        kind, nth, number = p.month_pick
        if kind == "end":
            return last
        if nth < 0:
            return last - timedelta(days=(last.weekday() - number) % 7)
        day = first + timedelta(days=(number - first.weekday()) % 7 + 7 * (nth - 1))
        return day if day.month == first.month else None

    def _in_next_week(self) -> Resolved:
        """ "Wednesday of next week": that weekday in the week after this one; on a Sunday,
        in English, weeks that start on Sunday or on Monday differ, so it is asked about.
        "the same time next week" is in seven days."""
        p = self.parts
        if p.relative or p.wall or p.day or p.month_date or p.month_day is not None:
            raise self._ask("next week and another day are both named: which one is meant?")
        if p.weekday is None:
            if p.same_time:
                p.wall = {"weeks": 1}
                p.next_week = None
                return self._moment()
            raise self._ask("which day of next week, and at what time?")
        number, kind = p.weekday
        if kind:
            raise self._ask(f"'{kind}' and 'next week' are both named: which day is meant?")
        today = self.now.date()
        day = today - timedelta(days=today.weekday()) + timedelta(days=7 + number)
        if p.next_week == "en" and today.weekday() == 6:
            sunday_week = today + timedelta(days=7 + (number + 1) % 7)
            if sunday_week != day:
                raise self._ask(f"{day:%A %d %B} or {sunday_week:%A %d %B}?")
        clock = self._time_of_day()
        at = clock or DAY_DEFAULT
        return Resolved(_wall(day, at, self.tz, self.phrase), all_day=clock is None)

    def _on_weekday(self, clock: time | None) -> Resolved:
        number, kind = self.parts.weekday or (0, "")
        at = clock or DAY_DEFAULT
        today = self.now.date()
        ahead = (number - today.weekday()) % 7
        coming = today + timedelta(days=ahead)
        if ahead == 0:
            still_ahead = _wall(today, at, self.tz, self.phrase) > self.now
            if kind == "" and still_ahead:
                raise self._ask(f"today ({today:%A %d %B}) or {today + timedelta(7):%A %d %B}?")
            if kind == "this" and not still_ahead and self.future:
                raise self._ask(f"today's {at:%H:%M} has passed: which day is meant?")
            if kind != "this":
                coming = today + timedelta(days=7)
        if kind == "next":
            week_start = today - timedelta(days=today.weekday())
            if coming < week_start + timedelta(days=7):
                later = coming + timedelta(days=7)
                raise self._ask(f"{coming:%A %d %B} or {later:%A %d %B}?")
        return Resolved(_wall(coming, at, self.tz, self.phrase), all_day=clock is None)

    def _on_date(self, clock: time | None) -> Resolved:
        year, month, day = self.parts.month_date or (None, 1, 1)
        at = clock or DAY_DEFAULT
        first = year if year is not None else self.now.year
        for candidate_year in range(first, first + (1 if year is not None else 9)):
            try:
                candidate = date(candidate_year, month, day)
            except ValueError:
                if year is not None or not (month == 2 and day == 29):
                    raise self._ask(
                        f"there is no {day} {_month_name(month)}: which date is meant?"
                    ) from None
                continue
            if year is None and candidate < self.now.date() and self.future:
                continue
            return Resolved(_wall(candidate, at, self.tz, self.phrase), all_day=clock is None)
        raise self._ask("which date is meant?")

    def _on_month_day(self, clock: time | None) -> Resolved:
        day = self.parts.month_day or 0
        if not 1 <= day <= 31:
            raise self._ask(f"there is no day {day} in a month: which date is meant?")
        at = clock or DAY_DEFAULT
        year, month = self.now.year, self.now.month
        for _ in range(13):
            try:
                candidate = date(year, month, day)
            except ValueError:
                candidate = None
            if candidate is not None and (candidate >= self.now.date() or not self.future):
                return Resolved(_wall(candidate, at, self.tz, self.phrase), all_day=clock is None)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise self._ask("which date is meant?")

    def _shift(self, start: _Day, wall: dict[str, int]) -> _Day:
        months = wall.get("months", 0) + 12 * wall.get("years", 0)
        if months:
            total = start.month - 1 + months
            try:
                start = start.replace(year=start.year + total // 12, month=total % 12 + 1)
            except ValueError:
                raise self._ask("that day does not exist in that month: which date?") from None
        try:
            return start + timedelta(days=wall.get("days", 0) + 7 * wall.get("weeks", 0))
        except OverflowError:
            raise self._ask("that is too far ahead: which date is meant?") from None


def time_of_day(text: str) -> time | None:
    """The time of day a phrase names ("at 9", "в 7 утра", "noon", "evening"), read by the
    same rules as `resolve`; None when it names none. Anything else in it is refused."""
    reader = _Phrase(text, _normalize(text), ZoneInfo("UTC"), utcnow(), True)
    for read in (reader._read_parts, reader._read_named_times, reader._read_clock):
        read()
    lone = _LONE_HOUR.fullmatch(reader.rest.strip())
    if lone and reader.parts.clock is None:  # "every day 9": the day is named around it
        reader.rest = ""
        reader._set_clock((int(lone[1]), 0), None, explicit=len(lone[1]) == 2)
    leftover = " ".join(_FILLER.sub(" ", reader.rest).split())
    if leftover:
        raise UnclearTime(f"I could not read {text!r} (not understood: {leftover!r})")
    return reader._time_of_day()


def _in_part(hour: int, part: str, ask: Callable[[str], UnclearTime]) -> int:
    """A 12-hour clock hour read in a part of the day ("8 вечера" = 20)."""
    if part == "morning":
        if hour == 12:
            raise ask("12 in the morning: noon or midnight?")
        return hour
    if part == "afternoon":
        if hour == 12 or 1 <= hour <= 7:
            return hour % 12 + 12
        raise ask(f"{hour} in the afternoon? which time is meant?")
    if part in {"evening", "tonight"}:
        if 5 <= hour <= 11:
            return hour + 12
        if part == "tonight" and hour in {12, 0, 1, 2, 3, 4}:
            return hour % 12
        raise ask(f"{hour} in the evening? which time is meant?")
    # night
    if hour == 12:
        return 0
    if 0 <= hour <= 4:
        return hour
    if 9 <= hour <= 11:
        return hour + 12
    raise ask(f"{hour} at night? which time is meant?")


def _hour(text: str) -> int:
    return _EN_HOURS.get(text) or int(text)


def _number(text: str | None) -> float:
    if not text:
        return 1.0
    if text in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[text])
    return float(text.replace(",", "."))


def _year(text: str | None) -> int | None:
    if not text:
        return None
    year = int(text)
    return year + 2000 if year < 100 else year


def _month_name(month: int) -> str:
    return date(2000, month, 1).strftime("%B")
