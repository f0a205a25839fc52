"""What the lifespan opens (main.py) and the routes work with."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from common.infrastructure.rest_client import RestClient
from common.infrastructure.service_tokens import TokenTable
from common.infrastructure.web import StateSlot
from google_calendar_service.src.domain.calendar import GoogleCalendarService
from google_calendar_service.src.domain.mail import GoogleMail
from google_calendar_service.src.settings import Settings


@dataclass
class CalendarState:
    settings: Settings
    redis: Redis
    rest: RestClient
    calendar: GoogleCalendarService
    mail: GoogleMail

    @property
    def tokens(self) -> TokenTable:
        """The service tokens this service's settings hold (it has no admin token)."""
        return TokenTable.from_settings(self.settings)

    async def close(self) -> None:
        await self.rest.aclose()
        await self.redis.aclose()


STATE = StateSlot(CalendarState, "calendar_state")
