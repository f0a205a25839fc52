"""The HTTP API (docs/contract.md "REST routes"). All but the callback need the service
token; the callback is protected by its single-use state instead."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import HTMLResponse

from common.features.calendar_client import (
    AuthLink,
    AuthStatus,
    Calendars,
    Confirmation,
    CreatedEvent,
    Declined,
    DeletedEvent,
    Disconnection,
    Event,
    Events,
    FreeBusy,
    GoogleAccess,
)
from common.infrastructure.errors import AppError
from google_calendar_service.src.api.deps import CalendarDep, calendar_callers_only
from google_calendar_service.src.api.pages import confirm_in_telegram_page, rejected_page
from google_calendar_service.src.schemas.events import (
    EVENT_ID_PATTERN,
    DefaultAccountIn,
    DefaultCalendarIn,
    EventCreateIn,
    EventPatchIn,
    FreeBusyIn,
)

public = APIRouter(tags=["oauth"])
router = APIRouter(dependencies=[calendar_callers_only])


@public.get("/auth/callback", response_class=HTMLResponse)
async def auth_callback(
    calendar: CalendarDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """Where Google sends the browser back; answers a page, never JSON."""
    try:
        account = await calendar.handle_callback(code, state, error)
    except AppError as exc:
        if exc.status_code >= 500:
            return rejected_page("Something went wrong on our side or at Google.", 503)
        return rejected_page(exc.detail, 400)
    return confirm_in_telegram_page(account)


@router.get("/auth/url/{user_id}", response_model=AuthLink, tags=["oauth"])
async def auth_url(
    user_id: uuid.UUID,
    calendar: CalendarDep,
    access: Annotated[list[GoogleAccess] | None, Query(max_length=3)] = None,
) -> AuthLink:
    """A connect link. The calendar is always asked for; `access` (repeatable: mail, tasks)
    asks for more, keeping what the account granted before."""
    return await calendar.get_auth_url(str(user_id), access or ())


@router.get("/auth/status/{user_id}", response_model=AuthStatus, tags=["oauth"])
async def auth_status(user_id: uuid.UUID, calendar: CalendarDep) -> AuthStatus:
    return await calendar.status(str(user_id))


@router.post("/auth/confirm/{user_id}", response_model=Confirmation, tags=["oauth"])
async def confirm(user_id: uuid.UUID, calendar: CalendarDep) -> Confirmation:
    """The user's `/calendar confirm`: their pending Google account becomes the calendar."""
    return await calendar.confirm(str(user_id))


@router.post("/auth/decline/{user_id}", response_model=Declined, tags=["oauth"])
async def decline(user_id: uuid.UUID, calendar: CalendarDep) -> Declined:
    """The user's `/calendar decline`: the pending account is revoked and forgotten."""
    return await calendar.decline(str(user_id))


EventId = Annotated[str, Path(pattern=EVENT_ID_PATTERN)]
#: Which connected Google account: its address, or a part naming one ("work").
AccountQuery = Annotated[str | None, Query(pattern=r"^[^\s/?#]{1,320}$")]


@router.delete("/auth/{user_id}", response_model=Disconnection, tags=["oauth"])
async def disconnect(
    user_id: uuid.UUID, calendar: CalendarDep, account: AccountQuery = None
) -> Disconnection:
    """One Google account with `account` (another becomes the default if it was); without
    it, every account, and a request waiting for confirmation."""
    return await calendar.disconnect(str(user_id), account)


@router.put("/auth/default/{user_id}", response_model=AuthStatus, tags=["oauth"])
async def set_default_account(
    user_id: uuid.UUID, body: DefaultAccountIn, calendar: CalendarDep
) -> AuthStatus:
    """New events go to this connected Google account from now on."""
    return await calendar.set_default_account(str(user_id), body)


#: Which calendar an event is in: an id from the user's calendar list, or "primary".
CalendarIdQuery = Annotated[str, Query(pattern=r"^[^\s/?#]{1,255}$")]


@router.get("/events/{user_id}", response_model=Events, tags=["events"])
async def list_events(
    user_id: uuid.UUID,
    calendar: CalendarDep,
    time_min: str | None = None,
    time_max: str | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    calendar_id: Annotated[str | None, Query(pattern=r"^[^\s/?#]{1,255}$")] = None,
    account: AccountQuery = None,
) -> Events:
    """Events overlapping [time_min, time_max) in all the calendars of all the user's
    Google accounts (or one calendar, or one account), in the user's time zone. Times
    without an offset and plain dates are the user's local time; the default is the next 7
    days. `q` finds events that mention its words. Accounts Google no longer accepts are
    named in `reconnect_accounts`."""
    return await calendar.get_events(
        str(user_id), time_min, time_max, text=q, calendar_id=calendar_id, account=account
    )


@router.patch("/events/{user_id}/{event_id}", response_model=Event, tags=["events"])
async def update_event(
    user_id: uuid.UUID,
    event_id: EventId,
    body: EventPatchIn,
    calendar: CalendarDep,
    calendar_id: CalendarIdQuery = "primary",
    account: AccountQuery = None,
) -> Event:
    """Change the fields sent; a new start alone moves the event and keeps its length. The
    account: `account`, else the one whose calendar `calendar_id` is, else the default."""
    return await calendar.update_event(str(user_id), event_id, calendar_id, body, account)


@router.delete("/events/{user_id}/{event_id}", response_model=DeletedEvent, tags=["events"])
async def delete_event(
    user_id: uuid.UUID,
    event_id: EventId,
    calendar: CalendarDep,
    calendar_id: CalendarIdQuery = "primary",
    account: AccountQuery = None,
) -> DeletedEvent:
    """`deleted` false when it was deleted already; 404 for an event never there."""
    return await calendar.delete_event(str(user_id), event_id, calendar_id, account)


@router.post("/freebusy/{user_id}", response_model=FreeBusy, tags=["events"])
async def free_busy(user_id: uuid.UUID, body: FreeBusyIn, calendar: CalendarDep) -> FreeBusy:
    """Busy and free time across all the calendars of all the user's Google accounts (the
    default: the next 7 days)."""
    return await calendar.free_busy(str(user_id), body)


@router.get("/calendars/{user_id}", response_model=Calendars, tags=["calendars"])
async def calendars(user_id: uuid.UUID, calendar: CalendarDep) -> Calendars:
    """The calendars of all the user's Google accounts, and which one takes new events."""
    return await calendar.calendars(str(user_id))


@router.put("/calendars/{user_id}/default", response_model=Calendars, tags=["calendars"])
async def set_default_calendar(
    user_id: uuid.UUID, body: DefaultCalendarIn, calendar: CalendarDep
) -> Calendars:
    """New events go to this calendar from now on (kept with its account's connection; that
    account becomes the default)."""
    return await calendar.set_default_calendar(str(user_id), body)


@router.post("/events/{user_id}", response_model=CreatedEvent, tags=["events"])
async def create_event(
    user_id: uuid.UUID, body: EventCreateIn, calendar: CalendarDep, response: Response
) -> CreatedEvent:
    """201 when made now, 200 when the idempotency key had made it already."""
    created = await calendar.create_event(str(user_id), body)
    response.status_code = 201 if created.created else 200
    return created
