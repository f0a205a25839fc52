"""When jobs fire, computed over real calendar dates: weekdays as in crontab, wall-clock times
kept across daylight-saving changes, and the two kinds of clock change; then properties over
real zones and dates, against a minute-by-minute reference."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.schedule import (
    CronSchedule,
    InvalidSchedule,
    OneOff,
    RuleSchedule,
    describe,
    next_fire,
    schedule_of,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


def fires(expression: str, tz: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    """The next `count` fires after `start` (a wall-clock time in `tz`), as local times."""
    schedule = CronSchedule.parse(expression, tz)
    instant = start.replace(tzinfo=tz).astimezone(UTC)
    out = []
    for _ in range(count):
        instant = schedule.next_after(instant)
        out.append(instant.astimezone(tz))
    return out


def walls(local: list[datetime]) -> list[str]:
    return [f"{d:%a %Y-%m-%d %H:%M}" for d in local]


@pytest.mark.parametrize(
    ("tz", "start"),
    [
        (BERLIN, datetime(2025, 3, 28, 12)),  # spring forward, Sunday 30 March
        (BERLIN, datetime(2025, 10, 24, 12)),  # fall back, Sunday 26 October
        (NEW_YORK, datetime(2026, 3, 6, 12)),  # spring forward, Sunday 8 March
        (NEW_YORK, datetime(2026, 10, 30, 12)),  # fall back, Sunday 1 November
        (SYDNEY, datetime(2026, 4, 2, 12)),  # southern autumn: fall back, Sunday 5 April
    ],
)
def test_daily_nine_stays_nine_local_across_a_dst_change(tz: ZoneInfo, start: datetime) -> None:
    local = fires("0 9 * * *", tz, start, 5)
    assert [(d.hour, d.minute) for d in local] == [(9, 0)] * 5
    assert [d.date() for d in local] == [start.date() + timedelta(days=n) for n in range(1, 6)]
    offsets = {d.utcoffset() for d in local}
    assert len(offsets) == 2, "the window crosses the change, so the UTC offset changes"


def test_every_monday_at_nine_fires_on_monday() -> None:
    local = fires("0 9 * * 1", BERLIN, datetime(2025, 3, 26, 12), 3)
    assert walls(local) == ["Mon 2025-03-31 09:00", "Mon 2025-04-07 09:00", "Mon 2025-04-14 09:00"]


@pytest.mark.parametrize("weekday", ["0", "7", "sun", "SUN"])
def test_zero_seven_and_sun_are_sunday(weekday: str) -> None:
    local = fires(f"30 8 * * {weekday}", NEW_YORK, datetime(2026, 11, 18, 12), 2)
    assert walls(local) == ["Sun 2026-11-22 08:30", "Sun 2026-11-29 08:30"]


def test_weekdays_skip_the_weekend_and_keep_monday_after_spring_forward() -> None:
    # APScheduler 3's CronTrigger goes from this Friday to Tuesday (a known bug of its CronTrigger).
    local = fires("0 0 * * 1-5", ZoneInfo("America/Chicago"), datetime(2021, 3, 12, 0, 0, 1), 3)
    assert walls(local) == ["Mon 2021-03-15 00:00", "Tue 2021-03-16 00:00", "Wed 2021-03-17 00:00"]


def test_weekday_names_and_ranges() -> None:
    local = fires("0 9 * * mon-fri", BERLIN, datetime(2025, 3, 28, 10), 3)
    assert walls(local) == ["Mon 2025-03-31 09:00", "Tue 2025-04-01 09:00", "Wed 2025-04-02 09:00"]


def test_a_time_skipped_by_spring_forward_fires_when_the_gap_ends() -> None:
    local = fires("30 2 * * *", BERLIN, datetime(2025, 3, 29, 12), 2)
    assert walls(local) == ["Sun 2025-03-30 03:00", "Mon 2025-03-31 02:30"]


def test_a_time_repeated_by_fall_back_fires_once() -> None:
    local = fires("30 2 * * *", BERLIN, datetime(2025, 10, 25, 12), 2)
    assert walls(local) == ["Sun 2025-10-26 02:30", "Mon 2025-10-27 02:30"]
    assert local[0].utcoffset() == timedelta(hours=2), "the first of the two 02:30s"


def test_hourly_through_spring_forward_has_no_duplicate() -> None:
    local = fires("0 * * * *", BERLIN, datetime(2025, 3, 30, 0, 30), 3)
    assert [d.astimezone(UTC).hour for d in local] == [0, 1, 2]


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    local = fires("0 12 13 * 5", BERLIN, datetime(2026, 2, 1), 4)
    assert walls(local) == [
        "Fri 2026-02-06 12:00",
        "Fri 2026-02-13 12:00",
        "Fri 2026-02-20 12:00",
        "Fri 2026-02-27 12:00",
    ]
    local = fires("0 12 13 * 2", BERLIN, datetime(2026, 2, 1), 3)
    assert walls(local) == ["Tue 2026-02-03 12:00", "Tue 2026-02-10 12:00", "Fri 2026-02-13 12:00"]


def test_steps_lists_and_macros() -> None:
    local = fires("*/20 9,17 * * *", BERLIN, datetime(2026, 1, 5, 9, 10), 4)
    assert [f"{d:%H:%M}" for d in local] == ["09:20", "09:40", "17:00", "17:20"]
    assert walls(fires("@weekly", BERLIN, datetime(2026, 1, 5), 1)) == ["Sun 2026-01-11 00:00"]


def test_leap_day_waits_for_a_leap_year() -> None:
    assert walls(fires("0 8 29 2 *", BERLIN, datetime(2026, 3, 1), 1)) == ["Tue 2028-02-29 08:00"]


def test_a_leap_day_on_a_weekday_is_found_across_a_century_that_is_not_leap() -> None:
    """29 February on a Sunday (`*/7` is every Sunday and, starting with `*`, leaves the day
    of the month in charge): 2088, then 2128 -- 40 years, as 2100 is no leap year. Not
    "never fires", and the last fire before 2128 is the one of 2088."""
    schedule = CronSchedule.parse("0 0 29 2 */7", ZoneInfo("UTC"))
    assert schedule.next_after(datetime(2089, 3, 1, tzinfo=UTC)) == datetime(
        2128, 2, 29, tzinfo=UTC
    )
    assert schedule.last_at_or_before(datetime(2128, 2, 28, tzinfo=UTC)) == datetime(
        2088, 2, 29, tzinfo=UTC
    )


def test_last_at_or_before_is_the_latest_past_fire() -> None:
    schedule = CronSchedule.parse("0 9 * * 1-5", BERLIN)
    saturday_noon = datetime(2025, 3, 29, 12, tzinfo=BERLIN)
    last = schedule.last_at_or_before(saturday_noon)
    assert last is not None
    assert f"{last.astimezone(BERLIN):%a %H:%M}" == "Fri 09:00"
    assert schedule.last_at_or_before(last) == last


def test_before_the_calendar_begins_there_is_no_last_fire() -> None:
    schedule = CronSchedule.parse("0 12 2 1 *", ZoneInfo("UTC"))
    assert schedule.last_at_or_before(datetime(1, 1, 1, 5, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    "expression",
    ["0 9 * *", "60 9 * * *", "0 24 * * *", "0 9 * * 8", "0 9 * * fri-mon", "*/0 * * * *", "x"],
)
def test_invalid_expressions_say_why(expression: str) -> None:
    with pytest.raises(InvalidSchedule):
        CronSchedule.parse(expression, BERLIN)


def test_unknown_timezone_is_an_error_not_utc() -> None:
    with pytest.raises(InvalidSchedule, match="Mars/Olympus"):
        schedule_of("0 9 * * *", None, "Mars/Olympus")


def test_one_off() -> None:
    at = datetime(2026, 5, 1, 7, tzinfo=UTC)
    schedule = schedule_of(None, at, "Europe/Berlin")
    assert schedule == OneOff(at)
    assert schedule.next_after(at - timedelta(seconds=1)) == at
    assert schedule.next_after(at) is None
    assert schedule.last_at_or_before(at) == at
    assert schedule.last_at_or_before(at - timedelta(seconds=1)) is None


# --- two cases people wrote ---------------------------------------------------------------------

NEW_YORK_SPRING = datetime(2025, 3, 9, tzinfo=UTC)  # 02:00 EST jumps to 03:00 EDT at 07:00Z
NEW_YORK_FALL = datetime(2025, 11, 2, tzinfo=UTC)  # 01:59 EDT falls back to 01:00 EST at 06:00Z


def test_a_skipped_two_thirty_fires_at_three_when_the_gap_ends() -> None:
    fire = CronSchedule.parse("30 2 * * *", NEW_YORK).next_after(NEW_YORK_SPRING)
    assert fire == datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    assert f"{fire.astimezone(NEW_YORK):%H:%M %Z}" == "03:00 EDT"


def test_a_repeated_one_thirty_fires_once_then_the_next_day() -> None:
    schedule = CronSchedule.parse("30 1 * * *", NEW_YORK)
    first = schedule.next_after(NEW_YORK_FALL)
    assert first == datetime(2025, 11, 2, 5, 30, tzinfo=UTC), "01:30 EDT, the first one"
    assert schedule.next_after(first) == datetime(2025, 11, 3, 6, 30, tzinfo=UTC)


def test_next_fire_in_a_named_zone() -> None:
    assert next_fire("30 2 * * *", "America/New_York", NEW_YORK_SPRING) == datetime(
        2025, 3, 9, 7, 0, tzinfo=UTC
    )


def test_a_naive_one_off_in_a_gap_is_read_by_the_same_rule() -> None:
    schedule = schedule_of(None, datetime(2025, 3, 9, 2, 30), "America/New_York")
    assert schedule == OneOff(datetime(2025, 3, 9, 7, 0, tzinfo=UTC))


def test_an_instant_without_an_offset_is_refused() -> None:
    with pytest.raises(InvalidSchedule, match="offset"):
        CronSchedule.parse("0 9 * * *", BERLIN).next_after(datetime(2026, 1, 1))


# --- properties over real zones and dates ---------------------------------------------------

#: Real zones: northern and southern DST, half- and quarter-hour offsets, a 30-minute DST
#: (Lord Howe), changes at midnight (Santiago, Havana), negative DST (Dublin), a DST that
#: moves with Ramadan (Casablanca), DST abandoned in the range (Sao Paulo, Tehran), none.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/St_Johns",
    "America/Santiago",
    "America/Havana",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Africa/Casablanca",
]
_FIRST, _LAST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2037, 12, 31, tzinfo=UTC)


@functools.cache
def transitions(name: str) -> tuple[datetime, ...]:
    """The instants the zone's UTC offset changes, 2000-2037 (a daily scan, then bisection)."""
    tz = ZoneInfo(name)
    found = []
    day, offset = _FIRST, _FIRST.astimezone(tz).utcoffset()
    while day < _LAST:
        following = day + timedelta(days=1)
        if following.astimezone(tz).utcoffset() != offset:
            low, high = day, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
            offset = following.astimezone(tz).utcoffset()
        day = following
    return tuple(found)


@dataclass(frozen=True)
class Case:
    tz: ZoneInfo
    instant: datetime
    #: A wall time of interest: near a clock change when the instant is.
    wall: time


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Mostly the day and a half before a clock change, with a wall time within an hour or two
    of it (where the rules matter); else any instant and any time of day."""
    name = draw(st.sampled_from(ZONES))
    tz, changes = ZoneInfo(name), transitions(name)
    if changes and draw(st.integers(0, 3)):  # type: ignore[arg-type]  # mypy binds DrawFn to the first strategy drawn
        change = draw(st.sampled_from(changes))
        instant = change - timedelta(seconds=draw(st.integers(0, 36 * 3600)))
        near = local(change - timedelta(seconds=1), tz).replace(second=0)
        near += timedelta(minutes=draw(st.integers(-90, 150)))
        return Case(tz, instant, near.time())
    seconds = draw(st.integers(0, int((_LAST - _FIRST).total_seconds())))
    wall = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 1, 15, 30, 45, 59])))
    return Case(tz, _FIRST + timedelta(seconds=seconds), wall)


def local(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def exists(wall: datetime, tz: ZoneInfo) -> bool:
    return local(wall.replace(tzinfo=tz).astimezone(UTC), tz) == wall


PROPERTY = settings(max_examples=150, deadline=None)


@PROPERTY
@given(cases())
def test_a_daily_time_fires_at_that_wall_time_or_where_its_gap_ends(case: Case) -> None:
    tz, instant, at = case.tz, case.instant, case.wall
    fire = CronSchedule.parse(f"{at.minute} {at.hour} * * *", tz).next_after(instant)
    assert fire > instant
    wall = datetime.combine(local(fire, tz).date(), at)
    if exists(wall, tz):
        assert local(fire, tz) == wall
        earlier = [u for u in (fire - timedelta(hours=h) for h in (1, 0.5)) if local(u, tz) == wall]
        assert not earlier, "a repeated time fires at its first occurrence"
    else:
        assert local(fire - timedelta(seconds=1), tz) < wall < local(fire, tz)
        assert (
            fire.astimezone(tz).utcoffset()
            != (fire - timedelta(seconds=1)).astimezone(tz).utcoffset()
        ), "the first valid instant after the gap is the change itself"


@PROPERTY
@given(cases())
def test_a_fixed_time_fires_once_a_local_day(case: Case) -> None:
    tz, at = case.tz, case.wall
    schedule = CronSchedule.parse(f"{at.minute} {at.hour} * * *", tz)
    fires_ = [schedule.next_after(case.instant)]
    for _ in range(3):
        fires_.append(schedule.next_after(fires_[-1]))
    days = [local(f, tz).date() for f in fires_]
    assert days == sorted(set(days)), f"two fires on one day: {fires_}"
    assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days))


@st.composite
def cron_fields(draw: st.DrawFn, near: time) -> tuple[str, Callable[[datetime], bool]]:
    """A cron expression and a plain matcher of wall times built from the same sets, mostly
    including the wall time `near`."""
    include = draw(st.booleans())
    minute = draw(st.frozensets(st.integers(0, 59), min_size=1, max_size=4))
    minute |= {near.minute} if include else set()
    hour = draw(st.one_of(st.none(), st.frozensets(st.integers(0, 23), min_size=1, max_size=4)))
    if hour is not None and include:
        hour |= {near.hour}
    dom = draw(st.one_of(st.none(), st.frozensets(st.integers(1, 31), min_size=1, max_size=5)))
    dow = draw(st.one_of(st.none(), st.frozensets(st.integers(0, 6), min_size=1, max_size=4)))
    if dom is not None and dow is None:
        dom = dom | {1}  # every month has a 1st: it fires
    field = lambda values: "*" if values is None else ",".join(map(str, sorted(values)))  # noqa: E731

    def matches(wall: datetime) -> bool:
        if wall.minute not in minute or (hour is not None and wall.hour not in hour):
            return False
        in_month = dom is None or wall.day in dom
        in_week = dow is None or (wall.weekday() + 1) % 7 in dow
        return in_month or in_week if dom and dow else in_month and in_week

    return f"{field(minute)} {field(hour)} {field(dom)} * {field(dow)}", matches


def brute_force_next(
    matches: Callable[[datetime], bool], tz: ZoneInfo, instant: datetime, window: timedelta
) -> datetime | None:
    """Minute by minute: a wall time fires at the first minute the local clock reaches or
    passes it, i.e. when it lies in (the highest reading so far, the reading now]."""
    step = timedelta(minutes=1)
    now = instant.replace(second=0, microsecond=0) - timedelta(hours=9)
    highest = local(now, tz)
    while now < instant + window:
        now += step
        reading = local(now, tz)
        wall = highest + step
        while wall <= reading:
            if matches(wall) and now > instant:
                return now
            wall += step
        highest = max(highest, reading)
    return None


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_agrees_with_a_minute_by_minute_reference(data: st.DataObject) -> None:
    case = data.draw(cases())
    tz, instant = case.tz, case.instant
    expression, matches = data.draw(cron_fields(case.wall))
    window = timedelta(hours=30)
    expected = brute_force_next(matches, tz, instant, window)
    fire = CronSchedule.parse(expression, tz).next_after(instant)
    if expected is None:
        assert fire >= instant + window, expression
    else:
        assert fire == expected, expression


@PROPERTY
@given(st.data())
def test_the_last_fire_and_the_next_bracket_an_instant(data: st.DataObject) -> None:
    case = data.draw(cases())
    tz, instant = case.tz, case.instant
    schedule = CronSchedule.parse(data.draw(cron_fields(case.wall))[0], tz)
    following = schedule.next_after(instant)
    last = schedule.last_at_or_before(instant)
    assert schedule.last_at_or_before(following) == following
    assert last is not None and last <= instant < following
    assert schedule.next_after(last) == following


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(ZONES),
    st.sampled_from(["0 9 * * *", "*/5 * * * *", "0 0 29 2 *", "30 2 * * 0"]),
)
def test_any_instant_of_the_calendar_gets_a_fire_or_a_reason(
    instant: datetime, name: str, expression: str
) -> None:
    """Years 1 to 9999 (a last run stored by anyone): never an OverflowError."""
    fires_or_says_why(CronSchedule.parse(expression, ZoneInfo(name)), instant)


def fires_or_says_why(schedule: CronSchedule | RuleSchedule, instant: datetime) -> None:
    """A next fire after `instant` or the reason there is none; a last one at or before it,
    or None: never an OverflowError at the calendar's ends."""
    try:
        assert schedule.next_after(instant) > instant
    except InvalidSchedule as exc:
        assert "year 10000" in str(exc)
    last = schedule.last_at_or_before(instant)
    assert last is None or last <= instant


#: Cron as admins and language models write it: (expression, stored form or None if refused,
#: English words). Quartz and AWS forms (seconds, `?`, `L`, `#`, a year) are refused, not
#: guessed at.
CORPUS = [
    ("0 9 * * *", "0 9 * * *", "every day at 09:00"),
    ("0 9 * * 1-5", "0 9 * * 1-5", "every weekday at 09:00"),
    ("0 9 * * MON-FRI", "0 9 * * MON-FRI", "every weekday at 09:00"),
    ("0 9 * * Mon-Fri", "0 9 * * Mon-Fri", "every weekday at 09:00"),
    ("0 9 * * 1,2,3,4,5", "0 9 * * 1,2,3,4,5", "every weekday at 09:00"),
    ("00 09 * * *", "00 09 * * *", "every day at 09:00"),
    ("30 18 * * 5", "30 18 * * 5", "every Friday at 18:30"),
    ("0 10 * * SUN", "0 10 * * SUN", "every Sunday at 10:00"),
    ("0 10 * * 0,6", "0 10 * * 0,6", "on weekends at 10:00"),
    ("0 10 * * 6-7", "0 10 * * 6-7", "on weekends at 10:00"),
    ("0 8,20 * * *", "0 8,20 * * *", "every day at 08:00 and 20:00"),
    ("0 9 1 * *", "0 9 1 * *", "on the 1st of every month at 09:00"),
    ("0 9 15 * *", "0 9 15 * *", "on the 15th of every month at 09:00"),
    ("0 12 25 12 *", "0 12 25 12 *", "every year on 25 December at 12:00"),
    ("0 12 25 DEC *", "0 12 25 DEC *", "every year on 25 December at 12:00"),
    ("*/30 * * * *", "*/30 * * * *", "every 30 minutes"),
    ("0 */2 * * *", "0 */2 * * *", "every 2 hours"),
    ("0 */5 * * *", "0 */5 * * *", "on the cron schedule `0 */5 * * *`"),
    ("0 * * * *", "0 * * * *", "every hour"),
    ("@daily", "0 0 * * *", "every day at 00:00"),
    ("@weekly", "0 0 * * 0", "every Sunday at 00:00"),
    ("@monthly", "0 0 1 * *", "on the 1st of every month at 00:00"),
    ("  0  9 * *  1-5 ", "0 9 * * 1-5", "every weekday at 09:00"),
    ("0 0 9 * * *", None, ""),  # Quartz: seconds first
    ("0 0 9 ? * MON-FRI", None, ""),
    ("0 9 ? * MON", None, ""),
    ("0 9 L * *", None, ""),
    ("0 9 * * 1#2", None, ""),
    ("0 9 * * 5L", None, ""),
    ("cron(0 9 * * ? *)", None, ""),  # AWS EventBridge
    ("0 9 * * * 2027", None, ""),
    ("every day at 9", None, ""),
    ("9:00", None, ""),
    ("0 25 * * *", None, ""),
    ("0 9 31 2 *", None, ""),
    ("0 9 * * MON-SUN", None, ""),  # sun is 0: a backwards range
    ("*/ 9 * * *", None, ""),
    ("", None, ""),
]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.text("0123456789*/-,abcdefjlmnorstuvwy?#L", max_size=8), max_size=6).map(
            " ".join
        ),
    )
)
def test_any_text_is_a_schedule_or_a_reason(expression: str) -> None:
    try:
        schedule = CronSchedule.parse(expression, BERLIN)
    except InvalidSchedule as exc:
        assert str(exc)
    else:
        assert schedule.expression.count(" ") == 4
        assert schedule.next_after(datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("expression", "stored", "english"), CORPUS)
def test_corpus_of_real_expressions(expression: str, stored: str | None, english: str) -> None:
    if stored is None:
        with pytest.raises(InvalidSchedule):
            CronSchedule.parse(expression, BERLIN)
        return
    schedule = CronSchedule.parse(expression, BERLIN)
    assert schedule.expression == stored
    assert describe(expression) == english
    assert schedule.next_after(datetime(2026, 3, 1, tzinfo=UTC)) > datetime(2026, 3, 1, tzinfo=UTC)


# --- in words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "english", "russian"),
    [
        ("0 9 * * *", "every day at 09:00", "каждый день в 09:00"),
        ("0 9 * * 1-5", "every weekday at 09:00", "по будням в 09:00"),
        ("0 9 * * mon-fri", "every weekday at 09:00", "по будням в 09:00"),
        ("0 10 * * 6,0", "on weekends at 10:00", "по выходным в 10:00"),
        ("0 10 * * 1", "every Monday at 10:00", "каждый понедельник в 10:00"),
        ("0 10 * * 3", "every Wednesday at 10:00", "каждую среду в 10:00"),
        ("0 10 * * 7", "every Sunday at 10:00", "каждое воскресенье в 10:00"),
        (
            "30 7 * * 1,3,5",
            "every Monday, Wednesday and Friday at 07:30",
            "по понедельникам, средам и пятницам в 07:30",
        ),
        ("0 9,18 * * *", "every day at 09:00 and 18:00", "каждый день в 09:00 и 18:00"),
        ("0 9 1 * *", "on the 1st of every month at 09:00", "каждый месяц 1-го числа в 09:00"),
        (
            "0 9 2,22 * *",
            "on the 2nd and 22nd of every month at 09:00",
            "каждый месяц 2-го и 22-го числа в 09:00",
        ),
        ("0 9 13 * *", "on the 13th of every month at 09:00", "каждый месяц 13-го числа в 09:00"),
        ("0 8 8 3 *", "every year on 8 March at 08:00", "каждый год 8 марта в 08:00"),
        ("@yearly", "every year on 1 January at 00:00", "каждый год 1 января в 00:00"),
        ("@daily", "every day at 00:00", "каждый день в 00:00"),
        ("@hourly", "every hour", "каждый час"),
        ("15 * * * *", "every hour at :15", "каждый час в :15"),
        ("*/15 * * * *", "every 15 minutes", "каждые 15 минут"),
        ("*/2 * * * *", "every 2 minutes", "каждые 2 минуты"),
        ("* * * * *", "every minute", "каждую минуту"),
        ("0 */3 * * *", "every 3 hours", "каждые 3 часа"),
        ("0 */6 * * *", "every 6 hours", "каждые 6 часов"),
        ("0 9 1-7 * 1", "on the cron schedule `0 9 1-7 * 1`", "по расписанию cron `0 9 1-7 * 1`"),
        ("*/7 * * * *", "on the cron schedule `*/7 * * * *`", "по расписанию cron `*/7 * * * *`"),
        ("0 9 * 6 *", "on the cron schedule `0 9 * 6 *`", "по расписанию cron `0 9 * 6 *`"),
        ("not cron", "on the cron schedule `not cron`", "по расписанию cron `not cron`"),
    ],
)
def test_describe_in_english_and_russian(expression: str, english: str, russian: str) -> None:
    assert describe(expression) == english
    assert describe(expression, "en-GB") == english
    assert describe(expression, "ru") == russian
    assert describe(expression, "ru-RU") == russian


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["en", "ru", "de", ""]))
def test_describe_answers_anything_it_is_given(expression: str, language: str) -> None:
    words = describe(expression, language)
    assert words and "\n" not in words and "\r" not in words
    assert words.count("`") in (0, 2) and len(words) < 150


@PROPERTY
@given(st.data())
def test_describe_is_words_or_the_expression(data: st.DataObject) -> None:
    expression, _ = data.draw(cron_fields(time(9, 0)))
    for language, fallback in (("en", "on the cron schedule"), ("ru", "по расписанию cron")):
        words = describe(expression, language)
        assert expression in words if words.startswith(fallback) else "`" not in words


@pytest.mark.parametrize(
    ("expression", "language", "note"),
    [
        ("0 9 31 * *", "en", "(months without that day are skipped)"),
        ("0 9 30 * *", "ru", "(месяцы без такого числа пропускаются)"),
        ("0 9 29 2 *", "en", "(only in leap years)"),
        ("0 9 29 2 *", "ru", "(только в високосные годы)"),
    ],
)
def test_a_schedule_that_skips_months_or_years_says_so(
    expression: str, language: str, note: str
) -> None:
    assert describe(expression, language).endswith(note)


def test_a_day_every_month_has_no_such_note() -> None:
    assert describe("0 9 28 * *", "en") == "on the 28th of every month at 09:00"
