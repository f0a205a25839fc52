"""Free time from several calendars' busy intervals (pure): merged busy time and the gaps
cover the range exactly, without overlaps, in order; and a move keeps an event's length."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.calendar_client import Interval
from google_calendar_service.src.domain.events import patch_body
from google_calendar_service.src.domain.free_busy import (
    busy_spans,
    gaps,
    intervals,
    merge,
    unreadable,
)
from google_calendar_service.src.schemas.events import EventPatchIn

START = datetime(2025, 6, 3, 12, tzinfo=UTC)
END = START + timedelta(hours=6)
_SPAN = st.tuples(st.integers(0, 360), st.integers(1, 240)).map(
    lambda p: (START + timedelta(minutes=p[0]), START + timedelta(minutes=p[0] + p[1]))
)


@settings(max_examples=100, deadline=None)
@given(spans=st.lists(_SPAN, max_size=12))
def test_busy_and_free_cover_the_range_exactly(spans: list[tuple[datetime, datetime]]) -> None:
    clipped = [(max(s, START), min(e, END)) for s, e in spans if min(e, END) > max(s, START)]
    busy = merge(clipped)
    free = gaps(busy, START, END)
    pieces = sorted(busy + free)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(busy))  # apart, in order
    assert pieces[0][0] == START
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert sum(((e - s) for s, e in pieces), timedelta()) == END - START


def test_touching_meetings_are_one_busy_stretch() -> None:
    hour = timedelta(hours=1)
    busy = merge([(START + hour, START + 2 * hour), (START, START + hour)])
    assert busy == [(START, START + 2 * hour)]
    assert gaps(busy, START, END) == [(START + 2 * hour, END)]


def test_googles_answer_is_read_clipped_to_the_range_and_its_errors_named() -> None:
    answer = {
        "calendars": {
            "me@example.com": {
                "busy": [
                    {"start": "2025-06-03T11:00:00Z", "end": "2025-06-03T13:00:00Z"},
                    {"start": "2025-06-03T15:00:00+02:00", "end": "2025-06-03T16:00:00+02:00"},
                    {"start": "2025-06-03T17:30:00Z", "end": "2025-06-03T19:00:00Z"},
                    {"start": "2025-06-03T20:00:00Z", "end": "2025-06-03T21:00:00Z"},
                ]
            },
            "team@group.calendar.google.com": {"busy": []},
            "gone@example.com": {"errors": [{"domain": "global", "reason": "notFound"}]},
        }
    }
    assert busy_spans(answer, START, END) == [
        (START, START + timedelta(hours=1)),
        (START + timedelta(hours=1), START + timedelta(hours=2)),
        (START + timedelta(hours=5, minutes=30), END),
    ]
    assert unreadable(answer) == ["gone@example.com"]
    assert busy_spans({}, START, END) == [] and unreadable({}) == []


def test_intervals_are_told_in_the_users_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    told = intervals([(START, START + timedelta(minutes=30))], tokyo)
    assert told == [Interval(start="2025-06-03T21:00:00+09:00", end="2025-06-03T21:30:00+09:00")]


def test_a_new_start_alone_keeps_the_length_and_a_new_day_an_all_day_event() -> None:
    timed = {
        "start": {"dateTime": "2025-06-03T10:00:00+02:00"},
        "end": {"dateTime": "2025-06-03T10:45:00+02:00"},
    }
    moved = patch_body(EventPatchIn(start="2025-06-04T15:00"), timed, "Europe/Berlin")
    assert moved["start"]["dateTime"] == "2025-06-04T15:00:00+02:00"
    assert moved["end"]["dateTime"] == "2025-06-04T15:45:00+02:00"
    trip = {"start": {"date": "2025-06-03"}, "end": {"date": "2025-06-06"}}
    later = patch_body(EventPatchIn(start="2025-06-10"), trip, "Europe/Berlin")
    assert later == {"start": {"date": "2025-06-10"}, "end": {"date": "2025-06-13"}}
    renamed = patch_body(EventPatchIn(summary="Trip"), trip, "Europe/Berlin")
    assert renamed == {"summary": "Trip"}
