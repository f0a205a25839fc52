"""`calendar`: the user's Google Calendar through google_calendar_service: list or find events
(in every calendar of every Google account of theirs, each event saying its account), create
one (into the default account, or the `account` named) (with guests, repeating), move or change one,
delete one after the user's Yes, free time across calendars, and which calendar takes new
events.

The assistant never changes an event the user has not seen: update and delete take only an
event id that list, find or create returned to this user lately (kept per user in Redis for
`SHOWN_TTL_S`), and a delete is only asked for: the answer carries Yes / No buttons and
tg_bot deletes on Yes (`common.features.confirmations`).

Calendars are private. In a group chat the tool reads and writes nothing and does not hand
out a connect link (whoever clicks a link connects their own Google account to the user
it was made for); it asks the member to talk to the bot in a private chat instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from assistant.src.tools.base import Actor, BaseTool, ToolCallOrigin, ToolError
from assistant.src.tools.shown import ShownItems
from assistant.src.tools.when import resolve, zone
from common.features.calendar_client import (
    CalendarNotConnected,
    CalendarServiceUnavailable,
    Event,
)
from common.features.confirmations import Confirmations, PendingDelete
from common.infrastructure.errors import AppError, NotFoundError

#: At most this many events go back to the model; the count says how many there were.
MAX_EVENTS = 60
_DESCRIPTION_CHARS = 200
#: How long an event shown to the user may be changed or deleted without showing it again.
SHOWN_TTL_S = 2 * 3600
#: A find without a range looks this far back and ahead.
FIND_BACK = timedelta(days=30)
FIND_AHEAD = timedelta(days=180)
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{5,1024}")
_ACTIONS = "list, find, create, update, delete, free_busy or calendars"
_CHANGES = ("summary", "start", "end", "description", "location", "attendees")


def _day_or_moment(text: str, tz: ZoneInfo, now: datetime) -> date | datetime:
    """ISO 8601 (a date, or a date-time; without an offset it is the user's local time), else
    a phrase ("tomorrow", "next Friday at 3pm") resolved in the user's zone by `when.resolve`
    (past moments allowed: a range may start today). A phrase, or an ISO date, that names no
    time of day is a whole day."""
    found = resolve(text, tz, now, future=False)
    return found.at.date() if found.all_day else found.at


def _moment(iso: str, tz: ZoneInfo) -> datetime:
    """An ISO date or date-time `_range` made, as an instant (a date: its local midnight)."""
    found = datetime.fromisoformat(iso)
    return found if found.tzinfo else found.replace(tzinfo=tz)


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
    if exc.accounts:
        return {
            "status": "reconnect_required",
            "connect_url": exc.auth_url,
            "accounts": exc.accounts,
            "message": (
                f"Google no longer accepts the connection of {', '.join(exc.accounts)}. Give "
                "the user connect_url to connect that account again (it works for 10 minutes, "
                "once); they confirm it in their private chat with /calendar confirm."
            ),
        }
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


def _event_for_reply(event: Event) -> dict[str, Any]:
    """An event with what a reply needs (times already in the user's zone) and the ids an
    update or delete names it by."""
    out: dict[str, Any] = {
        "event_id": event.id,
        "calendar_id": event.calendar_id,
        **({"account": event.account} if event.account else {}),
        "summary": event.summary,
        "kind": event.kind,
        "start": event.start,
        "end": event.end,
    }
    if event.all_day:
        out["last_day"] = event.last_day
    for name, value in (("location", event.location), ("description", event.description)):
        if value:
            out[name] = value[:_DESCRIPTION_CHARS]
    if event.attendees:
        out["attendees"] = event.attendees
    if event.recurring:
        out["recurring"] = True
    return out


def _text(arguments: dict[str, Any], name: str) -> str | None:
    value = arguments.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolError(f"'{name}' must be a string")
    return value.strip() or None


def _emails(value: Any) -> list[str] | None:
    """Guests as a list of addresses; one string may hold several, comma-separated."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ToolError("'attendees' must be a list of email addresses")
    return [i.strip() for i in items if i.strip()]


def _rules(value: Any) -> list[str]:
    """An RRULE as models write it: with or without the `RRULE:` prefix, one or a list."""
    if value is None or value == "":
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ToolError("'recurrence' must be an RRULE such as 'FREQ=WEEKLY;BYDAY=TU'")
    return [i.strip() if ":" in i else f"RRULE:{i.strip()}" for i in items if i.strip()]


def _event_id(arguments: dict[str, Any], action: str) -> str:
    value = arguments.get("event_id")
    if not isinstance(value, str) or not _EVENT_ID.fullmatch(value.strip()):
        raise ToolError(
            f"action '{action}' needs 'event_id' exactly as list or find returned it; "
            "use find first and show the user the event"
        )
    return value.strip()


def reconnect_note(accounts: list[str], url: str | None) -> dict[str, Any]:
    """What an answer read without some accounts tells the model to pass on."""
    if not accounts:
        return {}
    return {
        "reconnect_accounts": accounts,
        "connect_url": url,
        "note": (
            f"Not included: {', '.join(accounts)} (Google no longer accepts that connection). "
            "Tell the user and give them connect_url to connect it again."
        ),
    }


@dataclass(frozen=True)
class Shown:
    calendar_id: str
    summary: str
    start: str
    account: str | None = None


class ShownEvents:
    """The events shown to a user lately (event id → its calendar, title, start and account)."""

    def __init__(self, tool: BaseTool, user_id: str) -> None:
        self._items = ShownItems(tool, tool.services.names.calendar_shown(user_id), SHOWN_TTL_S)

    async def note(self, events: list[Event]) -> None:
        await self._items.note(
            {e.id: [e.calendar_id, e.summary, e.start, e.account] for e in events}
        )

    async def shown_event(self, event_id: str) -> Shown:
        """The event as shown; a ToolError when the user has not been shown it."""
        found = await self._items.get(event_id)
        if found is None or len(found) < 3:
            raise ToolError(
                f"event {event_id!r} was not shown to the user in this conversation: find it "
                "first (action 'find' or 'list'), show it to the user, then use the event_id "
                "from that answer"
            )
        calendar_id, summary, start, *account = found
        owner = account[0] if account and isinstance(account[0], str) else None
        return Shown(str(calendar_id), str(summary), str(start), owner)


class CalendarTool(BaseTool, tool_type="calendar"):
    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        """Changes and deletes, and a new event that invites others (it mails them)."""
        action = arguments.get("action")
        return action in ("update", "delete") or (
            action == "create" and bool(arguments.get("attendees"))
        )

    def asks_first(self, arguments: dict[str, Any]) -> bool:
        return arguments.get("action") == "delete"

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        if call.actor.is_group:
            return private_chat_only(call.actor)
        action = arguments.get("action")
        handlers = {
            "list": self._list,
            "find": self._find,
            "create": self._create,
            "update": self._update,
            "delete": self._delete,
            "free_busy": self._free_busy,
            "calendars": self._calendars,
        }
        handler = handlers.get(action) if isinstance(action, str) else None
        if handler is None:
            raise ToolError(f"unknown action {action!r}: use {_ACTIONS}")
        try:
            return await handler(arguments, call)
        except CalendarNotConnected as exc:
            return _connect_answer(exc)
        except NotFoundError as exc:
            raise ToolError(
                "no such event or calendar any more (deleted or moved elsewhere); find it again"
            ) from exc
        except AppError as exc:
            raise _failure(exc) from exc

    async def _resolve(self, text: str, actor: Actor) -> date | datetime:
        tz = zone(actor.timezone)
        now = self.services.clock().astimezone(tz)
        return _day_or_moment(text, tz, now)

    async def _list(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        actor = call.actor
        time_min, time_max = await self._range(
            _text(arguments, "time_min"), _text(arguments, "time_max"), actor
        )
        return await self._events(arguments, actor, time_min, time_max, None)

    async def _find(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        """Events mentioning `query`; without a range, from a month ago to half a year on."""
        actor = call.actor
        query = _text(arguments, "query")
        if not query:
            raise ToolError("action 'find' needs 'query': words of the event's title")
        time_min, time_max = await self._range(
            _text(arguments, "time_min"), _text(arguments, "time_max"), actor
        )
        tz = zone(actor.timezone)
        now = self.services.clock().astimezone(tz).replace(microsecond=0)
        if not time_min:  # a month before the earlier of now and the end asked
            time_min = (
                min(now, _moment(time_max, tz) if time_max else now) - FIND_BACK
            ).isoformat()
        if not time_max:  # half a year past the later of now and the start asked
            time_max = (max(now, _moment(time_min, tz)) + FIND_AHEAD).isoformat()
        return await self._events(arguments, actor, time_min, time_max, query[:200])

    async def _events(
        self,
        arguments: dict[str, Any],
        actor: Actor,
        time_min: str | None,
        time_max: str | None,
        query: str | None,
    ) -> dict[str, Any]:
        found = await self.services.calendar.list_events(
            actor.user_id,
            time_min,
            time_max,
            text=query,
            calendar_id=_text(arguments, "calendar_id"),
            account=_text(arguments, "account"),
        )
        events = found.events[:MAX_EVENTS]
        await ShownEvents(self, actor.user_id).note(events)
        wire = found.model_dump(mode="json", include={"time_min", "time_max"})
        return {
            "timezone": found.timezone,
            "from": wire["time_min"],
            "to": wire["time_max"],
            "count": found.count,
            "events": [_event_for_reply(e) for e in events],
            **({"truncated": True} if found.count > MAX_EVENTS else {}),
            **reconnect_note(found.reconnect_accounts, found.reconnect_url),
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

    async def _create(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        summary = _text(arguments, "summary")
        start_text = _text(arguments, "start")
        if not summary or not start_text:
            raise ToolError("action 'create' needs 'summary' and 'start'")
        start = await self._resolve(start_text, call.actor)
        end_text = _text(arguments, "end")
        end = await self._resolve(end_text, call.actor) if end_text else None
        if end is None:
            end = start + (timedelta(hours=1) if isinstance(start, datetime) else timedelta(days=1))
        elif not isinstance(end, datetime) and not isinstance(start, datetime):
            end = end + timedelta(days=1)  # the last day named is included
        made = await self.services.calendar.create_event(
            call.actor.user_id,
            summary=summary,
            start=_iso(start),
            end=_iso(end),
            description=_text(arguments, "description"),
            location=_text(arguments, "location"),
            timezone=call.actor.timezone,
            idempotency_key=call.idempotency_key,
            calendar_id=_text(arguments, "calendar_id"),
            attendees=_emails(arguments.get("attendees")),
            recurrence=_rules(arguments.get("recurrence")),
            account=_text(arguments, "account"),
        )
        await ShownEvents(self, call.actor.user_id).note([made])
        return {
            "status": "created" if made.created else "already_created",
            **_event_for_reply(made),
        }

    async def _update(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        """Change or move an event the user was shown; a new start alone keeps its length."""
        event_id = _event_id(arguments, "update")
        shown = await ShownEvents(self, call.actor.user_id).shown_event(event_id)
        changes: dict[str, Any] = {}
        for name in ("summary", "description", "location"):
            value = _text(arguments, name)
            if value is not None:
                changes[name] = value
        for name in ("start", "end"):
            value = _text(arguments, name)
            if value is not None:
                when = await self._resolve(value, call.actor)
                if name == "end" and not isinstance(when, datetime):
                    when = when + timedelta(days=1)  # the last day named is included
                changes[name] = _iso(when)
        attendees = _emails(arguments.get("attendees"))
        if attendees is not None:
            changes["attendees"] = attendees
        if not changes:
            raise ToolError(f"action 'update' needs something to change: {', '.join(_CHANGES)}")
        changes["timezone"] = call.actor.timezone
        updated = await self.services.calendar.update_event(
            call.actor.user_id, event_id, shown.calendar_id, changes, shown.account
        )
        return {"status": "updated", **_event_for_reply(updated)}

    async def _delete(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        """Only asks: the answer gets Yes / No buttons, and Yes deletes (in tg_bot)."""
        event_id = _event_id(arguments, "delete")
        shown = await ShownEvents(self, call.actor.user_id).shown_event(event_id)
        pending = PendingDelete(
            call.actor.user_id,
            event_id,
            shown.calendar_id,
            shown.summary[:200],
            shown.start,
            shown.account,
        )
        services = self.services
        await Confirmations(services.redis, services.names).ask_in_answer(pending, call.message_id)
        return {
            "status": "confirmation_asked",
            "event_id": event_id,
            "summary": shown.summary,
            "start": shown.start,
            "message": (
                "Nothing is deleted yet. Yes / No buttons go under your answer: ask the user "
                "in one short sentence whether to delete this event (name it, with its date); "
                "it is deleted only when they tap Yes. Do not say it was deleted."
            ),
        }

    async def _free_busy(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        time_min, time_max = await self._range(
            _text(arguments, "time_min"), _text(arguments, "time_max"), call.actor
        )
        found = await self.services.calendar.free_busy(call.actor.user_id, time_min, time_max)
        wire = found.model_dump(mode="json", include={"time_min", "time_max"})
        return {
            "timezone": found.timezone,
            "from": wire["time_min"],
            "to": wire["time_max"],
            "calendars_read": len(found.calendars) - len(found.unreadable),
            "busy": [i.model_dump() for i in found.busy],
            "free": [i.model_dump() for i in found.free],
            **reconnect_note(found.reconnect_accounts, found.reconnect_url),
        }

    async def _calendars(self, arguments: dict[str, Any], call: ToolCallOrigin) -> dict[str, Any]:
        """The user's calendars (of every account); with `calendar_id`, that one takes new
        events from now on; with `account` alone, that account does."""
        chosen, account = _text(arguments, "calendar_id"), _text(arguments, "account")
        client, user_id = self.services.calendar, call.actor.user_id
        if chosen:
            found = await client.set_default_calendar(user_id, chosen, account)
        else:
            if account:
                await client.set_default_account(user_id, account)
            found = await client.calendars(user_id)
        return {
            **({"status": "default_set"} if chosen or account else {}),
            "default_account": found.default_account,
            "default_calendar_id": found.default_calendar_id,
            "calendars": [
                {
                    "calendar_id": c.id,
                    "name": c.summary,
                    "primary": c.primary,
                    "default": c.default,
                    "writable": c.access_role in ("owner", "writer"),
                    **({"account": c.account} if c.account else {}),
                }
                for c in found.calendars
            ],
            **reconnect_note(found.reconnect_accounts, found.reconnect_url),
        }
