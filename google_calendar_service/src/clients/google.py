"""Calendar v3 through google-api-python-client: static discovery, blocking calls run in a
worker thread, and Google's failures sorted into what to retry and what to report.

- 401: the authorized transport refreshes the access token once and repeats the call; a
  second 401 means the grant no longer works.
- 403 rateLimitExceeded / userRateLimitExceeded, 429, 5xx and network errors: bounded
  exponential backoff with jitter (Retry-After honoured within the bound).
- 400: Google's message, no retry. `invalid_grant` on refresh: reconnect needed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast

from google.auth.exceptions import RefreshError, TransportError
from prometheus_client import Counter

from common.infrastructure.errors import NotFoundError
from common.infrastructure.logging import get_logger
from common.infrastructure.retry import RetryPolicy, parse_retry_after
from google_calendar_service.src.errors import (
    DuplicateEventError,
    EventGoneError,
    GoogleAuthRejectedError,
    GoogleRejectedError,
    GoogleUnavailableError,
    InvalidGrantError,
)
from google_calendar_service.src.settings import Settings

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import Resource
    from googleapiclient.errors import HttpError
    from googleapiclient.http import HttpRequest

# googleapiclient, httplib2, google-auth's credentials and their dependencies are imported on
# the first Calendar call, not at start: a service that sits idle saves their import time and
# ~17 MB. (google.auth.exceptions alone is small.)

log = get_logger(__name__)

GOOGLE_CALLS = Counter(
    "smart_assistant_google_calendar_calls_total",
    "Calendar v3 calls by method and outcome",
    ["method", "outcome"],
)
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
MakeRequest = Callable[["Resource"], "HttpRequest"]


@cache
def _network_errors() -> tuple[type[BaseException], ...]:
    import httplib2

    return (OSError, httplib2.HttpLib2Error, TransportError)


def _http_error() -> type[HttpError]:
    from googleapiclient.errors import HttpError

    return cast("type[HttpError]", HttpError)


@cache
def _discovery(api: str = "calendar", version: str = "v3") -> str:
    """An API's discovery document from the library's static copies, read once (not on
    every session, as `build` would)."""
    from googleapiclient.discovery_cache import get_static_doc

    document: str | None = get_static_doc(api, version)
    if document is None:
        raise RuntimeError(f"google-api-python-client ships no {api} {version} discovery document")
    return document


class Api(NamedTuple):
    """A Google API to build a client of: its discovery document and endpoint."""

    document: str
    endpoint: str


@dataclass
class CalendarSession:
    """One user's Calendar client for one operation; its calls run one at a time."""

    credentials: Credentials
    service: Resource


@dataclass(frozen=True)
class _Failure:
    status: int
    reason: str
    message: str
    retry_after: float | None

    @classmethod
    def of(cls, exc: HttpError) -> _Failure:
        reason, message = "", exc.reason or ""
        try:
            error = json.loads(exc.content.decode("utf-8"))["error"]
            message = error.get("message", message)
            reason = (error.get("errors") or [{}])[0].get("reason", "")
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            pass
        asked = parse_retry_after(exc.resp.get("retry-after"))
        return cls(exc.status_code, reason, message, asked)

    @property
    def retryable(self) -> bool:
        if self.status == 403:
            return self.reason in _RATE_LIMIT_REASONS
        return self.status == 429 or self.status >= 500


def is_invalid_grant(exc: RefreshError) -> bool:
    details = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(details, dict):
        return details.get("error") == "invalid_grant"
    return "invalid_grant" in str(exc.args[0] if exc.args else "")


class GoogleCalendarClient:
    """Runs Calendar v3 calls for a CalendarSession with the retry rules above."""

    #: The API a session speaks (its static discovery document), and its name for users.
    api: ClassVar[tuple[str, str]] = ("calendar", "v3")
    product: ClassVar[str] = "Google Calendar"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # Equal jitter (half of each wait fixed): Google asks clients to back off.
        self._retry = RetryPolicy(
            settings.google_max_retries,
            settings.google_retry_base_seconds,
            settings.google_retry_max_seconds,
            floor=0.5,
        )

    def _build(self, credentials: Credentials, api: Api | None = None) -> Resource:
        """A client of `api` (by default this client's own: the calendar's, Gmail's) on these
        credentials."""
        import httplib2
        from google_auth_httplib2 import AuthorizedHttp
        from googleapiclient.discovery import build_from_document

        http = AuthorizedHttp(
            credentials,
            http=httplib2.Http(timeout=self._settings.google_timeout_seconds),
            max_refresh_attempts=1,
        )
        document, endpoint = api or Api(_discovery(*self.api), self._endpoint())
        service: Resource = build_from_document(
            document, http=http, client_options={"api_endpoint": endpoint}
        )
        return service

    def _endpoint(self) -> str:
        return self._settings.google_api_base_url

    def _error(self, failure: _Failure) -> Exception:
        """What a final failure of Google's means to our callers."""
        return _error_for(failure, self.product)

    async def open(self, credentials: Credentials, api: Api | None = None) -> CalendarSession:
        """A session the caller closes (`session.service.close()`); `session()` does."""
        service = await asyncio.to_thread(self._build, credentials, api)
        return CalendarSession(credentials, service)

    @asynccontextmanager
    async def session(
        self, credentials: Credentials, api: Api | None = None
    ) -> AsyncIterator[CalendarSession]:
        """A session whose connections to Google close when the operation ends: httplib2
        keeps its sockets open until the garbage collector finds them otherwise. `api` is
        another Google API than the calendar (its discovery document and endpoint)."""
        opened = await self.open(credentials, api)
        try:
            yield opened
        finally:
            opened.service.close()

    async def execute(
        self,
        session: CalendarSession,
        method: str,
        make: MakeRequest,
        retry_when: Callable[[object], bool] | None = None,
    ) -> Any:
        """Run one call; retry what Google says may succeed later (or what `retry_when`
        allows), within the bound."""
        try:
            return await self._retry.run(
                lambda: _attempt(session, method, make),
                retry_exception=retry_when or _worth_retrying,
                wait_hint=_asked_wait,
                name=f"google {method}",
            )
        except _http_error() as exc:
            raise self._error(_Failure.of(exc)) from exc
        except RefreshError as exc:
            if is_invalid_grant(exc):
                raise InvalidGrantError("the refresh token was revoked or expired") from exc
            raise GoogleAuthRejectedError("Google refused to refresh the access token") from exc
        except _network_errors() as exc:
            raise GoogleUnavailableError(
                f"{self.product} could not be reached; try again."
            ) from exc

    # -- the calls the service makes -----------------------------------------------------------

    async def list_events(
        self,
        session: CalendarSession,
        time_min: datetime,
        time_max: datetime,
        time_zone: str,
        *,
        calendar_id: str = "primary",
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every page of single events in start order (a repeated page token ends it);
        `text` is Google's free-text search (`q`)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        pages = _Page(calendar_id, time_min, time_max, time_zone, self._settings.google_page_size)
        while True:
            page = await self.execute(session, "events.list", pages.request(token, text))
            items.extend(page.get("items", []))
            token = page.get("nextPageToken")
            if not token or token in seen:
                return items
            seen.add(token)

    async def insert_event(
        self, session: CalendarSession, body: dict[str, Any], calendar_id: str = "primary"
    ) -> dict[str, Any]:
        made: dict[str, Any] = await self.execute(
            session,
            "events.insert",
            lambda service: service.events().insert(calendarId=calendar_id, body=body),
        )
        return made

    async def get_event(
        self, session: CalendarSession, event_id: str, time_zone: str, calendar_id: str = "primary"
    ) -> dict[str, Any]:
        found: dict[str, Any] = await self.execute(
            session,
            "events.get",
            lambda service: service.events().get(
                calendarId=calendar_id, eventId=event_id, timeZone=time_zone
            ),
        )
        return found

    async def patch_event(
        self, session: CalendarSession, calendar_id: str, event_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """events.patch: only the fields in `body` change."""
        patched: dict[str, Any] = await self.execute(
            session,
            "events.patch",
            lambda service: service.events().patch(
                calendarId=calendar_id, eventId=event_id, body=body
            ),
        )
        return patched

    async def delete_event(self, session: CalendarSession, calendar_id: str, event_id: str) -> None:
        await self.execute(
            session,
            "events.delete",
            lambda service: service.events().delete(calendarId=calendar_id, eventId=event_id),
        )

    async def calendar_list(self, session: CalendarSession) -> list[dict[str, Any]]:
        """Every calendar in the user's list (all pages)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.execute(session, "calendarList.list", _calendar_page(token))
            items.extend(page.get("items", []))
            token = page.get("nextPageToken")
            if not token or token in seen:
                return items
            seen.add(token)

    async def free_busy(
        self,
        session: CalendarSession,
        time_min: datetime,
        time_max: datetime,
        time_zone: str,
        calendar_ids: list[str],
    ) -> dict[str, Any]:
        """freeBusy.query over the given calendars: their busy intervals."""
        body = {
            "timeMin": time_min.isoformat(),
            "timeMax": time_max.isoformat(),
            "timeZone": time_zone,
            "items": [{"id": calendar_id} for calendar_id in calendar_ids],
        }
        answer: dict[str, Any] = await self.execute(
            session, "freebusy.query", lambda service: service.freebusy().query(body=body)
        )
        return answer

    async def primary_calendar_id(self, session: CalendarSession) -> str | None:
        """The primary calendar's id, which is the account's email address."""
        calendar = await self.execute(
            session, "calendars.get", lambda service: service.calendars().get(calendarId="primary")
        )
        found = calendar.get("id")
        return found if isinstance(found, str) else None


async def _attempt(session: CalendarSession, method: str, make: MakeRequest) -> Any:
    """One call, counted by its outcome."""
    try:
        result = await asyncio.to_thread(_run, session, make)
    except _http_error() as exc:
        GOOGLE_CALLS.labels(method, str(exc.status_code)).inc()
        raise
    except RefreshError:
        GOOGLE_CALLS.labels(method, "refresh_error").inc()
        raise
    except _network_errors():
        GOOGLE_CALLS.labels(method, "network").inc()
        raise
    GOOGLE_CALLS.labels(method, "ok").inc()
    return result


def refused_unread(ending: object) -> bool:
    """Google turned the call away before acting on it (rate limited): repeating it cannot
    do the thing twice. A 5xx or a broken connection may come after it was done."""
    return (
        isinstance(ending, _http_error())
        and _Failure.of(ending).retryable
        and (_Failure.of(ending).status in (403, 429))
    )


def _worth_retrying(ending: object) -> bool:
    if isinstance(ending, _http_error()):
        return _Failure.of(ending).retryable
    if isinstance(ending, RefreshError):
        return not is_invalid_grant(ending) and bool(getattr(ending, "retryable", False))
    return isinstance(ending, _network_errors())


def _asked_wait(ending: object) -> float | None:
    """Google's Retry-After, honoured within the cap."""
    return _Failure.of(ending).retry_after if isinstance(ending, _http_error()) else None


def _run(session: CalendarSession, make: MakeRequest) -> Any:
    return make(session.service).execute(num_retries=0)


def _calendar_page(token: str | None) -> MakeRequest:
    def make(service: Resource) -> HttpRequest:
        return service.calendarList().list(pageToken=token)

    return make


@dataclass(frozen=True)
class _Page:
    """What every page of one events.list asks."""

    calendar_id: str
    time_min: datetime
    time_max: datetime
    time_zone: str
    page_size: int

    def request(self, token: str | None, text: str | None) -> MakeRequest:
        def make(service: Resource) -> HttpRequest:
            return service.events().list(
                calendarId=self.calendar_id,
                timeMin=self.time_min.isoformat(),
                timeMax=self.time_max.isoformat(),
                timeZone=self.time_zone,
                singleEvents=True,
                orderBy="startTime",
                maxResults=self.page_size,
                pageToken=token,
                q=text,
            )

        return make


def _error_for(failure: _Failure, product: str = "Google Calendar") -> Exception:
    if failure.status in (401, 403) and failure.reason not in _RATE_LIMIT_REASONS:
        return GoogleAuthRejectedError(f"Google answered {failure.status}: {failure.message}")
    if failure.status == 400:
        return GoogleRejectedError(f"{product} rejected the request: {failure.message}")
    if failure.status == 404:
        return NotFoundError("no such event in the calendar")
    if failure.status == 410:
        return EventGoneError(failure.message)
    if failure.status == 409:
        return DuplicateEventError(failure.message)
    if failure.retryable:
        return GoogleUnavailableError(
            f"{product} is busy ({failure.status} {failure.reason or 'error'}); "
            "try again in a minute."
        )
    return GoogleUnavailableError(f"{product} answered {failure.status}: {failure.message}")
