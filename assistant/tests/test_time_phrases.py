"""The time phrase corpus (`data/time_phrases.json`): every phrase, at every fixed now, resolves
to the expected local moment (offset included) or is refused with a question; and any text at
all either resolves to a moment at or after now in the user's zone or is a `ToolError`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.tools.base import ToolError
from assistant.src.tools.when import UnclearTime, local, resolve

CORPUS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "time_phrases.json").read_text(encoding="utf-8")
)
NOWS = {
    name: datetime.fromisoformat(spec["now"]).replace(tzinfo=ZoneInfo(spec["timezone"]))
    for name, spec in CORPUS["nows"].items()
}
CASES = [
    pytest.param(entry["phrase"], now_id, expected, id=f"{now_id}:{entry['phrase']}")
    for entry in CORPUS["phrases"]
    for now_id, expected in entry["expected"].items()
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


@pytest.mark.parametrize(("phrase", "now_id", "expected"), CASES)
def test_phrase_resolves_as_expected(phrase: str, now_id: str, expected: str) -> None:
    assert outcome(phrase, NOWS[now_id]) == expected
    if expected != "refused":
        # What a reminder confirms names this very moment: weekday, date, time, zone, offset.
        moment = datetime.fromisoformat(expected)
        zone_name = CORPUS["nows"][now_id]["timezone"]
        offset = moment.strftime("%z")
        assert local(moment.astimezone(ZoneInfo(zone_name))) == (
            f"{moment:%A %d %B %Y, %H:%M} ({zone_name}, UTC{offset[:3]}:{offset[3:]})"
        )


def test_a_refusal_is_a_question_for_the_user() -> None:
    now = NOWS["la_late"]
    with pytest.raises(UnclearTime, match=r"ask the user: .*\?"):
        resolve("at 3", now.tzinfo, now)  # type: ignore[arg-type]


ZONES = st.sampled_from(
    ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles", "Europe/Moscow",
     "Australia/Lord_Howe", "Asia/Kathmandu", "UTC", "Pacific/Kiritimati", "America/St_Johns"]
)  # fmt: skip
NOW_VALUES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), allow_imaginary=False
)
WORDS = st.sampled_from(
    ["tomorrow", "at", "9", "in", "30", "minutes", "завтра", "в", "утра", "вечера", "через",
     "час", "on", "friday", "next", "пятницу", "5", "марта", "25.12", "12/05", "pm", "am",
     "noon", "полночь", "tonight", "the", "day", "after", "half", "an", "hour", "послезавтра",
     ":", "30", "2025-03-09T02:30", "Z", "-", "+03:00", "evening", "ночи", "числа", "1st"]
)  # fmt: skip


def check(phrase: str, zone_name: str, naive_now: datetime) -> None:
    tz = ZoneInfo(zone_name)
    now = naive_now.replace(tzinfo=tz)
    try:
        found = resolve(phrase, tz, now)
    except ToolError:
        return
    assert found.at >= now.replace(microsecond=0)
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
