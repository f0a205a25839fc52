"""The time rules of services/events.py: ranges in the user's zone, kinds of event, ids."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from common.infrastructure.errors import ValidationFailedError
from google_calendar_service.src.domain.events import (
    event_body,
    event_id_for,
    patch_body,
    resolve_range,
    start_instant,
    to_event_out,
)
from google_calendar_service.src.schemas.events import EventCreateIn, EventPatchIn

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_plain_dates_are_local_midnights_of_the_users_zone() -> None:
    start, end = resolve_range("2025-06-02", "2025-06-03", TOKYO, now=NOW, max_days=366)
    assert start.isoformat() == "2025-06-02T00:00:00+09:00"
    assert end.isoformat() == "2025-06-03T00:00:00+09:00"


def test_times_with_an_offset_are_kept_and_naive_ones_are_local() -> None:
    start, end = resolve_range(
        "2025-06-02T08:00:00Z", "2025-06-02T20:00", TOKYO, now=NOW, max_days=366
    )
    assert start == datetime(2025, 6, 2, 8, tzinfo=UTC)
    assert end.isoformat() == "2025-06-02T20:00:00+09:00"


def test_no_range_means_the_next_seven_days() -> None:
    start, end = resolve_range(None, None, TOKYO, now=NOW, max_days=366)
    assert start == NOW and (end - start).days == 7


@pytest.mark.parametrize(
    ("time_min", "time_max"),
    [("2025-06-03", "2025-06-02"), ("2025-01-01", "2027-01-01"), ("tomorrow", None)],
)
def test_an_empty_too_long_or_unreadable_range_is_422(time_min: str, time_max: str) -> None:
    with pytest.raises(ValidationFailedError):
        resolve_range(time_min, time_max, TOKYO, now=NOW, max_days=366)


def _event(start: dict[str, str], end: dict[str, str], **extra: str) -> dict:
    return {"id": "e1", "summary": "x", "start": start, "end": end, **extra}


def test_a_berlin_morning_is_a_tokyo_afternoon() -> None:
    item = _event(
        {"dateTime": "2025-06-02T09:00:00+02:00", "timeZone": "Europe/Berlin"},
        {"dateTime": "2025-06-02T10:00:00+02:00", "timeZone": "Europe/Berlin"},
    )
    event = to_event_out(item, TOKYO)
    assert (event.start, event.end) == ("2025-06-02T16:00:00+09:00", "2025-06-02T17:00:00+09:00")
    assert (event.kind, event.all_day, event.multi_day) == ("timed", False, False)


def test_all_day_multi_day_and_birthday_events_are_told_apart() -> None:
    one_day = to_event_out(_event({"date": "2025-06-02"}, {"date": "2025-06-03"}), TOKYO)
    trip = to_event_out(_event({"date": "2025-06-02"}, {"date": "2025-06-05"}), TOKYO)
    birthday = to_event_out(
        _event({"date": "2025-06-02"}, {"date": "2025-06-03"}, eventType="birthday"), TOKYO
    )
    overnight = to_event_out(
        _event(
            {"dateTime": "2025-06-02T22:00:00+09:00"}, {"dateTime": "2025-06-03T02:00:00+09:00"}
        ),
        TOKYO,
    )
    until_midnight = to_event_out(
        _event(
            {"dateTime": "2025-06-02T22:00:00+09:00"}, {"dateTime": "2025-06-03T00:00:00+09:00"}
        ),
        TOKYO,
    )
    assert (one_day.kind, one_day.last_day) == ("all_day", "2025-06-02")
    assert (trip.kind, trip.last_day) == ("multi_day", "2025-06-04")
    assert birthday.kind == "birthday" and birthday.all_day
    assert overnight.kind == "multi_day"
    assert until_midnight.kind == "timed"


def test_a_created_events_naive_times_are_wall_clock_in_its_zone() -> None:
    data = EventCreateIn(summary="Dentist", start="2025-03-30T09:00", end="2025-03-30T10:00")
    body = event_body(data, "Europe/Berlin", "abcdef12345")
    assert body["start"] == {"dateTime": "2025-03-30T09:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert body["id"] == "abcdef12345"


def test_an_event_that_ends_before_it_starts_is_422() -> None:
    data = EventCreateIn(summary="x", start="2025-06-02T10:00", end="2025-06-02T09:00")
    with pytest.raises(ValidationFailedError):
        event_body(data, "UTC", None)


def test_event_ids_from_one_key_are_equal_and_valid_for_google() -> None:
    first, again = event_id_for("u1", "m1:0"), event_id_for("u1", "m1:0")
    assert first == again != event_id_for("u2", "m1:0")
    assert set(first) <= set("0123456789abcdefghijklmnopqrstuv") and 5 <= len(first) <= 1024


def test_a_range_names_the_field_that_is_wrong() -> None:
    with pytest.raises(ValidationFailedError) as unreadable:
        resolve_range("soon", None, TOKYO, now=NOW, max_days=366)
    assert unreadable.value.fields[0].field == "time_min/time_max"
    with pytest.raises(ValidationFailedError, match="after time_min") as empty:
        resolve_range("2025-06-02T10:00", "2025-06-02T10:00", TOKYO, now=NOW, max_days=366)
    assert empty.value.fields[0].reason == "not after time_min"
    with pytest.raises(ValidationFailedError, match="at most 31 days") as wide:
        resolve_range("2025-06-01", "2025-07-03", TOKYO, now=NOW, max_days=31)
    assert wide.value.fields[0].field == "time_max"


def test_events_of_several_calendars_order_all_day_ones_at_the_users_midnight() -> None:
    late_evening = {"dateTime": "2025-06-01T14:00:00Z"}  # 23:00 in Tokyo
    whole_day = {"date": "2025-06-02"}  # from 00:00 in Tokyo
    morning = {"dateTime": "2025-06-02T08:30:00+09:00"}
    items = [_event(start, start) for start in (morning, whole_day, late_evening)]
    ordered = sorted(items, key=lambda item: start_instant(item, TOKYO))
    assert [item["start"] for item in ordered] == [late_evening, whole_day, morning]


TIMED_ITEM = _event(
    {"dateTime": "2025-06-02T10:00:00+09:00"}, {"dateTime": "2025-06-02T10:30:00+09:00"}
)


def test_a_change_of_guests_alone_touches_no_times() -> None:
    body = patch_body(EventPatchIn(attendees=["ann@example.com"]), TIMED_ITEM, "Asia/Tokyo")
    assert body == {"attendees": [{"email": "ann@example.com"}]}


def test_a_timed_event_made_all_day_gets_a_day_and_an_all_day_one_made_timed_an_hour() -> None:
    to_day = patch_body(EventPatchIn(start="2025-06-05"), TIMED_ITEM, "Asia/Tokyo")
    assert to_day == {"start": {"date": "2025-06-05"}, "end": {"date": "2025-06-06"}}
    trip = _event({"date": "2025-06-02"}, {"date": "2025-06-05"})
    to_time = patch_body(EventPatchIn(start="2025-06-03T09:00"), trip, "Asia/Tokyo")
    assert to_time["end"] == {"dateTime": "2025-06-03T10:00:00+09:00", "timeZone": "Asia/Tokyo"}


def test_a_new_end_of_the_other_kind_than_the_start_is_422() -> None:
    with pytest.raises(ValidationFailedError, match="both be dates or both be date-times") as err:
        patch_body(EventPatchIn(end="2025-06-04"), TIMED_ITEM, "Asia/Tokyo")
    assert err.value.fields[0].field == "end"
