"""When jobs fire, computed over real calendar dates: weekdays as in crontab, wall-clock times
kept across daylight-saving changes, and the two kinds of clock change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.schedule import CronSchedule, InvalidSchedule, OneOff, schedule_of

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
    # APScheduler 3's CronTrigger goes from this Friday to Tuesday (its issue #529).
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


def test_last_at_or_before_is_the_latest_past_fire() -> None:
    schedule = CronSchedule.parse("0 9 * * 1-5", BERLIN)
    saturday_noon = datetime(2025, 3, 29, 12, tzinfo=BERLIN)
    last = schedule.last_at_or_before(saturday_noon)
    assert last is not None
    assert f"{last.astimezone(BERLIN):%a %H:%M}" == "Fri 09:00"
    assert schedule.last_at_or_before(last) == last


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
