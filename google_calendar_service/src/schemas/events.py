"""The body of an event to create, as the service reads it. What the service answers is
`common.calendar_client`'s, the models its callers read with."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from common.timezones import known_zone


def parse_when(text: str) -> date | datetime:
    """`2024-05-01` is a date (an all-day event); anything longer an ISO date-time."""
    text = text.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    if known_zone(name) is None:
        raise ValueError(f"{name!r} is not an IANA time zone")
    return name


class EventCreateIn(BaseModel):
    """One event to create. Times without an offset are read in `timezone` (else the
    user's); two dates make an all-day event, the end date exclusive as in Google."""

    summary: str = Field(min_length=1, max_length=1024)
    start: str
    end: str
    description: str | None = Field(default=None, max_length=8192)
    location: str | None = Field(default=None, max_length=1024)
    timezone: str | None = None
    #: The same key always makes the same event id, so a retried create never doubles.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=512)

    _timezone = field_validator("timezone")(check_timezone)

    @field_validator("start", "end")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_when(value)
        except ValueError as exc:
            raise ValueError("not an ISO date (YYYY-MM-DD) or date-time") from exc
        return value

    @model_validator(mode="after")
    def _same_kind(self) -> EventCreateIn:
        start, end = parse_when(self.start), parse_when(self.end)
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise ValueError("start and end must both be dates or both be date-times")
        return self
