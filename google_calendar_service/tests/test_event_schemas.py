"""What the service accepts as an event to create or a change to one: the caller's input is
read here, so each refusal names the field and why."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from common.tests.strategies import any_text
from google_calendar_service.src.schemas.events import EventCreateIn, EventPatchIn, parse_when

TIMED = {"summary": "Standup", "start": "2026-03-02T09:00", "end": "2026-03-02T09:15"}


def refusal(model: type[EventCreateIn | EventPatchIn], body: Mapping[str, object]) -> str:
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    return str(err.value)


def test_a_ten_character_text_is_an_all_day_date_and_a_longer_one_a_time() -> None:
    assert parse_when(" 2026-03-02 ") == date(2026, 3, 2)
    assert parse_when("2026-03-02T09:00:00Z") == datetime(2026, 3, 2, 9, tzinfo=UTC)


@settings(max_examples=50, deadline=None)
@given(st.datetimes(timezones=st.just(timezone(timedelta(hours=5, minutes=30)))))
def test_any_iso_time_with_an_offset_reads_back_as_itself(moment: datetime) -> None:
    assert parse_when(moment.isoformat()) == moment


@pytest.mark.parametrize("field", ["start", "end"])
def test_a_time_that_is_no_iso_date_is_refused_naming_its_field(field: str) -> None:
    message = refusal(EventCreateIn, {**TIMED, field: "next tuesday"})
    assert field in message
    assert "not an ISO date (YYYY-MM-DD) or date-time" in message
    message = refusal(EventPatchIn, {field: "2026-13-45"})
    assert field in message
    assert "not an ISO date" in message


@settings(max_examples=80, deadline=None)
@given(any_text(max_size=40))
def test_any_text_as_a_start_is_taken_only_when_it_parses(text: str) -> None:
    try:
        parse_when(text)
    except ValueError:
        parses = False
    else:
        parses = True
    body = {"summary": "x", "start": text, "end": text}
    try:
        EventCreateIn.model_validate(body)
    except ValidationError as err:
        assert not parses, err
    else:
        assert parses


def test_a_date_and_a_time_cannot_make_one_event() -> None:
    body = {**TIMED, "end": "2026-03-03"}
    assert "both be dates or both be date-times" in refusal(EventCreateIn, body)
    patch = {"start": "2026-03-02", "end": "2026-03-02T10:00"}
    assert "both be dates or both be date-times" in refusal(EventPatchIn, patch)
    whole_day = EventCreateIn.model_validate(
        {"summary": "Off", "start": "2026-03-02", "end": "2026-03-03"}
    )
    assert whole_day.end == "2026-03-03"


def test_a_zone_that_is_not_iana_is_refused_and_a_real_one_kept() -> None:
    assert "'Mars/Olympus' is not an IANA time zone" in refusal(
        EventCreateIn, {**TIMED, "timezone": "Mars/Olympus"}
    )
    assert "is not an IANA time zone" in refusal(EventPatchIn, {"timezone": "Nowhere"})
    assert (
        EventCreateIn.model_validate({**TIMED, "timezone": "Asia/Tokyo"}).timezone == "Asia/Tokyo"
    )


def test_guests_are_trimmed_once_each_and_a_non_address_is_refused() -> None:
    event = EventCreateIn.model_validate(
        {**TIMED, "attendees": [" ann@example.com", "ann@example.com ", "bob@example.org"]}
    )
    assert event.attendees == ["ann@example.com", "bob@example.org"]
    assert "not an email address: 'bob'" in refusal(EventCreateIn, {**TIMED, "attendees": ["bob"]})
    patch = EventPatchIn.model_validate({"attendees": ["c@example.com"]})
    assert patch.attendees == ["c@example.com"]
    assert "not an email address" in refusal(EventPatchIn, {"attendees": ["a@b"]})
    assert EventPatchIn.model_validate({"attendees": None}).attendees is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("FREQ=WEEKLY", "not an RRULE/EXDATE/RDATE line"),
        ("RRULE:FREQ=WEEKLY COUNT=5", "not an RRULE/EXDATE/RDATE line"),
        ("RRULE:COUNT=5", "an RRULE needs FREQ=DAILY|WEEKLY|MONTHLY|YEARLY"),
        ("RRULE:FREQ=HOURLY", "an RRULE needs FREQ="),
        ("RRULE:XFREQ=DAILY", "an RRULE needs FREQ="),
    ],
)
def test_a_recurrence_line_google_would_refuse_is_refused_here(line: str, why: str) -> None:
    message = refusal(EventCreateIn, {**TIMED, "recurrence": [line]})
    assert "recurrence" in message
    assert why in message


def test_recurrence_lines_google_takes_are_kept_trimmed() -> None:
    lines = [" RRULE:FREQ=WEEKLY;COUNT=5 ", "EXDATE;TZID=Europe/Berlin:20260309T090000"]
    event = EventCreateIn.model_validate({**TIMED, "recurrence": lines})
    assert event.recurrence == ["RRULE:FREQ=WEEKLY;COUNT=5", lines[1]]
    monthly = EventCreateIn.model_validate(
        {**TIMED, "recurrence": ["RRULE:INTERVAL=2;FREQ=MONTHLY"]}
    )
    assert monthly.recurrence == ["RRULE:INTERVAL=2;FREQ=MONTHLY"]


def test_a_change_must_change_something_besides_the_zone() -> None:
    assert "nothing to change" in refusal(EventPatchIn, {})
    assert "nothing to change" in refusal(EventPatchIn, {"timezone": "Europe/Paris"})
    moved = EventPatchIn.model_validate({"start": "2026-03-02T10:00", "timezone": "Europe/Paris"})
    assert (moved.start, moved.end) == ("2026-03-02T10:00", None)


def test_a_calendar_id_with_a_path_or_space_is_refused() -> None:
    for bad in ["a/b", "has space", "q?x", ""]:
        assert "calendar_id" in refusal(EventCreateIn, {**TIMED, "calendar_id": bad})
    good = "team@group.calendar.google.com"
    assert EventCreateIn.model_validate({**TIMED, "calendar_id": good}).calendar_id == good
