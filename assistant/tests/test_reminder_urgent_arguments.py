"""An urgent reminder's arguments as a model may write them: `urgent`, `repeat_every_minutes`
(a number or words) and `max_repeats` are read within rest_service's bounds, or refused with
a reason the model reads; nothing else comes out, whatever is sent."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.tools.base import ToolError
from assistant.src.tools.reminder_tool import MAX_REPEATS, REPEAT_MINUTES, repeat_settings

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10_000, 10_000),
    st.floats(-1e4, 1e4),
    st.text(max_size=30),
)


def read(**arguments: Any) -> dict[str, Any] | str:
    try:
        return repeat_settings(arguments)
    except ToolError as exc:
        return str(exc)


@settings(max_examples=80, deadline=None)
@given(minutes=st.integers(-100, 3000), most=st.integers(-10, 100))
def test_numbers_are_taken_within_bounds_and_refused_outside(minutes: int, most: int) -> None:
    got = read(repeat_every_minutes=minutes, max_repeats=most)
    fits = (
        REPEAT_MINUTES[0] <= minutes <= REPEAT_MINUTES[1]
        and MAX_REPEATS[0] <= most <= MAX_REPEATS[1]
    )
    if fits:
        assert got == {"urgent": True, "repeat_every_minutes": minutes, "max_repeats": most}
    else:
        assert isinstance(got, str) and "must be between" in got


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 2000),
    form=st.sampled_from(
        ["{n}", "every {n} min", "{n}m", "Every {n} minutes", "каждые {n} минут", "{n} min."]
    ),
)
def test_minutes_in_words_read_as_the_number(n: int, form: str) -> None:
    got = read(repeat_every_minutes=form.format(n=n))
    if 1 <= n <= 1440:
        assert got == {"urgent": True, "repeat_every_minutes": n}
    else:
        assert got == "repeat_every_minutes must be between 1 and 1440"


@settings(max_examples=30, deadline=None)
@given(
    hours=st.integers(0, 30),
    form=st.sampled_from(["{h} hour", "every {h} hours", "{h}h", "{h} часа"]),
)
def test_hours_in_words_are_sixty_minutes_each(hours: int, form: str) -> None:
    got = read(repeat_every_minutes=form.format(h=hours))
    expected = {"urgent": True, "repeat_every_minutes": hours * 60} if 1 <= hours <= 24 else None
    assert got == (expected or "repeat_every_minutes must be between 1 and 1440")


@settings(max_examples=120, deadline=None)
@given(urgent=_ANY, every=_ANY, most=_ANY)
def test_anything_sent_is_read_within_bounds_or_refused_with_a_reason(
    urgent: Any, every: Any, most: Any
) -> None:
    got = read(urgent=urgent, repeat_every_minutes=every, max_repeats=most)
    if isinstance(got, str):
        assert got.startswith(("urgent", "repeat_every_minutes", "max_repeats"))
        return
    assert set(got) <= {"urgent", "repeat_every_minutes", "max_repeats"}
    assert REPEAT_MINUTES[0] <= got.get("repeat_every_minutes", 5) <= REPEAT_MINUTES[1]
    assert MAX_REPEATS[0] <= got.get("max_repeats", 6) <= MAX_REPEATS[1]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, {}),
        ({"urgent": False}, {"urgent": False}),
        ({"urgent": True}, {"urgent": True}),
        ({"max_repeats": 3}, {"urgent": True, "max_repeats": 3}),
        ({"urgent": "yes"}, "urgent must be true or false"),
        ({"max_repeats": "3"}, "max_repeats must be a whole number"),
        ({"repeat_every_minutes": True}, "repeat_every_minutes must be a number of minutes"),
        ({"repeat_every_minutes": 7.5}, "repeat_every_minutes: 7.5 is not a number of minutes"),
    ],
)
def test_what_the_schema_let_through_is_checked_again(
    arguments: dict[str, Any], expected: dict[str, Any] | str
) -> None:
    assert read(**arguments) == expected
