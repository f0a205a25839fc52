"""The time phrase corpus (`data/time_phrases.json`): every phrase, at every fixed now, resolves
to the expected local moment (offset included) or is refused with a question; and any text at
all either resolves to a moment at or after now in the user's zone or is a `ToolError`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.tools.base import ToolError
from assistant.src.tools.when import UnclearTime, local, resolve, zone

CORPUS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "time_phrases.json").read_text(encoding="utf-8")
)
NOWS = {
    name: datetime.fromisoformat(spec["now"]).replace(tzinfo=ZoneInfo(spec["timezone"]))
    for name, spec in CORPUS["nows"].items()
}
#: One test a phrase, at every fixed now of the corpus: each case is a few microseconds of
#: work, and 5 510 tests of their own cost pytest ten times that.
CASES = [
    pytest.param(entry["phrase"], entry["expected"], id=entry["phrase"])
    for entry in CORPUS["phrases"]
]


def outcome(phrase: str, now: datetime) -> str:
    try:
        found = resolve(phrase, now.tzinfo, now)  # type: ignore[arg-type]
    except UnclearTime:
        return "refused"
    return found.at.isoformat(timespec="seconds")


def test_the_corpus_is_large_and_half_english_half_russian() -> None:
    languages = [entry["language"] for entry in CORPUS["phrases"]]
    english, russian = languages.count("en"), languages.count("ru")
    assert english + russian >= 300
    assert abs(english - russian) <= 0.1 * (english + russian)
    refused = sum("refused" in entry["expected"].values() for entry in CORPUS["phrases"])
    assert refused >= 50


@pytest.mark.parametrize(("phrase", "expected"), CASES)
def test_phrase_resolves_as_expected_at_every_now(phrase: str, expected: dict[str, str]) -> None:
    wrong = {
        now_id: (found, want)
        for now_id, want in expected.items()
        if (found := outcome(phrase, NOWS[now_id])) != want
    }
    assert not wrong, f"{phrase!r} at each now: (found, expected) {wrong}"
    for now_id, want in expected.items():
        if want == "refused":
            continue
        # What a reminder confirms names this very moment: weekday, date, time, zone, offset.
        moment = datetime.fromisoformat(want)
        zone_name = CORPUS["nows"][now_id]["timezone"]
        offset = moment.strftime("%z")
        assert local(moment.astimezone(ZoneInfo(zone_name))) == (
            f"{moment:%A %d %B %Y, %H:%M} ({zone_name}, UTC{offset[:3]}:{offset[3:]})"
        ), now_id


def test_a_refusal_is_a_question_for_the_user() -> None:
    now = NOWS["la_late"]
    with pytest.raises(UnclearTime, match=r"ask the user: .*\?"):
        resolve("at 3", now.tzinfo, now)  # type: ignore[arg-type]


ZONES = st.sampled_from(
    ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "Europe/Moscow",
     "Australia/Lord_Howe", "Asia/Kathmandu", "UTC", "Pacific/Kiritimati", "America/St_Johns"]
)  # fmt: skip
NOW_VALUES = st.datetimes(  # type: ignore[call-overload]  # naive bounds are what hypothesis takes with allow_imaginary
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), allow_imaginary=False
)
WORDS = st.sampled_from(
    ["tomorrow", "at", "9", "in", "30", "minutes", "завтра", "в", "утра", "вечера", "через",
     "час", "on", "friday", "next", "пятницу", "5", "марта", "25.12", "12/05", "pm", "am",
     "noon", "полночь", "tonight", "the", "day", "after", "half", "an", "hour", "послезавтра",
     ":", "30", "2025-03-09T02:30", "Z", "-", "+03:00", "evening", "ночи", "числа", "1st",
     "quarter", "past", "to", "nine", "полдевятого", "без", "четверти", "четверть", "пятого",
     "end", "of", "month", "месяца", "конце", "следующего", "last", "first", "fortnight",
     "same", "time", "week", "неделе", "это", "же", "время", "midnight", "сегодня", "31st"]
)  # fmt: skip


def check(phrase: str, zone_name: str, naive_now: datetime) -> None:
    tz = ZoneInfo(zone_name)
    now = naive_now.replace(tzinfo=tz)
    try:
        found = resolve(phrase, tz, now)
    except ToolError:
        return
    # compared as instants: one zone's datetimes compare by their wall clocks
    assert found.at.astimezone(UTC) >= now.replace(microsecond=0).astimezone(UTC)
    assert found.at.tzinfo == tz


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), ZONES, NOW_VALUES)
def test_any_text_is_a_moment_from_now_on_or_a_tool_error(
    phrase: str, zone_name: str, now: datetime
) -> None:
    check(phrase, zone_name, now)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), ZONES, NOW_VALUES)
def test_any_text_for_a_calendar_range_is_a_moment_or_a_tool_error(
    phrase: str, zone_name: str, now: datetime
) -> None:
    """The calendar reads with `future=False`: past moments are allowed, nothing else is."""
    tz = ZoneInfo(zone_name)
    try:
        found = resolve(phrase, tz, now.replace(tzinfo=tz), future=False)
    except ToolError:
        return
    assert found.at.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=7), ZONES, NOW_VALUES)
def test_any_mix_of_time_words_is_a_moment_from_now_on_or_a_tool_error(
    words: list[str], zone_name: str, now: datetime
) -> None:
    check(" ".join(words), zone_name, now)


#: A Tuesday afternoon in Berlin, for the questions below.
BERLIN_TUESDAY = datetime(2025, 6, 10, 14, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("phrase", "question"),
    [
        ("in 1.5 days", "how many days exactly"),
        ("in 4.5 weeks", "how many days exactly"),
        ("in 2 days and a half", "how many days exactly"),
        ("tomorrow on the 3rd", "two different days are named"),
        ("on the 3rd tomorrow", "two different days are named"),
        ("5 june tomorrow", "two different days are named"),
        ("tomorrow 5 june", "two different days are named"),
        ("on the 20th next friday", "two different days are named"),
        ("next friday on the 20th", "two different days are named"),
        ("in 6 years", "more than five years ahead"),
        ("in " + " ".join(["9999 weeks"] * 45), "that is too far ahead"),
        ("friday tomorrow", "is a Wednesday, not a Friday"),
        ("13/45", "there is no day 13 of month 45"),
        ("on 31 april", "there is no 31 April"),
        ("on 29 february 2027", "there is no 29 February"),
        ("the 32nd", "there is no day 32 in a month"),
        ("in 9999 years", "that day does not exist in that month"),
        ("at 12 in the morning", "noon or midnight"),
        ("at 9 in the afternoon", "9 in the afternoon? which time"),
        ("at 3 in the evening", "3 in the evening? which time"),
        ("at 6 at night", "6 at night? which time"),
        ("2025-06-10T25:00", "is not a valid date and time"),
        ("9999-12-31T23:59:59+00:00", "is out of range"),
        ("2025-03-30T02:30", "the clocks skip it"),
        ("this tuesday at 9", "today's 09:00 has passed"),
        ("tuesday at 15", "today (Tuesday 10 June) or Tuesday 17 June?"),
        ("next friday", "Friday 13 June or Friday 20 June?"),
        ("quarter past four", "4:15 in the morning or 16:15 in the afternoon?"),
        ("четверть пятого", "4:15 in the morning or 16:15 in the afternoon?"),
        ("без четверти шесть", "5:45 in the morning or 17:45 in the afternoon?"),
        ("75 minutes past 3", "is not a time of day"),
        ("tomorrow at midnight", "midnight at the start or at the end of that day?"),
        ("next week", "which day of next week"),
        ("the same time", "the same time on which day?"),
        ("in a week at the same time at 9", "the same time and another time are both named"),
        ("next friday of next week", "'next' and 'next week' are both named"),
        ("tomorrow next week", "next week and another day are both named"),
        ("next month", "which day of the month"),
        ("the 31st of this month", "that day is not in June 2025"),
        ("tomorrow at the end of the month", "two different days are named"),
        ("the last friday of this month at 9 tomorrow", "two different days are named"),
        ("the end of the month on friday", "two different days are named"),
        ("tomorrow tonight", "two different days are named"),
    ],
)
def test_a_phrase_that_could_mean_two_things_or_none_is_asked_about(
    phrase: str, question: str
) -> None:
    with pytest.raises(UnclearTime, match=re.escape(question)):
        resolve(phrase, BERLIN_TUESDAY.tzinfo, BERLIN_TUESDAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("in one and a half hours", "2025-06-10T15:30"),
        # "a half" is not "a h(our)" and "alf" left over
        ("in 2 hours and a half", "2025-06-10T16:30"),
        ("через 2 часа с половиной", "2025-06-10T16:30"),
        ("29 february", "2028-02-29T09:00"),  # the next year that has one
        ("on the 31st at 9", "2025-07-31T09:00"),  # June has no 31st
        ("at 1 tonight", "2025-06-11T01:00"),
        ("at 6 tonight", "2025-06-10T18:00"),
        ("at 12 at night", "2025-06-11T00:00"),
        ("at 3 at night", "2025-06-11T03:00"),
        ("at 10 at night", "2025-06-10T22:00"),
        ("at 12 in the afternoon", "2025-06-11T12:00"),
    ],
)
def test_a_phrase_with_its_day_or_part_of_day_resolves_to_the_meant_moment(
    phrase: str, expected: str
) -> None:
    found = resolve(phrase, BERLIN_TUESDAY.tzinfo, BERLIN_TUESDAY)  # type: ignore[arg-type]
    assert found.at.replace(tzinfo=None).isoformat(timespec="minutes") == expected


@pytest.mark.parametrize(
    ("phrase", "question"),
    [
        ("wednesday of next week", "Wednesday 18 June or Wednesday 25 June?"),
        ("next week on monday at 10", "Monday 16 June or Monday 23 June?"),
    ],
)
def test_a_weekday_of_next_week_asked_on_a_sunday_in_english_names_both_weeks(
    phrase: str, question: str
) -> None:
    sunday = datetime(2025, 6, 15, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with pytest.raises(UnclearTime, match=re.escape(question)):
        resolve(phrase, sunday.tzinfo, sunday)  # type: ignore[arg-type]
    # Russian weeks start on Monday: no question
    found = resolve("в среду на следующей неделе", sunday.tzinfo, sunday)  # type: ignore[arg-type]
    assert found.at.replace(tzinfo=None).isoformat(timespec="minutes") == "2025-06-18T09:00"


@pytest.mark.parametrize(
    ("name", "told"), [("UTC+30", "no zone keeps UTC+30:00"), ("Springfield", "unknown timezone")]
)
def test_a_timezone_no_zone_matches_is_a_tool_error_saying_why(name: str, told: str) -> None:
    with pytest.raises(ToolError, match=re.escape(told)):
        zone(name)


NEW_YORK = ZoneInfo("America/New_York")
#: 01:10 the second time (EST): the clocks went back at 02:00 EDT, an hour ago.
REPEATED_HOUR = datetime(2025, 11, 2, 1, 10, fold=1, tzinfo=NEW_YORK)


def test_in_the_repeated_hour_a_clock_time_ahead_is_its_second_occurrence_not_a_past_one() -> None:
    found = resolve("at 01:45", NEW_YORK, REPEATED_HOUR)
    # Datetimes of one zone compare by their wall clocks: compare the instants.
    assert found.at.astimezone(UTC) == datetime(2025, 11, 2, 6, 45, tzinfo=UTC)
    assert found.at.utcoffset() == timedelta(hours=-5)


def test_in_the_repeated_hour_a_date_and_time_already_passed_is_asked_about() -> None:
    with pytest.raises(UnclearTime, match="has already passed"):
        resolve("2025-11-02T01:45", NEW_YORK, REPEATED_HOUR)


@pytest.mark.parametrize("phrase", ["29 february", "on the 10th"])
def test_a_date_that_comes_round_again_only_after_the_calendar_ends_is_asked_about(
    phrase: str,
) -> None:
    end = datetime(9999, 12, 15, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    with pytest.raises(UnclearTime, match="which date is meant"):
        resolve(phrase, end.tzinfo, end)  # type: ignore[arg-type]


END_OF_DECEMBER_9999 = datetime(9999, 12, 15, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    "phrase", ["the end of the month", "the end of this month", "the last friday of the month"]
)
def test_a_day_of_the_calendars_last_month_resolves_though_no_month_follows(phrase: str) -> None:
    """They asked "too far ahead?" in December 9999: the month after was worked out first."""
    found = resolve(phrase, END_OF_DECEMBER_9999.tzinfo, END_OF_DECEMBER_9999)  # type: ignore[arg-type]
    assert found.at.replace(tzinfo=None).isoformat(timespec="minutes") == "9999-12-31T09:00"


@pytest.mark.parametrize("phrase", ["the end of next month", "the first monday of the month"])
def test_a_day_of_the_month_after_the_calendar_ends_is_asked_about(phrase: str) -> None:
    with pytest.raises(UnclearTime, match="that is too far ahead"):
        resolve(phrase, END_OF_DECEMBER_9999.tzinfo, END_OF_DECEMBER_9999)  # type: ignore[arg-type]


@pytest.mark.parametrize("phrase", ["9999-12-31T23:30", "on 31 december at 23:30"])
def test_a_wall_time_west_of_utc_whose_instant_is_past_the_calendars_end_is_asked_about(
    phrase: str,
) -> None:
    now = datetime(9999, 12, 30, 12, 0, tzinfo=NEW_YORK)
    with pytest.raises(UnclearTime, match="is out of range: which date is meant"):
        resolve(phrase, NEW_YORK, now)
