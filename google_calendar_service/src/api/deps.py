"""Route dependencies: the service token and the calendar service, read like a sentence."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.errors import UnauthorizedError
from common.service_tokens import calendar_caller_tokens, matches_any
from google_calendar_service.src.domain.calendar import GoogleCalendarService

_bearer = HTTPBearer(auto_error=False)


async def require_service_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Everything but the OAuth callback is for our services only: SERVICE_API_TOKEN, or
    the scoped token of a service that calls this one (tg_bot, the assistant)."""
    accepted = calendar_caller_tokens(request.app.state.settings)
    given = credentials.credentials if credentials else ""
    if not accepted or not matches_any(given, accepted):
        raise UnauthorizedError("a valid service token is required")


def get_calendar(request: Request) -> GoogleCalendarService:
    return request.app.state.calendar


CalendarDep = Annotated[GoogleCalendarService, Depends(get_calendar)]
