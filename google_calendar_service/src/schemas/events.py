"""The body of an event to create, as the service reads it. What the service answers is
`common.features.calendar_client`'s, the models its callers read with."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from common.features.timezones import known_zone

#: A calendar's id as Google gives them (an email address, `…@group.calendar.google.com`).
CalendarId = Annotated[str, StringConstraints(pattern=r"^[^\s/?#]{1,255}$")]
#: A connected Google account: its address, or a part of it that names one account ("work").
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\s/?#]{1,320}$")]
#: An event's id: base32hex, and `_` with a time for an instance of a recurring event.
EVENT_ID_PATTERN = r"^[A-Za-z0-9_-]{5,1024}$"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
_RECURRENCE = re.compile(r"^(RRULE|EXRULE|RDATE|EXDATE)[:;]\S{1,500}$")
_FREQ = re.compile(r"(^|;)FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)(;|$)")


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
    #: Which calendar; None is the default one of the account.
    calendar_id: CalendarId | None = None
    #: Which Google account; None: the one `calendar_id` belongs to, else the default one.
    account: AccountName | None = None
    attendees: list[str] = Field(default_factory=list, max_length=50)
    #: RFC 5545 lines as Google takes them ("RRULE:FREQ=WEEKLY;COUNT=5").
    recurrence: list[str] = Field(default_factory=list, max_length=10)

    _timezone = field_validator("timezone")(check_timezone)

    @field_validator("attendees")
    @classmethod
    def _guests(cls, value: list[str]) -> list[str]:
        return check_attendees(value)

    @field_validator("recurrence")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        return check_recurrence(value)

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


def check_attendees(addresses: list[str]) -> list[str]:
    cleaned = [a.strip() for a in addresses]
    bad = [a for a in cleaned if not _EMAIL.fullmatch(a)]
    if bad:
        raise ValueError(f"not an email address: {bad[0][:80]!r}")
    return list(dict.fromkeys(cleaned))


def check_recurrence(lines: list[str]) -> list[str]:
    """Lines Google accepts; an RRULE must name a frequency."""
    cleaned = [line.strip() for line in lines]
    for line in cleaned:
        if not _RECURRENCE.fullmatch(line):
            raise ValueError(f"not an RRULE/EXDATE/RDATE line: {line[:80]!r}")
        if line.startswith("RRULE") and not _FREQ.search(line.split(":", 1)[-1]):
            raise ValueError(f"an RRULE needs FREQ=DAILY|WEEKLY|MONTHLY|YEARLY: {line[:80]!r}")
    return cleaned


class EventPatchIn(BaseModel):
    """What changes in an event; fields left out stay. A new start without an end keeps
    the event's length (a move)."""

    summary: str | None = Field(default=None, min_length=1, max_length=1024)
    start: str | None = None
    end: str | None = None
    description: str | None = Field(default=None, max_length=8192)
    location: str | None = Field(default=None, max_length=1024)
    timezone: str | None = None
    attendees: list[str] | None = Field(default=None, max_length=50)

    _timezone = field_validator("timezone")(check_timezone)

    @field_validator("attendees")
    @classmethod
    def _guests(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_attendees(value)

    @field_validator("start", "end")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_when(value)
        except ValueError as exc:
            raise ValueError("not an ISO date (YYYY-MM-DD) or date-time") from exc
        return value

    @model_validator(mode="after")
    def _something(self) -> EventPatchIn:
        if not self.model_fields_set - {"timezone"}:
            raise ValueError("nothing to change")
        if self.start and self.end:
            start, end = parse_when(self.start), parse_when(self.end)
            if isinstance(start, datetime) != isinstance(end, datetime):
                raise ValueError("start and end must both be dates or both be date-times")
        return self


class FreeBusyIn(BaseModel):
    """A range like the events list's (ISO; the default is the next 7 days)."""

    time_min: str | None = None
    time_max: str | None = None


class DefaultCalendarIn(BaseModel):
    calendar_id: CalendarId
    #: Whose calendar; None: the account whose list has it.
    account: AccountName | None = None


class DefaultAccountIn(BaseModel):
    account: AccountName
