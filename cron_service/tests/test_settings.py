"""cron_service's durations as an operator writes them in the environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cron_service.app.settings import Settings

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def grace(value: object) -> timedelta:
    return Settings.model_validate(
        {"environment": "test", "reminder_misfire_grace": value}
    ).reminder_misfire_grace


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        (90, 90),
        (1.5, 1.5),
        ("45", 45),
        (" 2.5 ", 2.5),
        ("90s", 90),
        ("30m", 1800),
        ("6H", 6 * 3600),
        ("1d", 86400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("PT6H", 6 * 3600),
        ("06:00:00", 6 * 3600),
    ],
)
def test_a_duration_is_read_as_an_operator_writes_it(written: object, seconds: float) -> None:
    assert grace(written) == timedelta(seconds=seconds)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from("dhms")), min_size=1, max_size=4))
def test_any_compound_duration_is_the_sum_of_its_parts(parts: list[tuple[int, str]]) -> None:
    written = "".join(f"{n}{unit}" for n, unit in parts)
    assert grace(written) == timedelta(seconds=sum(n * UNITS[unit] for n, unit in parts))


@pytest.mark.parametrize("written", ["soon", "1h30", "h", "1w", "1h-30m", "-5", "1h and 30m"])
def test_a_duration_that_is_not_one_is_refused_naming_the_setting(written: str) -> None:
    with pytest.raises(ValidationError, match="reminder_misfire_grace"):
        grace(written)


def test_a_zero_resync_interval_is_refused() -> None:
    with pytest.raises(ValidationError, match="cron_resync_interval"):
        Settings.model_validate({"environment": "test", "cron_resync_interval": "0s"})


def test_the_test_clock_is_refused_outside_tests() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="CRON_TEST_CLOCK_START is for tests"):
        Settings.model_validate(
            {
                "environment": "production",
                "service_api_token": "s" * 32,
                "cron_test_clock_start": start,
            }
        )
    test = Settings.model_validate({"environment": "test", "cron_test_clock_start": start})
    assert test.cron_test_clock_start == start


def test_a_fast_test_clock_is_refused_outside_tests() -> None:
    with pytest.raises(ValidationError, match="CRON_TEST_CLOCK_RATE is for tests"):
        Settings.model_validate(
            {"environment": "production", "service_api_token": "s" * 32, "cron_test_clock_rate": 60}
        )
    assert (
        Settings.model_validate(
            {"environment": "test", "cron_test_clock_rate": 60}
        ).cron_test_clock_rate
        == 60
    )
