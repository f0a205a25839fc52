"""google_calendar_service settings."""

from __future__ import annotations

from typing import ClassVar

from common.settings import ServiceSettings


class Settings(ServiceSettings):
    default_port: ClassVar[int] = 8001

    google_client_id: str = ""
    google_client_secret: str = ""
    google_redirect_uri: str = "http://127.0.0.1:8001/auth/callback"
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    google_api_base_url: str = "https://www.googleapis.com/calendar/v3/"
