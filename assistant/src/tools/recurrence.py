"""How a reminder repeats: a 5-field cron expression, or words in English or Russian ("every
weekday at 9", "каждый понедельник в 10", "every 15th at noon", "twice a day at 9 and 21",
"ежедневно в 9") turned into one; what a cron line cannot hold ("every other Tuesday at 8",
"раз в две недели по понедельникам", "every other day") becomes an RFC 5545 recurrence rule
anchored at its first occurrence. The time of day is read by `when.time_of_day`, so "at 9"
means the same in a one-off and a repetition; when and how a cron expression fires is
`common.features.schedule`'s, the one evaluator every service uses. Words that are not understood
are asked about, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
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
from common.features.schedule import (
    CronSchedule,
    InvalidSchedule,
    describe,
    repeating,
    wall_to_instant,
)
from common.infrastructure.clock import utcnow

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
    r"|\b(?:every|each)\s+(?:the\s+)?(?P<e>[0-9]{1,2})(?:st|nd|rd|th)\b"
)
_EVERY_N = re.compile(
    r"\b(?:every|each|каждые|каждый|каждую)\s+(?P<n>[0-9]{1,2})?\s*"
    r"(?:(?P<minutes>minutes?|mins?|минут[уы]?)|(?P<hours>hours?|час(?:а|ов)?))\b"
    r"|\b(?P<hourly>hourly|ежечасно)\b"
)
_WEEKDAY_WORDS = "|".join(p for _, p in WEEKDAY_NAMES)
_NUMBER_WORDS = {
    "вторые": 2, "третьи": 3,
    "two": 2, "three": 3, "four": 4, "две": 2, "два": 2, "три": 3, "четыре": 4, "second": 2,
    "other": 2, "2nd": 2, "вторую": 2, "второй": 2, "второе": 2, "третью": 3, "третий": 3,
    "третье": 3,
}  # fmt: skip
_COUNT = r"two|three|four|две|два|три|четыре|[0-9]{1,2}"
#: Every N weeks ("every two weeks", "раз в две недели", "fortnightly"), the days said apart.
_EVERY_WEEKS = re.compile(
    rf"\b(?:every|each)\s+(?P<n>{_COUNT})\s+weeks\b|\b(?:every|each)\s+(?P<o>other|second)\s+week\b"
    r"|\b(?P<f>(?:every |each )?fortnight|fortnightly)\b"
    rf"|\bраз\s+в\s+(?P<n2>{_COUNT})\s+недел[иь]\b|\bкажды[ея]\s+(?P<n3>{_COUNT})\s+недел[иь]\b"
    r"|\bкаждую\s+(?P<ro>вторую)\s+неделю\b"
)
#: "every other Tuesday", "каждый второй вторник": every two weeks on that day.
_EVERY_OTHER_DAY = re.compile(
    rf"\b(?P<every>every|each|кажд(?:ый|ую|ое|ые))\s+(?P<n>other|second|2nd|втор(?:ой|ую|ое|ые)"
    rf"|трет(?:ий|ью|ье|ьи))\s+(?=(?:{_WEEKDAY_WORDS}|weekends?|выходн\w*)\b)"
)
#: A weekday or day counted within the month ("the first Monday", "последнюю пятницу месяца").
_ORDINAL_IN_MONTH = re.compile(
    rf"\b(?:first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th|перв\w*|втор\w*|трет\w*"
    rf"|четверт\w*|пят\w*|последн\w*)\s+(?:{_WEEKDAY_WORDS}|(?:working |business |week)?days?"
    r"|(?:рабоч\w* )?д(?:ень|ня))\b"
)
_MONTH_WORD = re.compile(r"\b(?:month|months|monthly|месяц\w*|ежемесячно)\b")
#: Every N days ("every other day", "через день", "каждые два дня").
_EVERY_DAYS = re.compile(
    rf"\b(?:every|each)\s+(?:(?P<n>{_COUNT})\s+days|(?P<o>other|second)\s+day)\b|\bчерез\s+(?P<ro>день)\b"
    rf"|\b(?:раз\s+в|каждые)\s+(?P<n2>{_COUNT})\s+(?:дня|дней)\b"
)
#: "twice a day", "три раза в день": so many times a day, the times said apart.
_TIMES_A_DAY = re.compile(
    r"\b(?:(?P<twice>twice)|(?P<thrice>thrice)|(?P<n>two|three|four|[2-4])\s+times)\s+"
    r"(?:a|per|each|every)\s+day\b"
    r"|\b(?:(?P<rtwice>дважды)|(?P<rthrice>трижды)|(?P<rn>два|три|четыре|[2-4])\s+раза)\s+"
    r"(?:в|за)\s+(?:день|сутки)\b"
)
#: So many times a week or month: the days are missing.
_TIMES_A_PERIOD = re.compile(
    r"\b(?:twice|thrice|(?:two|three|four|[2-9]) times)\s+(?:a|per|each|every)\s+"
    r"(?P<en>week|month|year)\b"
    r"|\b(?:дважды|трижды|(?:два|три|четыре|[2-9])\s+раза)\s+в\s+(?P<ru>неделю|месяц|год)\b"
)
#: Every N months or years: not kept yet.
_EVERY_MONTHS = re.compile(
    rf"\b(?:every|each)\s+(?:(?P<n>{_COUNT})\s+|other\s+|second\s+)(?P<en>months|years|month|year)\b"
    rf"|\b(?:раз\s+в|каждые)\s+(?P<n2>{_COUNT})\s+(?P<ru>месяц\w*|год\w*|лет)\b"
    r"|\bкажд(?:ый|ые)\s+втор(?:ой|ые)\s+(?P<ro>месяц\w*|год\w*)\b"
)
#: Every week, said apart from its days ("weekly on Monday", "раз в неделю в понедельник").
_WEEKLY = re.compile(
    r"\b(?:once a week|once every week|weekly|every week|each week|раз в неделю|еженедельно"
    r"|каждую неделю)\b"
)
#: "8 and 9pm": a bare hour beside one with its part of the day (is it 20:00 too?).
_BARE_HOUR = re.compile(r"^(?:at |в )?([0-9]{1,2})$")
_PART_SAID = re.compile(r"\b(?:am|pm|a\.m\.|p\.m\.|утра|вечера|дня|ночи)\b|[0-9](?:am|pm)\b")
_SPLIT_TIMES = re.compile(r"\s*(?:,|\band\b|\bи\b)\s*")
_PLURAL_WEEKDAY = re.compile(r"\bпо\s+(\w+)")
_EVERY = re.compile(r"\b(?:every|each|on|кажд\w*|по|и|and|the)\b")
_MONTHS_RE = "|".join(f"(?P<mo{n}>{p})" for n, p in MONTH_NAMES)
_YEARLY = re.compile(
    rf"\b(?:every year|each year|yearly|annually|ежегодно|каждый год)\s+(?:on\s+)?"
    rf"(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th|-?го)?\s+(?:of\s+)?(?:{_MONTHS_RE})\b"
)


@dataclass(frozen=True)
class Recurrence:
    """A repeating reminder: its cron expression or recurrence rule (what is stored in
    `cron_expression`), evaluated by `common.features.schedule`."""

    cron: str
    #: No time of day was said, so the day's default (09:00) was taken: say so.
    time_assumed: bool = False

    def first_after(self, now: datetime) -> datetime:
        """The first fire after `now`, in `now`'s zone (the reminder's)."""
        tz = now.tzinfo
        assert isinstance(tz, ZoneInfo)
        return repeating(self.cron, tz).next_after(now).astimezone(tz)

    def describe(self, language: str = "en") -> str:
        return describe(self.cron, language)


def parse_recurrence(
    recurrence: str,
    when: str | None = None,
    tz: ZoneInfo | None = None,
    now: datetime | None = None,
) -> Recurrence:
    """`recurrence` in words (English or Russian) or as a cron expression; the time of day may
    come from `when` ("every Monday" + "9:00", "tomorrow at 9", or an ISO date-time), read in
    `tz` (the user's zone; UTC when not given). A rule every N weeks or days counts from its
    first occurrence after `now` (or on or after the day `when` names)."""
    tz = tz or ZoneInfo("UTC")
    text = " ".join(recurrence.lower().replace("ё", "е").split()).strip(" .!?")
    if text.startswith("@") or (
        _CRON_FIELDS.match(text) and all(_CRON_FIELD.match(f) for f in text.split())
    ):
        return _cron(text)
    cron = _every_n(text)
    if cron is not None:
        return _cron(cron)
    _refuse_what_cannot_be_kept(text)
    try:
        return _in_words(text, when, tz, now)
    except UnclearTime as exc:
        left = _NOT_UNDERSTOOD.search(str(exc))
        if left is None or not _REPETITION_WORDS.search(left[1]):
            raise  # a time of day it could not read: the words are the question
        if _EXCEPT.search(left[1]):
            raise UnclearTime(
                f"{recurrence.strip()!r} leaves days out, which a repetition cannot: on which "
                "days is it? e.g. 'every Monday, Tuesday, Wednesday and Thursday at 9'"
            ) from exc
        raise UnclearTime(
            f"{recurrence.strip()!r} is not a repetition I can keep: it needs how often "
            "(every day, every weekday, every Monday, every other Tuesday, every 2 weeks on "
            "Friday, every month on the 15th, every year on 5 March) and the time of day. "
            "How should it repeat?"
        ) from exc


_NOT_UNDERSTOOD = re.compile(r"not understood: '(.*)'\)")
#: Words about how often, left over: the repetition was not read, not only its time of day.
_REPETITION_WORDS = re.compile(
    r"\b(?:other|second|third|except|but|not|month\w*|week\w*|year\w*|fortnight\w*|times?"
    r"|twice|every|each|кроме|раз\w*|через|втор\w*|трет\w*|недел\w*|месяц\w*|год\w*|кажд\w*"
    r"|дважды|трижды)\b"
)
_EXCEPT = re.compile(r"\b(?:except|but not|кроме|за исключением)\b")


def _in_words(text: str, when: str | None, tz: ZoneInfo, now: datetime | None) -> Recurrence:
    """A repetition in words: a cron line, or a rule every N days or weeks."""
    text, weeks = _interval(text, _EVERY_WEEKS, "weeks")
    text, days = _interval(text, _EVERY_DAYS, "days")
    text, per_day = _times_a_day(text)
    weekly = _WEEKLY.search(text) if weeks == 1 else None
    if weekly is not None:
        text, weeks = _cut(text, weekly), 1
    named_day = re.search(rf"\b(?:{_WEEKDAY_WORDS})\b", text)
    if days > 1 and named_day:
        raise UnclearTime(
            f"every {days} days, or every {named_day[0]}? e.g. 'every other day at 9' or "
            f"'every other {named_day[0]} at 9'"
        )
    if days > 1 or per_day:
        text = f"every day {text}"
    elif weeks > 1 or weekly is not None:
        if not (named_day or _WORKDAYS.search(text) or _WEEKENDS.search(text)):
            every = "every week" if weeks == 1 else f"every {weeks} weeks"
            raise UnclearTime(
                f"{every} on which day of the week, and at what time? e.g. '{every} on Monday at 9'"
            )
        text = f"every {_WEEKDAY_PREPOSITION.sub(' ', text)}"
    day_field, month_field, weekday_field, rest = _days(text)
    clocks = _clocks(rest, when, tz)
    if per_day and len(clocks) != per_day:
        how = "twice" if per_day == 2 else f"{per_day} times"
        raise UnclearTime(
            f"{how} a day: at which {per_day} times? e.g. '{how} a day at "
            f"{' and '.join(('9', '21') if per_day == 2 else ('8', '14', '20', '23')[:per_day])}'"
        )
    assumed = not clocks
    minutes, hours = _times_fields(clocks or [DAY_DEFAULT])
    if weeks > 1 or days > 1:
        if weeks > 1 and (day_field != "*" or weekday_field == "*"):
            raise UnclearTime(
                f"every {weeks} weeks on which day of the week? e.g. 'every {weeks} weeks on "
                "Monday at 9'"
            )
        cron = f"{minutes} {hours} * * {weekday_field if weeks > 1 else '*'}"
        start = _day_of_when(when, tz, now) if when else None
        return _rule(cron, weeks if weeks > 1 else days, tz, now, start, assumed)
    return _cron(
        f"{minutes} {hours} {day_field} {month_field} {weekday_field}", time_assumed=assumed
    )


_WEEKDAY_PREPOSITION = re.compile(rf"\b(?:on|в|во)\s+(?=(?:{_WEEKDAY_WORDS})\b)")
_RULE_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")


def _number(word: str) -> int:
    return _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)


def _interval(text: str, pattern: re.Pattern[str], unit: str) -> tuple[str, int]:
    """(the text without its "every N weeks/days" words, N; 1 when none are said)."""
    match = pattern.search(text)
    other = _EVERY_OTHER_DAY.search(text) if unit == "weeks" else None
    if other is not None:
        n = _number(other["n"])
        return " ".join(
            f"{text[: other.start()]} {other['every']} {text[other.end() :]}".split()
        ), n
    if match is None:
        return text, 1
    groups = match.groupdict()
    said = (
        next(v for k, v in groups.items() if k.startswith("n") and v)
        if not (groups.get("o") or groups.get("ro") or groups.get("f"))
        else "2"
    )
    n = _number(said)
    if not 2 <= n <= 12:
        raise UnclearTime(
            f"every {n} {unit}: a repetition every 2 to 12 {unit} can be kept; which is meant?"
        )
    return _cut(text, match), n


def _times_a_day(text: str) -> tuple[str, int]:
    """(the text without "twice a day", how many times a day; 0 when not said)."""
    match = _TIMES_A_DAY.search(text)
    if match is None:
        return text, 0
    if match["twice"] or match["rtwice"]:
        n = 2
    elif match["thrice"] or match["rthrice"]:
        n = 3
    else:
        n = _number(match["n"] or match["rn"])
    return _cut(text, match), n


def _refuse_what_cannot_be_kept(text: str) -> None:
    """Repetitions that name how often but not the days, or every few months: say what is
    missing (not which words were not understood)."""
    if re.search(r"\bbi-?weekly\b", text):
        raise UnclearTime("biweekly: every two weeks, or twice a week (on which days)?")
    match = _TIMES_A_PERIOD.search(text)
    if match:
        period = match["en"] or {"неделю": "week", "месяц": "month", "год": "year"}[match["ru"]]
        raise UnclearTime(
            f"so many times a {period}: on which days exactly, and at what time? e.g. 'every "
            "Monday and Thursday at 9' or 'every month on the 1st and 15th at 10'"
        )
    if _ORDINAL_IN_MONTH.search(text) and _MONTH_WORD.search(text):
        raise UnclearTime(
            "a repetition on a day counted within the month (the first Monday, the last Friday, "
            "the last day) cannot be kept yet; every month on a date ('every month on the 1st "
            "at 9') or every few weeks on a weekday ('every other Tuesday at 8') can: which is "
            "meant?"
        )
    if _EVERY_MONTHS.search(text):
        raise UnclearTime(
            "a repetition every few months or years cannot be kept yet; every month on a day "
            "('every month on the 15th at 10') or every year on a date ('every year on 5 March "
            "at 10') can: which is meant?"
        )


def _times_fields(clocks: list[time]) -> tuple[str, str]:
    """The minute and hour fields of the times of day: one minute for all, or refused."""
    minutes = {c.minute for c in clocks}
    if len(minutes) > 1:
        shown = ", ".join(f"{c:%H:%M}" for c in clocks)
        raise ToolError(
            f"{shown}: times of day with different minutes cannot be one reminder (its times "
            "are every hour named at every minute named); make one reminder for each time"
        )
    hours = sorted({c.hour for c in clocks})
    return str(minutes.pop()), ",".join(str(h) for h in hours)


def _rule(
    cron: str,
    interval: int,
    tz: ZoneInfo,
    now: datetime | None,
    start: datetime | None,
    assumed: bool,
) -> Recurrence:
    """Every `interval` weeks (the days of `cron`) or days, from the first fire of `cron`
    after `now` (or at or after `start`): a recurrence rule with that anchor."""
    now = (now or utcnow()).astimezone(tz)
    if start is not None and start > now:
        now = start - timedelta(seconds=1)
    every = CronSchedule.parse(cron, tz)
    first = every.next_after(now).astimezone(tz)
    # the wall time it was meant for (a time a spring change skips fires after the gap)
    wall = first.replace(tzinfo=None)
    for minute_of_day in every.times:
        candidate = datetime.combine(first.date(), time(*divmod(minute_of_day, 60)))
        if wall_to_instant(candidate, tz) == first.astimezone(UTC):
            wall = candidate
            break
    minute, hour, _, _, weekdays = cron.split()
    parts = [f"FREQ={'WEEKLY' if weekdays != '*' else 'DAILY'}", f"INTERVAL={interval}"]
    if weekdays != "*":
        days = sorted(every.weekdays, key=lambda d: (d + 6) % 7)  # Monday first
        parts.append(f"BYDAY={','.join(_RULE_DAYS[d] for d in days)}")
    parts += [f"BYHOUR={hour}", f"BYMINUTE={minute}"]
    expression = f"DTSTART:{wall:%Y%m%dT%H%M%S} RRULE:{';'.join(parts)}"
    try:
        return Recurrence(repeating(expression, tz).expression, assumed)
    except InvalidSchedule as exc:  # pragma: no cover: built from a cron line that fires
        raise ToolError(f"invalid recurrence rule: {exc}") from exc


def _day_of_when(when: str, tz: ZoneInfo, now: datetime | None) -> datetime | None:
    """The start of the day `when` names ("next Tuesday", an ISO date), or None when it
    names only a time of day."""
    try:
        if time_of_day(when) is not None:
            return None
    except UnclearTime:
        pass
    found = resolve(when, tz, (now or utcnow()).astimezone(tz))
    return found.at.replace(hour=0, minute=0, second=0, microsecond=0)


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


def _clocks(rest: str, when: str | None, tz: ZoneInfo) -> list[time]:
    """The times of day named ("at 9 and 21", "в 9 и 21"), else the one `when` names."""
    clocks: list[time] = []
    chunks = [" ".join(_EVERY.sub(" ", c).split()) for c in _SPLIT_TIMES.split(rest)]
    chunks = [c for c in chunks if c]
    bare = [m[1] for c in chunks if (m := _BARE_HOUR.match(c)) and int(m[1]) <= 12]
    if len(chunks) > 1 and bare and any(_PART_SAID.search(c) for c in chunks):
        raise UnclearTime(
            f"{' and '.join(chunks)}: is {bare[0]} in the same part of the day as the "
            "other time? e.g. 'at 8pm and 9pm' or 'at 8am and 9pm'"
        )
    for chunk in chunks:
        clock = time_of_day(chunk)
        if clock is not None and clock not in clocks:
            clocks.append(clock)
    if not clocks and when:
        clock = _clock_of_when(when, tz)
        clocks = [clock] if clock is not None else []
    return clocks


def _clock_of_when(when: str, tz: ZoneInfo) -> time | None:
    """The local time of day `when` names: a clock time, or a moment ("tomorrow at 9", an
    ISO date-time, converted to `tz` when it has an offset)."""
    try:
        return time_of_day(when)
    except UnclearTime:
        found = resolve(when, tz, utcnow().astimezone(tz), future=False)  # only its time counts
    return None if found.all_day else found.at.time().replace(second=0, microsecond=0)


def _cut(text: str, match: re.Match[str]) -> str:
    return " ".join((text[: match.start()] + " " + text[match.end() :]).split())
