"""The one google_calendar_service client, for the assistant's calendar tool and tg_bot's
/calendar: the service token, typed answers, and failures as `common.infrastructure.errors` types.
The answer models are the service's own response models too, so the bodies are written once.

It runs over a caller-owned `aiohttp.ClientSession` made once at start-up, so a command or a
tool call opens no connection pool of its own. No retries: a person is waiting, and the
calendar service retries Google itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

from common.infrastructure import tracing
from common.infrastructure.errors import ConflictError, DependencyUnavailableError, error_from_body
from common.infrastructure.http_client import UNREADABLE, failure_name, send
from common.infrastructure.logging import correlation_headers

#: How an event is told apart when it is read out: a birthday, an event spanning days,
#: a whole-day event, or one with times.
EventKind = Literal["timed", "all_day", "multi_day", "birthday"]

#: What the secretary may reach through a Google connection. The calendar is always asked
#: for; the others only when the user wants them (each a consent of its own).
GoogleAccess = Literal["calendar", "mail", "tasks"]
GOOGLE_ACCESS: tuple[GoogleAccess, ...] = ("calendar", "mail", "tasks")

#: The 409 `error`s that mean "connect first"; their body carries the link.
_NOT_CONNECTED = {
    "calendar_not_connected",
    "calendar_reconnect_required",
    "google_access_not_granted",
}


class CalendarServiceUnavailable(DependencyUnavailableError):
    """google_calendar_service did not answer, or not with JSON."""


class CalendarNotConnected(ConflictError):
    """The user has no working connection; `auth_url` makes one."""

    def __init__(
        self,
        detail: str,
        auth_url: str | None,
        *,
        reconnect: bool,
        accounts: list[str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.auth_url = auth_url
        self.reconnect = reconnect
        #: The Google accounts that need reconnecting (empty: not said).
        self.accounts = accounts or []


class GoogleAccessNotGranted(CalendarNotConnected):
    """The connection works but was not granted this access (mail, tasks); `auth_url` asks
    Google for it, keeping what was granted before."""


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class AuthLink(_Answer):
    auth_url: str
    expires_in: int


class AccountState(_Answer):
    """One connected Google account of a user's."""

    account: str
    #: False: Google no longer accepts this connection; the user must connect it again.
    valid: bool
    #: New events go to this account unless a call names another.
    default: bool
    connected_at: datetime | None = None
    #: What this account's grant allows (see GoogleAccess).
    access: list[GoogleAccess] = []


class AuthStatus(_Answer):
    """Whether a user's calendar is connected, for `/calendar` (never a token). `valid`,
    `account` and `connected_at` are the default account's; `accounts` has them all."""

    connected: bool
    valid: bool
    account: str | None = None
    connected_at: datetime | None = None
    #: A consented account waits for the user's `/calendar confirm` (not a connection yet).
    pending: bool = False
    pending_account: str | None = None
    #: What the default account's grant allows (see GoogleAccess); empty when not connected.
    access: list[GoogleAccess] = []
    #: Every connected account, the default first.
    accounts: list[AccountState] = []


class TaskSyncReport(_Answer):
    """One Google Tasks sync: what went each way. `enabled` false: sync is off (Google was
    not asked); `unreachable`: Google failed part way, and what changed here waits for the
    next sync (nothing is lost)."""

    enabled: bool
    unreachable: bool = False
    #: Tasks sent to Google (new or changed) and taken from it.
    pushed: int = 0
    pulled: int = 0
    #: Tasks deleted here because they were deleted in Google, and the other way.
    deleted_here: int = 0
    deleted_there: int = 0
    #: Google tasks not taken (the list is full, or a field we refuse).
    skipped: int = 0


class Confirmation(_Answer):
    """`confirmed` false: nothing was pending, or the request expired."""

    confirmed: bool
    account: str | None = None
    #: The confirmed account is the default one (the user's first, or a reconnected default).
    default: bool = False


class Declined(_Answer):
    declined: bool
    account: str | None = None


class Disconnection(_Answer):
    disconnected: bool
    revoked: bool
    #: The account disconnected (None: all of them, or nothing was connected).
    account: str | None = None
    #: The default account afterwards (None: none is left).
    default_account: str | None = None


class Event(_Answer):
    id: str
    summary: str
    description: str | None = None
    location: str | None = None
    #: In the user's time zone: an ISO date-time, or a date for all-day events.
    start: str
    #: Exclusive, as Google keeps it: an all-day event ends on the day after its last day.
    end: str
    #: The last day the event covers (inclusive), in the user's time zone.
    last_day: str
    all_day: bool
    multi_day: bool
    kind: EventKind
    event_type: str
    status: str
    recurring: bool
    html_link: str | None = None
    #: The calendar it is in ("primary" for answers of services older than several calendars).
    calendar_id: str = "primary"
    #: The Google account the calendar belongs to (None from services older than several
    #: accounts).
    account: str | None = None
    #: The guests' email addresses.
    attendees: list[str] = []
    #: The RRULE/EXDATE lines of a recurring event as created (instances have none).
    recurrence: list[str] = []


class Events(_Answer):
    timezone: str
    time_min: datetime
    time_max: datetime
    count: int
    events: list[Event]
    #: Accounts left out because Google no longer accepts them (reconnect with the link).
    reconnect_accounts: list[str] = []
    reconnect_url: str | None = None


class CreatedEvent(Event):
    #: False when the idempotency key had made this event already.
    created: bool


class DeletedEvent(_Answer):
    #: False when Google had it deleted already (a second tap, a change made elsewhere).
    deleted: bool
    event_id: str
    calendar_id: str
    account: str | None = None


class CalendarInfo(_Answer):
    id: str
    summary: str
    primary: bool
    #: New events go here unless the user names another calendar.
    default: bool
    access_role: str
    time_zone: str | None = None
    #: The Google account it belongs to.
    account: str | None = None


class Calendars(_Answer):
    #: The default account's default calendar.
    default_calendar_id: str
    calendars: list[CalendarInfo]
    default_account: str | None = None
    reconnect_accounts: list[str] = []
    reconnect_url: str | None = None


class Interval(_Answer):
    """[start, end) in the user's time zone (ISO date-times)."""

    start: str
    end: str


class FreeBusy(_Answer):
    timezone: str
    time_min: datetime
    time_max: datetime
    #: The calendars read; those Google could not read are in `unreadable`.
    calendars: list[str]
    unreadable: list[str] = []
    #: Busy time across all of them, overlaps merged, in order.
    busy: list[Interval]
    #: The rest of the range.
    free: list[Interval]
    reconnect_accounts: list[str] = []
    reconnect_url: str | None = None


AnswerT = TypeVar("AnswerT", bound=_Answer)


class CalendarClient:
    def __init__(
        self, http: aiohttp.ClientSession, base_url: str, token: str, timeout: float
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout

    async def auth_url(self, user_id: str, access: Sequence[GoogleAccess] = ()) -> AuthLink:
        """A connect link; `access` asks for more than the calendar (mail, tasks)."""
        params = [("access", a) for a in access]
        return await self._call(AuthLink, "GET", f"/auth/url/{user_id}", params=params)

    async def status(self, user_id: str) -> AuthStatus:
        return await self._call(AuthStatus, "GET", f"/auth/status/{user_id}")

    async def confirm(self, user_id: str) -> Confirmation:
        return await self._call(Confirmation, "POST", f"/auth/confirm/{user_id}")

    async def decline(self, user_id: str) -> Declined:
        return await self._call(Declined, "POST", f"/auth/decline/{user_id}")

    async def disconnect(self, user_id: str, account: str | None = None) -> Disconnection:
        """One Google account (its address, or a unique part of it); None: all of them."""
        params = {"account": account} if account else {}
        return await self._call(Disconnection, "DELETE", f"/auth/{user_id}", params=params)

    async def set_default_account(self, user_id: str, account: str) -> AuthStatus:
        """New events go to this connected account (its address, or a unique part of it)."""
        body = {"account": account}
        return await self._call(AuthStatus, "PUT", f"/auth/default/{user_id}", json=body)

    async def list_events(
        self,
        user_id: str,
        time_min: str | None = None,
        time_max: str | None = None,
        *,
        text: str | None = None,
        calendar_id: str | None = None,
        account: str | None = None,
    ) -> Events:
        """Events overlapping [time_min, time_max) (ISO; the service's default: a week) in
        all the user's calendars of all their accounts, or in `calendar_id` / `account`;
        `text` finds events mentioning it."""
        asked = {
            "time_min": time_min,
            "time_max": time_max,
            "q": text,
            "calendar_id": calendar_id,
            "account": account,
        }
        params = {k: v for k, v in asked.items() if v}
        return await self._call(Events, "GET", f"/events/{user_id}", params=params)

    async def update_event(
        self,
        user_id: str,
        event_id: str,
        calendar_id: str,
        changes: dict[str, Any],
        account: str | None = None,
    ) -> Event:
        """Change only the fields in `changes` (summary, start, end, description, location,
        timezone, attendees)."""
        path = f"/events/{user_id}/{quote(event_id, safe='')}"
        params = {"calendar_id": calendar_id} | ({"account": account} if account else {})
        return await self._call(Event, "PATCH", path, params=params, json=changes)

    async def delete_event(
        self, user_id: str, event_id: str, calendar_id: str, account: str | None = None
    ) -> DeletedEvent:
        path = f"/events/{user_id}/{quote(event_id, safe='')}"
        params = {"calendar_id": calendar_id} | ({"account": account} if account else {})
        return await self._call(DeletedEvent, "DELETE", path, params=params)

    async def free_busy(
        self, user_id: str, time_min: str | None = None, time_max: str | None = None
    ) -> FreeBusy:
        """Busy and free time across all the user's calendars."""
        body = {"time_min": time_min, "time_max": time_max}
        return await self._call(FreeBusy, "POST", f"/freebusy/{user_id}", json=body)

    async def calendars(self, user_id: str) -> Calendars:
        return await self._call(Calendars, "GET", f"/calendars/{user_id}")

    async def set_default_calendar(
        self, user_id: str, calendar_id: str, account: str | None = None
    ) -> Calendars:
        """New events go to this calendar (and its account) from now on."""
        body = {"calendar_id": calendar_id} | ({"account": account} if account else {})
        return await self._call(Calendars, "PUT", f"/calendars/{user_id}/default", json=body)

    async def create_event(
        self,
        user_id: str,
        *,
        summary: str,
        start: str,
        end: str,
        description: str | None = None,
        location: str | None = None,
        timezone: str | None = None,
        idempotency_key: str | None = None,
        calendar_id: str | None = None,
        attendees: list[str] | None = None,
        recurrence: list[str] | None = None,
        account: str | None = None,
    ) -> CreatedEvent:
        """In `calendar_id` (of `account`), else the default calendar of `account`, else of
        the user's default account."""
        body = {
            "summary": summary,
            "start": start,
            "end": end,
            "description": description,
            "location": location,
            "timezone": timezone,
            "idempotency_key": idempotency_key,
            "calendar_id": calendar_id,
            "attendees": attendees or [],
            "recurrence": recurrence or [],
            **({"account": account} if account else {}),
        }
        return await self._call(CreatedEvent, "POST", f"/events/{user_id}", json=body)

    async def sync_tasks(self, user_id: str) -> TaskSyncReport:
        """A Google Tasks sync, if the user turned it on."""
        return await self._call(TaskSyncReport, "POST", f"/tasks/{user_id}/sync")

    async def turn_task_sync(self, user_id: str, *, on: bool) -> TaskSyncReport:
        """On (and a first sync; `GoogleAccessNotGranted` carries the link when tasks were
        not allowed yet) or off."""
        method = "PUT" if on else "DELETE"
        return await self._call(TaskSyncReport, method, f"/tasks/{user_id}/sync")

    async def _call(self, answer: type[AnswerT], method: str, path: str, **kwargs: Any) -> AnswerT:
        headers = {**self._headers, **correlation_headers()}
        try:
            with tracing.call_to("google_calendar_service", method, headers):
                url = self._base_url + path
                reply = await send(
                    self._http, method, url, headers=headers, timeout=self._timeout, **kwargs
                )
                tracing.annotate({"http.response.status_code": reply.status})
            body = reply.json()
        except UNREADABLE as exc:
            raise CalendarServiceUnavailable(
                f"google_calendar_service unreachable ({failure_name(exc)})"
            ) from exc
        if reply.status >= 400:
            raise _error(reply.status, body)
        try:
            return answer.model_validate(body)
        except ValidationError as exc:
            raise CalendarServiceUnavailable(f"{method} {path}: unexpected answer") from exc


def _error(status: int, body: Any) -> Exception:
    fallback = f"the calendar service answered {status}"
    if status == 409 and isinstance(body, dict) and body.get("error") in _NOT_CONNECTED:
        kind = (
            GoogleAccessNotGranted
            if body["error"] == "google_access_not_granted"
            else CalendarNotConnected
        )
        return kind(
            str(body.get("detail") or fallback),
            body.get("auth_url"),
            reconnect=body["error"] == "calendar_reconnect_required",
            accounts=[str(a) for a in body.get("accounts") or [] if isinstance(a, str)],
        )
    return error_from_body(status, body, fallback)
