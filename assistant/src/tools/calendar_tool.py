"""`calendar`: the user's Google Calendar through google_calendar_service: list events in a
range said in the user's words, or create one.

Calendars are private. In a group chat the tool reads and writes nothing and does not hand
out a connect link (whoever clicks a link connects their own Google account to the user
it was made for); it asks the member to talk to the bot in a private chat instead.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assistant.src.tools.base import Actor, BaseTool, ToolCallContext, ToolError
from assistant.src.tools.when import resolve, zone
from common.calendar_client import (
    CalendarNotConnected,
    CalendarServiceUnavailable,
    Event,
)
from common.errors import AppError

#: At most this many events go back to the model; the count says how many there were.
MAX_EVENTS = 60
_DESCRIPTION_CHARS = 200


def _day_or_moment(text: str, tz: ZoneInfo, now: datetime) -> date | datetime:
    """ISO 8601 (a date, or a date-time; without an offset it is the user's local time), else
    a phrase ("tomorrow", "next Friday at 3pm") resolved in the user's zone by `when.resolve`
    (past moments allowed: a range may start today). A phrase, or an ISO date, that names no
    time of day is a whole day."""
    found = resolve(text, tz, now, future=False)
    return found.at.date() if found.all_day else found.at


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def private_chat_only(actor: Actor) -> dict[str, Any]:
    return {
        "status": "private_chat_required",
        "message": (
            f"Calendars are private, so nothing is shown or changed in a group. Ask "
            f"{actor.label} to message you in a private chat about their calendar."
        ),
    }


def _connect_answer(exc: CalendarNotConnected) -> dict[str, Any]:
    return {
        "status": "reconnect_required" if exc.reconnect else "not_connected",
        "connect_url": exc.auth_url,
        "message": (
            "The user's Google Calendar is not connected"
            + (" any more" if exc.reconnect else "")
            + ". Give them connect_url (it works for 10 minutes, once); after they allow "
            "access, the bot asks them in their private chat to confirm the Google account "
            "with /calendar confirm, and then they can ask again."
        ),
    }


def _failure(exc: AppError) -> ToolError:
    """The calendar service's refusal in words the model can pass on."""
    if isinstance(exc, CalendarServiceUnavailable):
        return ToolError(
            "the calendar service is unreachable right now; suggest trying again later"
        )
    if exc.status_code >= 500:
        return ToolError(f"Google Calendar is unavailable right now: {exc.detail}")
    fields = "; ".join(f"{f.field}: {f.reason}" for f in exc.fields)
    return ToolError(f"{exc.detail}{f' ({fields})' if fields else ''}")


def _brief(event: Event) -> dict[str, Any]:
    """An event with what a reply needs (times already in the user's zone)."""
    out = {"summary": event.summary, "kind": event.kind, "start": event.start, "end": event.end}
    if event.all_day:
        out["last_day"] = event.last_day
    for name, value in (("location", event.location), ("description", event.description)):
        if value:
            out[name] = value[:_DESCRIPTION_CHARS]
    return out


class CalendarTool(BaseTool, tool_type="calendar"):
    async def run(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        if call.actor.is_group:
            return private_chat_only(call.actor)
        action = arguments.get("action")
        try:
            if action == "list":
                return await self._list(arguments, call.actor)
            if action == "create":
                return await self._create(arguments, call)
        except CalendarNotConnected as exc:
            return _connect_answer(exc)
        except AppError as exc:
            raise _failure(exc) from exc
        raise ToolError(f"unknown action {action!r}: use list or create")

    async def _resolve(self, text: str, actor: Actor) -> date | datetime:
        tz = zone(actor.timezone)
        now = datetime.now(tz)
        return _day_or_moment(text, tz, now)

    async def _list(self, arguments: dict[str, Any], actor: Actor) -> dict[str, Any]:
        time_min, time_max = await self._range(
            arguments.get("time_min"), arguments.get("time_max"), actor
        )
        found = await self.services.calendar.list_events(actor.user_id, time_min, time_max)
        events = found.events
        wire = found.model_dump(mode="json", include={"time_min", "time_max"})
        return {
            "timezone": found.timezone,
            "from": wire["time_min"],
            "to": wire["time_max"],
            "count": found.count,
            "events": [_brief(e) for e in events[:MAX_EVENTS]],
            **({"truncated": True} if len(events) > MAX_EVENTS else {}),
        }

    async def _range(
        self, time_min: str | None, time_max: str | None, actor: Actor
    ) -> tuple[str | None, str | None]:
        """Dates begin at the user's local midnight; an end given as a date is the last day
        included ("from Monday to Friday"). No end: the service's default (a week)."""
        start = await self._resolve(time_min, actor) if time_min else None
        end = await self._resolve(time_max, actor) if time_max else None
        if isinstance(end, date) and not isinstance(end, datetime):
            end = end + timedelta(days=1)
        return (_iso(start) if start else None, _iso(end) if end else None)

    async def _create(self, arguments: dict[str, Any], call: ToolCallContext) -> dict[str, Any]:
        summary = str(arguments.get("summary") or "").strip()
        if not summary or not arguments.get("start"):
            raise ToolError("action 'create' needs 'summary' and 'start'")
        start = await self._resolve(str(arguments["start"]), call.actor)
        end = (
            await self._resolve(str(arguments["end"]), call.actor) if arguments.get("end") else None
        )
        if end is None:
            end = start + (timedelta(hours=1) if isinstance(start, datetime) else timedelta(days=1))
        made = await self.services.calendar.create_event(
            call.actor.user_id,
            summary=summary,
            start=_iso(start),
            end=_iso(end),
            description=arguments.get("description"),
            location=arguments.get("location"),
            timezone=call.actor.timezone,
            idempotency_key=call.idempotency_key,
        )
        return {"status": "created" if made.created else "already_created", **_brief(made)}
