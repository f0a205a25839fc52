"""Between Google's Event resources and ours: time zones, kinds of event, ranges, ids.

Pure functions, so the rules about time (the part users notice when it is wrong) are
tested without any server.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common.calendar_client import Event, EventKind
from common.errors import FieldError, ValidationFailedError
from google_calendar_service.src.schemas.events import EventCreateIn, parse_when

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


def to_event_out(item: dict[str, Any], tz: ZoneInfo) -> Event:
    """One Google event in the user's time zone, with its kind told apart."""
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
        recurring="recurringEventId" in item,
        html_link=item.get("htmlLink"),
    )


def _kind(event_type: str, all_day: bool, multi_day: bool) -> EventKind:
    if event_type == "birthday":
        return "birthday"
    if multi_day:
        return "multi_day"
    return "all_day" if all_day else "timed"


def event_body(data: EventCreateIn, tz_name: str, event_id: str | None) -> dict[str, Any]:
    """The events.insert body; naive times are wall-clock times in `tz_name`."""
    tz = ZoneInfo(tz_name)
    start, end = parse_when(data.start), parse_when(data.end)
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
    body: dict[str, Any] = {"summary": data.summary, **times}
    optional = {"description": data.description, "location": data.location, "id": event_id}
    return body | {k: v for k, v in optional.items() if v is not None}
