"""Route dependencies: who may call, and the calendar service, read like a sentence."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from common.infrastructure import web
from common.infrastructure.service_tokens import Right
from google_calendar_service.src.api.state import STATE, CalendarState
from google_calendar_service.src.domain.calendar import GoogleCalendarService
from google_calendar_service.src.domain.mail import GoogleMail

#: Everything but the OAuth callback is for our services only: SERVICE_API_TOKEN, or the
#: scoped token of a service that calls this one (tg_bot, the assistant).
calendar_callers_only = Depends(
    web.require_right(Right.calendar_api, "call google_calendar_service")
)


async def get_calendar(
    state: Annotated[CalendarState, Depends(STATE.of)],
) -> GoogleCalendarService:
    return state.calendar


CalendarDep = Annotated[GoogleCalendarService, Depends(get_calendar)]


async def get_mail(state: Annotated[CalendarState, Depends(STATE.of)]) -> GoogleMail:
    return state.mail


MailDep = Annotated[GoogleMail, Depends(get_mail)]
