"""Between Google's Event resources and ours: time zones, kinds of event, ranges, ids.

Pure functions, so the rules about time (the part users notice when it is wrong) are
tested without any server.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common.features.calendar_client import Event, EventKind
from common.infrastructure.errors import FieldError, ValidationFailedError
from google_calendar_service.src.schemas.events import EventCreateIn, EventPatchIn, parse_when

#: Namespace of event ids derived from idempotency keys (stable across machines).
EVENT_ID_NAMESPACE = uuid.UUID("0b8f3a52-4f0e-5c1e-9b7a-6d2c8e1f4a90")


def event_id_for(user_id: str, idempotency_key: str) -> str:
    """Google event ids are base32hex (0-9, a-v); a UUID's hex digits are a subset."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{user_id}:{idempotency_key}").hex


def localize(moment: datetime, tz: ZoneInfo) -> datetime:
    """A time the user wrote without an offset means their local wall-clock time."""
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _instant(value: str, tz: ZoneInfo) -> datetime:
    when = parse_when(value)
    if not isinstance(when, datetime):
        when = datetime.combine(when, time.min)
    return localize(when, tz)


def resolve_range(
    time_min: str | None,
    time_max: str | None,
    tz: ZoneInfo,
    *,
    now: datetime,
    max_days: int,
) -> tuple[datetime, datetime]:
    """The asked range as instants: dates are local midnights, the default a week from now."""
    try:
        start = _instant(time_min, tz) if time_min else now.astimezone(tz)
        end = _instant(time_max, tz) if time_max else start + timedelta(days=7)
    except ValueError as exc:
        raise ValidationFailedError(
            "time_min and time_max must be ISO dates or date-times",
            [FieldError("time_min/time_max", str(exc))],
        ) from exc
    if end <= start:
        raise ValidationFailedError(
            "time_max must be after time_min", [FieldError("time_max", "not after time_min")]
        )
    if end - start > timedelta(days=max_days):
        raise ValidationFailedError(
            f"the range may span at most {max_days} days",
            [FieldError("time_max", f"more than {max_days} days after time_min")],
        )
    return start, end


def start_instant(item: dict[str, Any], tz: ZoneInfo) -> datetime:
    """When an event begins, for ordering events of several calendars (all-day events at
    the user's midnight)."""
    start = item.get("start", {})
    if "date" in start:
        return datetime.combine(date.fromisoformat(start["date"]), time.min, tzinfo=tz)
    return datetime.fromisoformat(start["dateTime"].replace("Z", "+00:00"))


def to_event_out(
    item: dict[str, Any], tz: ZoneInfo, calendar_id: str = "primary", account: str | None = None
) -> Event:
    """One Google event of `calendar_id` (of `account`) in the user's time zone, with its kind
    told apart."""
    start_raw, end_raw = item.get("start", {}), item.get("end", {})
    all_day = "date" in start_raw
    if all_day:
        first = date.fromisoformat(start_raw["date"])
        end_day = date.fromisoformat(end_raw.get("date", start_raw["date"]))
        last_day = max(first, end_day - timedelta(days=1))
        start, end = first.isoformat(), end_day.isoformat()
    else:
        begins = datetime.fromisoformat(start_raw["dateTime"]).astimezone(tz)
        ends = datetime.fromisoformat(end_raw["dateTime"]).astimezone(tz)
        first = begins.date()
        last_day = max(first, (ends - timedelta(microseconds=1)).date())
        start, end = begins.isoformat(), ends.isoformat()
    multi_day = last_day > first
    event_type = item.get("eventType", "default")
    return Event(
        id=item["id"],
        summary=item.get("summary") or "(no title)",
        description=item.get("description"),
        location=item.get("location"),
        start=start,
        end=end,
        last_day=last_day.isoformat(),
        all_day=all_day,
        multi_day=multi_day,
        kind=_kind(event_type, all_day, multi_day),
        event_type=event_type,
        status=item.get("status", "confirmed"),
        recurring="recurringEventId" in item or bool(item.get("recurrence")),
        html_link=item.get("htmlLink"),
        calendar_id=calendar_id,
        account=account,
        attendees=[a["email"] for a in item.get("attendees", []) if a.get("email")],
        recurrence=list(item.get("recurrence", [])),
    )


def _kind(event_type: str, all_day: bool, multi_day: bool) -> EventKind:
    if event_type == "birthday":
        return "birthday"
    if multi_day:
        return "multi_day"
    return "all_day" if all_day else "timed"


def _times(start: date | datetime, end: date | datetime, tz_name: str) -> dict[str, Any]:
    """Start and end as Google takes them; naive times are wall-clock times in `tz_name`."""
    tz = ZoneInfo(tz_name)
    if isinstance(start, datetime) and isinstance(end, datetime):
        start, end = localize(start, tz), localize(end, tz)
        times = {
            "start": {"dateTime": start.isoformat(), "timeZone": tz_name},
            "end": {"dateTime": end.isoformat(), "timeZone": tz_name},
        }
    else:
        times = {"start": {"date": start.isoformat()}, "end": {"date": end.isoformat()}}
    if end <= start:
        raise ValidationFailedError(
            "the event must end after it starts", [FieldError("end", "not after start")]
        )
    return times


def event_body(data: EventCreateIn, tz_name: str, event_id: str | None) -> dict[str, Any]:
    """The events.insert body; naive times are wall-clock times in `tz_name`."""
    times = _times(parse_when(data.start), parse_when(data.end), tz_name)
    body: dict[str, Any] = {"summary": data.summary, **times}
    optional = {"description": data.description, "location": data.location, "id": event_id}
    if data.attendees:
        body["attendees"] = [{"email": address} for address in data.attendees]
    if data.recurrence:
        body["recurrence"] = data.recurrence
    return body | {k: v for k, v in optional.items() if v is not None}


def _stored_bound(value: dict[str, Any]) -> date | datetime:
    if "date" in value:
        return date.fromisoformat(value["date"])
    return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))


def patch_body(data: EventPatchIn, item: dict[str, Any], tz_name: str) -> dict[str, Any]:
    """The events.patch body for `data` against the event as it is (`item`): a new start
    alone moves the event and keeps its length; a change of kind (timed ↔ all-day) without
    an end gets an hour or a day."""
    body: dict[str, Any] = {
        k: v
        for k, v in data.model_dump(include={"summary", "description", "location"}).items()
        if k in data.model_fields_set
    }
    if data.attendees is not None:
        body["attendees"] = [{"email": address} for address in data.attendees]
    if data.start is None and data.end is None:
        return body
    old_start, old_end = _stored_bound(item["start"]), _stored_bound(item["end"])
    start = parse_when(data.start) if data.start else old_start
    if data.end:
        end = parse_when(data.end)
    elif isinstance(start, datetime) == isinstance(old_start, datetime):
        end = start + (old_end - old_start)
    else:
        end = start + (timedelta(hours=1) if isinstance(start, datetime) else timedelta(days=1))
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise ValidationFailedError(
            "start and end must both be dates or both be date-times",
            [FieldError("end", "not the same kind as start")],
        )
    return body | _times(start, end, tz_name)
