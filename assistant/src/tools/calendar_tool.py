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

import aiohttp

from assistant.src.tools.base import Actor, BaseTool, ToolCallContext, ToolError
from assistant.src.tools.when import resolve, zone

#: At most this many events go back to the model; the count says how many there were.
MAX_EVENTS = 60
_DESCRIPTION_CHARS = 200


class CalendarServiceError(ToolError):
    """google_calendar_service refused or failed; the message is for the model."""


class CalendarServiceClient:
    """google_calendar_service's API as the assistant uses it (the service token)."""

    def __init__(
        self, http: aiohttp.ClientSession, base_url: str, token: str, timeout: float
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            async with self._http.request(
                method,
                f"{self._base_url}{path}",
                headers=self._headers,
                timeout=self._timeout,
                **kwargs,
            ) as response:
                return response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise CalendarServiceError(
                "the calendar service is unreachable right now; suggest trying again later"
            ) from exc


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


def _connect_answer(body: dict[str, Any]) -> dict[str, Any]:
    status = "reconnect_required" if body.get("error") == "calendar_reconnect_required" else None
    return {
        "status": status or "not_connected",
        "connect_url": body.get("auth_url"),
        "message": (
            "The user's Google Calendar is not connected"
            + (" any more" if status else "")
            + ". Give them connect_url (it works for 10 minutes, once); after they allow "
            "access, the bot asks them in their private chat to confirm the Google account "
            "with /calendar confirm, and then they can ask again."
        ),
    }


def _failure(status: int, body: Any) -> CalendarServiceError:
    body = body if isinstance(body, dict) else {}
    detail = body.get("detail") or f"the calendar service answered {status}"
    fields = "; ".join(f"{f.get('field')}: {f.get('reason')}" for f in body.get("fields") or [])
    if status >= 500:
        return CalendarServiceError(f"Google Calendar is unavailable right now: {detail}")
    return CalendarServiceError(f"{detail}{f' ({fields})' if fields else ''}")


def _brief(event: dict[str, Any]) -> dict[str, Any]:
    """An event with what a reply needs (times already in the user's zone)."""
    out = {
        "summary": event["summary"],
        "kind": event["kind"],
        "start": event["start"],
        "end": event["end"],
    }
    if event.get("all_day"):
        out["last_day"] = event["last_day"]
    for name in ("location", "description"):
        if event.get(name):
            out[name] = str(event[name])[:_DESCRIPTION_CHARS]
    return out


class CalendarTool(BaseTool, tool_type="calendar"):
    @property
    def client(self) -> CalendarServiceClient:
        settings = self.services.settings
        return CalendarServiceClient(
            self.services.http,
            settings.google_calendar_service_url,
            settings.own_service_token,
            self.timeout,
        )

    async def run(self, arguments: dict[str, Any], call: ToolCallContext) -> Any:
        if call.actor.is_group:
            return private_chat_only(call.actor)
        action = arguments.get("action")
        if action == "list":
            return await self._list(arguments, call.actor)
        if action == "create":
            return await self._create(arguments, call)
        raise ToolError(f"unknown action {action!r}: use list or create")

    async def _resolve(self, text: str, actor: Actor) -> date | datetime:
        tz = zone(actor.timezone)
        now = datetime.now(tz)
        return _day_or_moment(text, tz, now)

    async def _list(self, arguments: dict[str, Any], actor: Actor) -> dict[str, Any]:
        params = await self._range(arguments.get("time_min"), arguments.get("time_max"), actor)
        status, body = await self.client.request("GET", f"/events/{actor.user_id}", params=params)
        if status == 409:
            return _connect_answer(body)
        if status != 200:
            raise _failure(status, body)
        events = body["events"]
        return {
            "timezone": body["timezone"],
            "from": body["time_min"],
            "to": body["time_max"],
            "count": body["count"],
            "events": [_brief(e) for e in events[:MAX_EVENTS]],
            **({"truncated": True} if len(events) > MAX_EVENTS else {}),
        }

    async def _range(
        self, time_min: str | None, time_max: str | None, actor: Actor
    ) -> dict[str, str]:
        """Dates begin at the user's local midnight; an end given as a date is the last day
        included ("from Monday to Friday"). No end: the service's default (a week)."""
        start = await self._resolve(time_min, actor) if time_min else None
        end = await self._resolve(time_max, actor) if time_max else None
        if isinstance(end, date) and not isinstance(end, datetime):
            end = end + timedelta(days=1)
        params = {"time_min": start, "time_max": end}
        return {k: _iso(v) for k, v in params.items() if v is not None}

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
        body = {
            "summary": summary,
            "start": _iso(start),
            "end": _iso(end),
            "description": arguments.get("description"),
            "location": arguments.get("location"),
            "timezone": call.actor.timezone,
            "idempotency_key": call.idempotency_key,
        }
        path = f"/events/{call.actor.user_id}"
        status, answer = await self.client.request("POST", path, json=body)
        if status == 409:
            return _connect_answer(answer)
        if status not in (200, 201):
            raise _failure(status, answer)
        return {"status": "created" if answer["created"] else "already_created", **_brief(answer)}
