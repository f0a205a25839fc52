"""The HTTP API (ARCHITECTURE.md "Google Calendar"). All but the callback need the service
token; the callback is protected by its single-use state instead."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from common.calendar_client import (
    AuthLink,
    AuthStatus,
    Confirmation,
    CreatedEvent,
    Declined,
    Disconnection,
    Events,
)
from common.errors import AppError
from google_calendar_service.src.api.deps import CalendarDep, calendar_callers_only
from google_calendar_service.src.api.pages import confirm_in_telegram_page, rejected_page
from google_calendar_service.src.schemas.events import EventCreateIn

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
async def auth_url(user_id: uuid.UUID, calendar: CalendarDep) -> AuthLink:
    return await calendar.get_auth_url(str(user_id))


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


@router.delete("/auth/{user_id}", response_model=Disconnection, tags=["oauth"])
async def disconnect(user_id: uuid.UUID, calendar: CalendarDep) -> Disconnection:
    return await calendar.disconnect(str(user_id))


@router.get("/events/{user_id}", response_model=Events, tags=["events"])
async def list_events(
    user_id: uuid.UUID,
    calendar: CalendarDep,
    time_min: str | None = None,
    time_max: str | None = None,
) -> Events:
    """Events overlapping [time_min, time_max), in the user's time zone. Times without an
    offset and plain dates are the user's local time; the default is the next 7 days."""
    return await calendar.get_events(str(user_id), time_min, time_max)


@router.post("/events/{user_id}", response_model=CreatedEvent, tags=["events"])
async def create_event(
    user_id: uuid.UUID, body: EventCreateIn, calendar: CalendarDep, response: Response
) -> CreatedEvent:
    """201 when made now, 200 when the idempotency key had made it already."""
    created = await calendar.create_event(str(user_id), body)
    response.status_code = 201 if created.created else 200
    return created
