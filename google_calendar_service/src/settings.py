"""google_calendar_service settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from pydantic import Field

from common.features.calendar_client import GoogleAccess
from common.infrastructure.settings import ServiceSettings

#: The calendar's scopes, read and write.
SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events",
)

#: The scopes of each access a user may grant. gmail.modify reads, drafts, sends and labels,
#: but cannot delete mail for good.
ACCESS_SCOPES: dict[GoogleAccess, tuple[str, ...]] = {
    "calendar": SCOPES,
    "mail": ("https://www.googleapis.com/auth/gmail.modify",),
    "tasks": ("https://www.googleapis.com/auth/tasks",),
}


def scopes_for(access: Iterable[GoogleAccess]) -> list[str]:
    """The scopes to ask for: the calendar's always, then each access asked, in order."""
    wanted: list[str] = list(SCOPES)
    for name in access:
        wanted += [s for s in ACCESS_SCOPES[name] if s not in wanted]
    return wanted


def granted_access(scopes: Iterable[str]) -> list[GoogleAccess]:
    """Each access whose scopes were all granted."""
    have = set(scopes)
    return [name for name, needed in ACCESS_SCOPES.items() if have.issuperset(needed)]


class Settings(ServiceSettings):
    default_port: ClassVar[int] = 8001
    service_name: ClassVar[str] = "google_calendar_service"

    google_client_id: str = ""
    google_client_secret: str = ""
    google_redirect_uri: str = "http://127.0.0.1:8001/auth/callback"
    google_auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    google_token_uri: str = "https://oauth2.googleapis.com/token"
    google_revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    google_api_base_url: str = "https://www.googleapis.com/calendar/v3/"
    #: Tasks v1's root (its paths start `tasks/v1/`).
    google_tasks_api_base_url: str = "https://tasks.googleapis.com/"
    #: Gmail v1's root (the client's `api_endpoint`; its paths start with gmail/v1/).
    google_mail_api_base_url: str = "https://gmail.googleapis.com/"

    #: How long a connect link works; its state is single-use within that time.
    oauth_state_ttl_seconds: int = Field(default=600, gt=0)
    #: How long a consented Google account waits (pending, unusable) for its Telegram user's
    #: `/calendar confirm`; then it is dropped and its grant revoked.
    calendar_confirm_ttl_seconds: int = Field(default=900, gt=0, le=86_400)
    #: How often the pending connections are checked for expiry.
    calendar_expiry_interval_seconds: float = Field(default=60.0, gt=0)
    #: Calls to Google that are rate limited (403/429) or fail (5xx, network) are retried
    #: with exponential backoff and jitter: base * 2**attempt, at most max, this many times.
    google_max_retries: int = Field(default=5, ge=0)
    google_retry_base_seconds: float = Field(default=0.5, ge=0)
    google_retry_max_seconds: float = Field(default=8.0, gt=0)
    google_timeout_seconds: float = Field(default=20.0, gt=0)
    #: events.list page size (Google's default; at most 2500).
    google_page_size: int = Field(default=250, ge=1, le=2500)
    #: The widest range GET /events answers, so one request cannot page a calendar forever.
    max_range_days: int = Field(default=366, gt=0)
