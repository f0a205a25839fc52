"""When a message was received, which orders a search merged across accounts: Gmail's
internalDate, else the Date header, else the oldest possible."""

from __future__ import annotations

import pytest

from google_calendar_service.src.domain.mail import _received


def _with_date(date: str) -> dict[str, object]:
    return {"payload": {"headers": [{"name": "date", "value": date}]}}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"internalDate": "1764151200000"}, 1764151200000),
        (_with_date("Wed, 26 Nov 2025 10:00:00 +0000"), 1764151200000),
        (_with_date("not a date"), 0),
        ({}, 0),
    ],
)
def test_when_a_message_was_received(message: dict[str, object], expected: int) -> None:
    assert _received(message) == expected
