"""Recurrence rules (RFC 5545, for what a cron line cannot hold: "every other Tuesday"): read,
checked, fired by the same DST rules as a cron line, against the minute-by-minute reference,
and said in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from common.features.schedule import (
    InvalidSchedule,
    RuleSchedule,
    describe,
    next_fire,
    repeating,
    schedule_of,
)
from common.tests.test_schedule import brute_force_next, cases, fires_or_says_why, local

NEW_YORK = ZoneInfo("America/New_York")
BIWEEKLY_SUNDAY = (
    "DTSTART:20250223T000000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=2;BYMINUTE=30"
)


def test_a_rule_is_stored_in_one_order_and_read_by_schedule_of() -> None:
    rule = repeating(
        "dtstart:20261201T080000  rrule:byminute=0;BYHOUR=8;BYDAY=TU;INTERVAL=2;FREQ=WEEKLY"
    )
    assert rule.expression == (
        "DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0"
    )
    assert isinstance(schedule_of(rule.expression, None, "Europe/Berlin"), RuleSchedule)


def test_every_other_sunday_keeps_its_weeks_and_the_dst_rules() -> None:
    # 23 Feb, 9 March (spring change: 02:30 does not exist), 23 March; 2 November (autumn).
    fires = []
    instant = datetime(2025, 2, 20, tzinfo=UTC)
    for _ in range(3):
        instant = next_fire(BIWEEKLY_SUNDAY, "America/New_York", instant)
        fires.append(instant.astimezone(NEW_YORK).isoformat())
    assert fires == [
        "2025-02-23T02:30:00-05:00",
        "2025-03-09T03:00:00-04:00",  # the first valid instant after the gap
        "2025-03-23T02:30:00-04:00",
    ]
    autumn = RuleSchedule.parse(
        "DTSTART:20251019T000000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=1;BYMINUTE=30",
        NEW_YORK,
    )
    first = autumn.next_after(datetime(2025, 11, 1, tzinfo=UTC))
    assert first == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first of two
    assert autumn.next_after(first) == datetime(2025, 11, 16, 6, 30, tzinfo=UTC)
    assert autumn.last_at_or_before(first + timedelta(hours=1)) == first


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("RRULE:FREQ=WEEKLY;BYDAY=TU;BYHOUR=8;BYMINUTE=0", "anchor"),
        ("DTSTART:20261201T080000Z RRULE:FREQ=WEEKLY;BYHOUR=8;BYMINUTE=0", "no zone"),
        ("DTSTART:20261301T080000 RRULE:FREQ=WEEKLY;BYHOUR=8;BYMINUTE=0", "not a date"),
        ("DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;BYDAY=TU", "BYHOUR"),
        ("DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;COUNT=3;BYHOUR=8;BYMINUTE=0", "COUNT"),
        ("DTSTART:20261201T080000 RRULE:FREQ=MINUTELY;BYHOUR=8;BYMINUTE=0", "FREQ"),
        ("DTSTART:20261201T080000 RRULE:FREQ=DAILY;BYHOUR=24;BYMINUTE=0", "BYHOUR"),
        ("DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;BYDAY=XX;BYHOUR=8;BYMINUTE=0", "BYDAY"),
        ("DTSTART:20261201T080000 RRULE:FREQ=MONTHLY;BYDAY=1MO;BYHOUR=8;BYMINUTE=0", "FREQ"),
        ("DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;BYMONTH=2;BYHOUR=8;BYMINUTE=0", "BYMONTH"),
        ("DTSTART:19691201T080000 RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0", "before 1970"),
        (
            "DTSTART:20261201T080000 RRULE:FREQ=DAILY;BYHOUR=8,9,10,11,12;BYMINUTE=0,10,20,30,40",
            "24",
        ),
        ("DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;BYHOUR;BYMINUTE=0", "NAME=VALUE"),
        ("DTSTART:20261201T080000 RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYHOUR=9", "twice"),
        ("DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;WKST=XX;BYHOUR=8;BYMINUTE=0", "WKST"),
        # the calendar ends on 31 December 9999 before 08:00 comes round
        ("DTSTART:99991231T120000 RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0", "never fires"),
    ],
)
def test_a_rule_that_cannot_be_kept_is_refused_saying_why(expression: str, says: str) -> None:
    with pytest.raises(InvalidSchedule, match=says):
        repeating(expression)


@pytest.mark.parametrize(
    ("expression", "en", "ru"),
    [
        (
            "DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0",
            "every other Tuesday at 08:00, starting 1 December 2026",
            "каждый второй вторник в 08:00, начиная с 1 декабря 2026",
        ),
        (
            "DTSTART:20261202T093000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=9;BYMINUTE=30",
            "every other Wednesday at 09:30, starting 2 December 2026",
            "каждую вторую среду в 09:30, начиная с 2 декабря 2026",
        ),
        (
            "DTSTART:20261130T090000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYHOUR=9;BYMINUTE=0",
            "every other Monday and Thursday at 09:00, starting 30 November 2026",
            "раз в две недели по понедельникам и четвергам в 09:00, начиная с 30 ноября 2026",
        ),
        (
            "DTSTART:20261130T090000 RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
            "every 3 weeks on Monday at 09:00, starting 30 November 2026",
            "раз в три недели по понедельникам в 09:00, начиная с 30 ноября 2026",
        ),
        (
            "DTSTART:20261130T090000 RRULE:FREQ=DAILY;INTERVAL=2;BYHOUR=9,21;BYMINUTE=0",
            "every other day at 09:00 and 21:00, starting 30 November 2026",
            "через день в 09:00 и 21:00, начиная с 30 ноября 2026",
        ),
        (
            "DTSTART:20261130T090000 RRULE:FREQ=DAILY;INTERVAL=3;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
            "on the recurrence rule `DTSTART:20261130T090000 RRULE:FREQ=DAILY;INTERVAL=3;"
            "BYDAY=MO;BYHOUR=9;BYMINUTE=0`",
            "по правилу повторения `DTSTART:20261130T090000 RRULE:FREQ=DAILY;INTERVAL=3;"
            "BYDAY=MO;BYHOUR=9;BYMINUTE=0`",
        ),
    ],
)
def test_a_rule_in_words(expression: str, en: str, ru: str) -> None:
    assert (describe(expression, "en"), describe(expression, "ru")) == (en, ru)


_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_an_every_n_weeks_rule_agrees_with_the_minute_by_minute_reference(
    data: st.DataObject,
) -> None:
    case = data.draw(cases())
    tz, instant, wall = case.tz, case.instant, case.wall
    n = data.draw(st.integers(1, 3))
    days = data.draw(st.frozensets(st.integers(0, 6), min_size=1, max_size=3))
    days |= {local(instant, tz).date().weekday()} if data.draw(st.booleans()) else set()
    times = data.draw(st.frozensets(st.sampled_from([0, 1, 30, 59]), max_size=2)) | {wall.minute}
    hours = data.draw(st.frozensets(st.integers(0, 23), max_size=2)) | {wall.hour}
    # up to two years back: the anchor is moved on by whole periods before listing
    start = datetime.combine(
        local(instant, tz).date() - timedelta(days=data.draw(st.integers(0, 800))), time()
    )
    expression = (
        f"DTSTART:{start:%Y%m%dT%H%M%S} RRULE:FREQ=WEEKLY;INTERVAL={n};"
        f"BYDAY={','.join(_DAYS[d] for d in sorted(days))};"
        f"BYHOUR={','.join(map(str, sorted(hours)))};BYMINUTE={','.join(map(str, sorted(times)))}"
    )

    def matches(w: datetime) -> bool:
        weeks = (_monday(w.date()) - _monday(start.date())).days // 7
        return (
            w >= start
            and weeks % n == 0
            and w.weekday() in days
            and w.hour in hours
            and w.minute in times
        )

    window = timedelta(days=8)
    expected = brute_force_next(matches, tz, instant, window)
    schedule = RuleSchedule.parse(expression, tz)
    fire = schedule.next_after(instant)
    if expected is None:
        assert fire >= instant + window, expression
    else:
        assert fire == expected, expression
    last = schedule.last_at_or_before(instant)
    assert last is None or (last <= instant and schedule.next_after(last) == fire)


def test_a_rule_anchored_long_ago_is_quick_and_the_same() -> None:
    """The anchor is moved on by whole periods, not listed from 1970 at every call."""
    hours = ",".join(map(str, range(24)))
    old = RuleSchedule.parse(
        "DTSTART:19700105T000000 "
        f"RRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH;BYHOUR={hours};BYMINUTE=0",
        NEW_YORK,
    )
    instant = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # New York's spring change night
    plain = old.rule.after(local(instant, NEW_YORK))
    assert old.next_after(instant).astimezone(NEW_YORK).replace(tzinfo=None) == plain
    before = old.rule.before(local(instant, NEW_YORK), inc=True)
    assert old.last_at_or_before(instant) == before.replace(tzinfo=NEW_YORK).astimezone(UTC)


def test_a_rule_anchored_in_the_calendars_last_years_is_read_not_an_overflow() -> None:
    """Its search for a first fire stops at the end of 9999 (it overflowed the calendar)."""
    rule = RuleSchedule.parse(
        "DTSTART:99991201T080000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=8;BYMINUTE=0"
    )
    first = rule.next_after(datetime(9999, 1, 1, tzinfo=UTC))
    assert first == datetime(9999, 12, 13, 8, 0, tzinfo=UTC)
    assert rule.next_after(first) == datetime(9999, 12, 27, 8, 0, tzinfo=UTC)
    with pytest.raises(InvalidSchedule, match="year 10000"):
        rule.next_after(datetime(9999, 12, 27, 8, 0, tzinfo=UTC))


DAILY_SINCE_1970 = "DTSTART:19700101T000000 RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0"


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["Pacific/Kiritimati", "America/New_York", "Pacific/Pago_Pago", "UTC"]),
    st.sampled_from(
        [
            DAILY_SINCE_1970,
            BIWEEKLY_SUNDAY,
            "DTSTART:99991220T000000 RRULE:FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=0,23;BYMINUTE=59",
        ]
    ),
)
# the calendar's last hours: the local time (14 hours ahead) is past 9999, or the search back
# from a few hours ahead of it is
@example(datetime(9999, 12, 31, 20, 0, tzinfo=UTC), "Pacific/Kiritimati", DAILY_SINCE_1970)
@example(datetime(9999, 12, 31, 20, 0, tzinfo=UTC), "UTC", DAILY_SINCE_1970)
def test_any_instant_of_the_calendar_gets_a_rules_fire_or_a_reason(
    instant: datetime, name: str, expression: str
) -> None:
    """Years 1 to 9999 (a last run stored by anyone), in zones 14 hours either side of UTC:
    never an OverflowError."""
    fires_or_says_why(RuleSchedule.parse(expression, ZoneInfo(name)), instant)


def test_an_instant_without_its_utc_offset_is_refused() -> None:
    rule = repeating(BIWEEKLY_SUNDAY, NEW_YORK)
    with pytest.raises(InvalidSchedule, match="needs its UTC offset"):
        rule.next_after(datetime(2025, 3, 1, 12, 0))


def test_a_weekly_rule_without_days_fires_and_is_said_on_its_anchors_weekday() -> None:
    expression = "DTSTART:20261201T080000 RRULE:FREQ=WEEKLY;INTERVAL=2;BYHOUR=8;BYMINUTE=0"
    rule = RuleSchedule.parse(expression)
    first = rule.next_after(datetime(2026, 12, 1, tzinfo=UTC))
    fires = [first, rule.next_after(first)]
    assert fires == [
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 12, 15, 8, 0, tzinfo=UTC),
    ]
    assert {f.strftime("%A") for f in fires} == {"Tuesday"}
    assert describe(expression) == "every other Tuesday at 08:00, starting 1 December 2026"


def test_a_stored_rule_that_no_longer_reads_is_shown_as_written() -> None:
    """A row written before a rule's checks were tightened is still described, not an error."""
    expression = "DTSTART:20261201T080000 RRULE:FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0"
    assert describe(expression) == f"on the recurrence rule `{expression}`"
    assert describe(expression, "ru") == f"по правилу повторения `{expression}`"
