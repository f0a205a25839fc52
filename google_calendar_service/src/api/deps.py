"""Route dependencies: the service token and the calendar service, read like a sentence."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.errors import UnauthorizedError
from google_calendar_service.src.services.calendar import GoogleCalendarService

_bearer = HTTPBearer(auto_error=False)


async def require_service_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Everything but the OAuth callback is for our services only (SERVICE_API_TOKEN)."""
    expected = request.app.state.settings.service_api_token
    given = credentials.credentials if credentials else ""
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise UnauthorizedError("a valid service token is required")


def get_calendar(request: Request) -> GoogleCalendarService:
    return request.app.state.calendar


CalendarDep = Annotated[GoogleCalendarService, Depends(get_calendar)]
