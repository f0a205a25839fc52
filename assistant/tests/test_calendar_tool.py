"""The calendar tool's reading of times: ISO as given, phrases in the user's zone, a phrase
without a time of day as a whole day, and an end date as the last day included."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from assistant.src.tools.base import Actor
from assistant.src.tools.calendar_tool import _day_or_moment, private_chat_only

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2025, 6, 1, 14, 30, 5, tzinfo=TOKYO)


def test_iso_dates_and_times_are_taken_as_given() -> None:
    assert _day_or_moment("2025-06-03", TOKYO, NOW) == date(2025, 6, 3)
    assert _day_or_moment("2025-06-03T09:00", TOKYO, NOW) == datetime(2025, 6, 3, 9, tzinfo=TOKYO)
    assert _day_or_moment("2025-06-03T09:00Z", TOKYO, NOW) == datetime(2025, 6, 3, 18, tzinfo=TOKYO)


def test_a_day_phrase_is_a_whole_day_and_a_time_phrase_a_moment() -> None:
    assert _day_or_moment("tomorrow", TOKYO, NOW) == date(2025, 6, 2)
    assert _day_or_moment("завтра", TOKYO, NOW) == date(2025, 6, 2)
    assert _day_or_moment("today", TOKYO, NOW) == date(2025, 6, 1)
    morning = _day_or_moment("this morning", TOKYO, NOW)
    assert isinstance(morning, datetime) and morning.hour == 9  # a range may start earlier
    moment = _day_or_moment("tomorrow at 3pm", TOKYO, NOW)
    assert isinstance(moment, datetime) and moment.isoformat() == "2025-06-02T15:00:00+09:00"


def test_a_group_gets_no_calendar_and_no_link() -> None:
    actor = Actor("u1", "chat:-1", -1, "UTC", name="Ann", is_group=True)
    answer = private_chat_only(actor)
    assert answer["status"] == "private_chat_required" and "Ann" in answer["message"]
    assert "connect_url" not in answer
