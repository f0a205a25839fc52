"""What the Google stand-in remembers: OAuth clients, codes and tokens, calendars, faults.

Plain Python, no HTTP, so a test that runs the stand-in in its own process can also reach
in and arrange things (consent, events, an `invalid_grant`, a 429) directly.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.google_schema import validate

DEFAULT_CLIENT_ID = "sandbox-client-id.apps.googleusercontent.com"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_EMAIL = "user@example.com"

#: Google's event ids: base32hex characters, 5 to 1024 of them.
_ID_ALPHABET = set("0123456789abcdefghijklmnopqrstuv")


class OAuthError(Exception):
    """An OAuth error answer: `{"error", "error_description"}` with a status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


_API_ERRORS: dict[tuple[int, str], tuple[str, str, str]] = {
    # (status, reason) -> (domain, message, status name), as Google words them
    (400, "badRequest"): ("global", "Bad Request", "INVALID_ARGUMENT"),
    (400, "timeRangeEmpty"): ("calendar", "The specified time range is empty.", "INVALID_ARGUMENT"),
    (401, "authError"): ("global", "Invalid Credentials", "UNAUTHENTICATED"),
    (403, "rateLimitExceeded"): ("usageLimits", "Rate Limit Exceeded", "PERMISSION_DENIED"),
    (403, "userRateLimitExceeded"): (
        "usageLimits",
        "User Rate Limit Exceeded",
        "PERMISSION_DENIED",
    ),
    (403, "forbidden"): ("global", "Forbidden", "PERMISSION_DENIED"),
    (404, "notFound"): ("global", "Not Found", "NOT_FOUND"),
    (409, "duplicate"): ("global", "The requested identifier already exists.", "ALREADY_EXISTS"),
    (429, "rateLimitExceeded"): ("usageLimits", "Rate Limit Exceeded", "RESOURCE_EXHAUSTED"),
    (500, "backendError"): ("global", "Backend Error", "INTERNAL"),
}
_DEFAULT_REASON = {400: "badRequest", 401: "authError", 403: "rateLimitExceeded", 404: "notFound"}
_DEFAULT_REASON |= {409: "duplicate", 429: "rateLimitExceeded", 500: "backendError"}


class ApiError(Exception):
    """A Calendar API error answer in Google's JSON error format."""

    def __init__(self, status: int, reason: str | None = None, message: str | None = None) -> None:
        reason = reason or _DEFAULT_REASON.get(status, "backendError")
        domain, default_message, status_name = _API_ERRORS.get(
            (status, reason), ("global", reason, "UNKNOWN")
        )
        self.status, self.reason = status, reason
        self.message = message or default_message
        self.domain, self.status_name = domain, status_name
        super().__init__(f"{status} {reason}: {self.message}")

    def body(self) -> dict[str, Any]:
        error = {"domain": self.domain, "reason": self.reason, "message": self.message}
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [error],
                "status": self.status_name,
            }
        }


@dataclass
class Consent:
    """What the "user" does on the consent screen for the next authorization."""

    grant: bool = True
    email: str = DEFAULT_EMAIL
    error: str = "access_denied"


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    email: str
    offline: bool
    challenge: str | None
    challenge_method: str | None
    expires_at: float
    used: bool = False
    issued: list[str] = field(default_factory=list)


@dataclass
class Grant:
    """A refresh token and what it may do."""

    client_id: str
    email: str
    scopes: list[str]
    revoked: bool = False


@dataclass
class AccessToken:
    email: str
    scopes: list[str]
    expires_at: float
    refresh_token: str | None
    revoked: bool = False


@dataclass
class Fault:
    operation: str
    status: int
    reason: str | None = None
    message: str | None = None
    remaining: int = 1


@dataclass
class Calendar:
    """One calendar of an account: its primary one (id = the email) or another it owns."""

    email: str
    time_zone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Another calendar's own id; None for the primary calendar.
    calendar_id: str | None = None
    summary: str | None = None
    #: Ids of deleted events: Google answers 410 for them, 404 for ids it never had.
    deleted: set[str] = field(default_factory=set)
    #: Changed instances of recurring events by instance id (`<event id>_<start>`), as
    #: events.patch on an instance leaves them; a deleted instance is in `deleted`.
    exceptions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.calendar_id or self.email


@dataclass
class Seen:
    """One request the stand-in answered, for tests to assert on (never a token)."""

    operation: str
    params: dict[str, str]
    status: int


def rfc3339(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def parse_rfc3339(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ApiError(400, "badRequest", f"Missing time zone offset in {text!r}.")
    return moment


#: The `prompt` values Google's authorization endpoint takes (space-separated).
_PROMPTS = frozenset({"none", "consent", "select_account"})


def _prompt(value: str) -> set[str]:
    """The authorization request's `prompt`, refused the way Google refuses it: an unknown
    value, or `none` together with another."""
    asked = set(value.split())
    if not asked <= _PROMPTS:
        unknown = " ".join(sorted(asked - _PROMPTS))
        raise OAuthError(400, "invalid_request", f"Invalid parameter value for prompt: {unknown}")
    if "none" in asked and len(asked) > 1:
        raise OAuthError(
            400, "invalid_request", "prompt=none must not be combined with other values"
        )
    return asked


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_event_id() -> str:
    return uuid.uuid4().hex


class GoogleState:
    """The whole stand-in: OAuth server, calendars and the faults tests ask for."""

    def __init__(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        *,
        access_token_ttl: int = 3599,
    ) -> None:
        self.clients = {client_id: client_secret}
        self.access_token_ttl = access_token_ttl
        self.default_consent = Consent()
        self.consents: deque[Consent] = deque()
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.calendars: dict[str, Calendar] = {}
        #: An account's other calendars by their id (calendarList shows them after the primary).
        self.other_calendars: dict[str, dict[str, Calendar]] = {}
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        #: The grant_type of every token request, in order ("authorization_code", ...).
        self.token_grants: list[str] = []
        #: The account picked on each account chooser shown (`prompt=select_account`), in order.
        self.chosen_accounts: list[str] = []

    # -- arranging (tests and the control endpoints) ----------------------------------------

    def queue_consent(self, grant: bool = True, email: str = DEFAULT_EMAIL) -> None:
        """The next authorization is granted (as `email`) or denied."""
        self.consents.append(Consent(grant=grant, email=email))

    def queue_fault(
        self,
        operation: str,
        status: int,
        reason: str | None = None,
        *,
        count: int = 1,
        message: str | None = None,
    ) -> None:
        """The next `count` calls of `operation` (`events.list`, `token`, ...) fail."""
        self.faults.append(Fault(operation, status, reason, message, count))

    def calendar(self, email: str, time_zone: str | None = None) -> Calendar:
        calendar = self.calendars.setdefault(email, Calendar(email))
        if time_zone:
            calendar.time_zone = time_zone
        return calendar

    def add_calendar(
        self, email: str, calendar_id: str, summary: str, time_zone: str | None = None
    ) -> Calendar:
        """Another calendar of `email`'s (a work or family calendar)."""
        primary = self.calendar(email)
        others = self.other_calendars.setdefault(email, {})
        return others.setdefault(
            calendar_id,
            Calendar(
                email, time_zone or primary.time_zone, calendar_id=calendar_id, summary=summary
            ),
        )

    def seed(
        self, email: str, events: list[dict[str, Any]], calendar_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Put events straight into `email`'s calendar, or into another one of theirs
        (any eventType, no API limits)."""
        calendar = self.other_calendars[email][calendar_id] if calendar_id else self.calendar(email)
        return [self._store(calendar, dict(body)) for body in events]

    def invalidate_grants(self, email: str) -> None:
        """The user revoked access at Google: refreshes now answer `invalid_grant`."""
        for grant in self.grants.values():
            if grant.email == email:
                grant.revoked = True
        self.expire_access_tokens(email)

    def expire_access_tokens(self, email: str) -> None:
        """Access tokens stop working before their stated expiry (the API answers 401)."""
        for token in self.tokens.values():
            if token.email == email:
                token.revoked = True

    def reset_activity(self) -> None:
        """Forget queued consents and faults and the requests seen (between two tests)."""
        self.consents.clear()
        self.faults.clear()
        self.seen.clear()
        self.token_grants.clear()
        self.chosen_accounts.clear()

    def issued_secrets(self) -> list[str]:
        """Every token and code handed out, for tests that look for leaks."""
        return [*self.tokens, *self.grants, *self.codes]

    def operations(self, operation: str) -> list[Seen]:
        return [s for s in self.seen if s.operation == operation]

    def take_fault(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation in (operation, "*") and fault.remaining > 0:
                fault.remaining -= 1
                return fault
        return None

    # -- OAuth ---------------------------------------------------------------------------------

    def authorize(self, params: dict[str, str]) -> dict[str, str]:
        """The consent screen: the query to send back to `redirect_uri`."""
        client_id = params.get("client_id", "")
        if client_id not in self.clients:
            raise OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if params.get("response_type") != "code" or not params.get("redirect_uri"):
            raise OAuthError(400, "invalid_request", "Required parameter is missing.")
        scopes = params.get("scope", "").split()
        if not scopes:
            raise OAuthError(400, "invalid_request", "Missing required parameter: scope")
        prompt = _prompt(params.get("prompt", ""))
        consent = self.consents.popleft() if self.consents else self.default_consent
        back = {"state": params["state"]} if "state" in params else {}
        if "select_account" in prompt:
            self.chosen_accounts.append(consent.email)
        if not consent.grant:
            return {"error": consent.error, **back}
        if params.get("include_granted_scopes") == "true":
            scopes += self._granted(client_id, consent.email, scopes)
        code = f"4/{secrets.token_urlsafe(24)}"
        self.codes[code] = AuthCode(
            client_id=client_id,
            redirect_uri=params["redirect_uri"],
            scopes=scopes,
            email=consent.email,
            offline=params.get("access_type") == "offline",
            challenge=params.get("code_challenge"),
            challenge_method=params.get("code_challenge_method"),
            expires_at=time.time() + 600,
        )
        self.calendar(consent.email)
        return {"code": code, "scope": " ".join(scopes), **back}

    def _granted(self, client_id: str, email: str, asked: list[str]) -> list[str]:
        """Scopes this account granted the client before and not asked now (incremental
        authorization)."""
        earlier = [
            scope
            for grant in self.grants.values()
            if grant.client_id == client_id and grant.email == email and not grant.revoked
            for scope in grant.scopes
        ]
        return list(dict.fromkeys(s for s in earlier if s not in asked))

    def _client(self, form: dict[str, str], basic: tuple[str, str] | None) -> str:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if self.clients.get(client_id) != secret:
            raise OAuthError(401, "invalid_client", "Unauthorized")
        return client_id

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        self.token_grants.append(grant_type)
        client_id = self._client(form, basic)
        if grant_type == "authorization_code":
            return self._exchange(client_id, form)
        if grant_type == "refresh_token":
            return self._refresh(client_id, form)
        raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _exchange(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        code = self.codes.get(form.get("code", ""))
        if code is None or code.expires_at < time.time() or code.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "Malformed auth code.")
        if code.used:  # a replayed code also revokes what it gave, as Google does
            for token in code.issued:
                if token in self.grants:
                    self.grants[token].revoked = True
            raise OAuthError(400, "invalid_grant", "Bad Request")
        if form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError(400, "redirect_uri_mismatch", "Bad Request")
        self._check_pkce(code, form.get("code_verifier"))
        code.used = True
        refresh = f"1//{secrets.token_urlsafe(32)}" if code.offline else None
        if refresh:
            self.grants[refresh] = Grant(client_id, code.email, code.scopes)
            code.issued.append(refresh)
        return self._issue(code.email, code.scopes, refresh, include_refresh=True)

    @staticmethod
    def _check_pkce(code: AuthCode, verifier: str | None) -> None:
        if code.challenge is None:
            return
        if not verifier:
            raise OAuthError(400, "invalid_grant", "Missing code verifier.")
        expected = pkce_challenge(verifier) if code.challenge_method == "S256" else verifier
        if expected != code.challenge:
            raise OAuthError(400, "invalid_grant", "Invalid code verifier.")

    def _refresh(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        refresh = form.get("refresh_token", "")
        grant = self.grants.get(refresh)
        if grant is None or grant.revoked or grant.client_id != client_id:
            raise OAuthError(400, "invalid_grant", "Token has been expired or revoked.")
        return self._issue(grant.email, grant.scopes, refresh, include_refresh=False)

    def _issue(
        self, email: str, scopes: list[str], refresh: str | None, *, include_refresh: bool
    ) -> dict[str, Any]:
        access = f"ya29.{secrets.token_urlsafe(40)}"
        self.tokens[access] = AccessToken(
            email, scopes, time.time() + self.access_token_ttl, refresh
        )
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_token_ttl,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if include_refresh and refresh:
            body["refresh_token"] = refresh
        return body

    def revoke(self, token: str) -> None:
        """Revoking either token ends the whole grant."""
        access = self.tokens.get(token)
        refresh = access.refresh_token if access else token
        grant = self.grants.get(refresh or "")
        if (access is None or access.revoked) and (grant is None or grant.revoked):
            raise OAuthError(400, "invalid_token", "Token expired or revoked")
        if refresh in self.grants:
            self.grants[refresh].revoked = True
        for item in self.tokens.values():
            if item.refresh_token == refresh or item is access:
                item.revoked = True

    # -- Calendar v3 ---------------------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> str:
        """The email behind a bearer token, or 401 as Google answers it."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        access = self.tokens.get(token)
        if access is None or access.revoked or access.expires_at < time.time():
            raise ApiError(401, "authError")
        return access.email

    def own_calendar(self, email: str, calendar_id: str) -> Calendar:
        if calendar_id in ("primary", email):
            return self.calendar(email)
        found = self.other_calendars.get(email, {}).get(calendar_id)
        if found is None:
            raise ApiError(404, "notFound")
        return found

    def owned(self, email: str) -> list[Calendar]:
        """The primary calendar first, then the others."""
        return [self.calendar(email), *self.other_calendars.get(email, {}).values()]

    def calendar_resource(self, calendar: Calendar) -> dict[str, Any]:
        body = {
            "kind": "calendar#calendar",
            "etag": f'"{abs(hash(calendar.id)) % 10**12}"',
            "id": calendar.id,
            "summary": calendar.summary or calendar.email,
            "timeZone": calendar.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }
        validate("Calendar", body)
        return body

    def insert(self, calendar: Calendar, body: dict[str, Any]) -> dict[str, Any]:
        """events.insert: Google's checks on the id, the times and a duplicate id."""
        validate("Event", body)
        event_id = body.get("id")
        if event_id is not None:
            if not 5 <= len(event_id) <= 1024 or not set(event_id) <= _ID_ALPHABET:
                raise ApiError(400, "invalid", "Invalid resource id value.")
            if event_id in calendar.events:
                raise ApiError(409, "duplicate")
        for bound in ("start", "end"):
            if not body.get(bound):
                raise ApiError(400, "required", f"Missing {bound} time.")
        return self._store(calendar, body)

    def _store(self, calendar: Calendar, body: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC)
        event_id = body.get("id") or new_event_id()
        for bound in ("start", "end"):
            body[bound] = _normalise_time(body[bound], bound)
        start, end = _bounds(body, calendar.time_zone)
        if end <= start:
            raise ApiError(400, "timeRangeEmpty")
        stored = {
            "kind": "calendar#event",
            "etag": f'"{int(now.timestamp() * 1000)}"',
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": _stamp(now),
            "updated": _stamp(now),
            "creator": {"email": calendar.email, "self": True},
            "organizer": {"email": calendar.email, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
            **{k: v for k, v in body.items() if k not in ("id",)},
        }
        if stored["eventType"] == "birthday":
            stored.setdefault("birthdayProperties", {"type": "birthday"})
            stored.setdefault("transparency", "transparent")
            stored.setdefault("visibility", "private")
        validate("Event", stored)
        calendar.events[event_id] = stored
        return stored

    def calendar_list(self, email: str) -> dict[str, Any]:
        """calendarList.list: every calendar of the account, the primary one marked."""
        items = [
            {
                "kind": "calendar#calendarListEntry",
                "etag": f'"{abs(hash(c.id)) % 10**12}"',
                "id": c.id,
                "summary": c.summary or c.email,
                "timeZone": c.time_zone,
                "accessRole": "owner",
                "selected": True,
                "defaultReminders": [],
                **({"primary": True} if c.calendar_id is None else {}),
            }
            for c in self.owned(email)
        ]
        body = {
            "kind": "calendar#calendarList",
            "etag": f'"{len(items)}"',
            "nextSyncToken": f"sync-{secrets.token_hex(8)}",
            "items": items,
        }
        validate("CalendarList", body)
        return body

    def patch(self, calendar: Calendar, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """events.patch: the fields sent replace the stored ones; times checked as on insert."""
        validate("Event", body)
        stored = self._existing(calendar, event_id)
        if "id" in body and body["id"] != event_id:
            raise ApiError(400, "invalid", "The event id cannot be changed.")
        merged = {**stored, **{k: v for k, v in body.items() if k != "id"}}
        for bound in ("start", "end"):
            merged[bound] = _normalise_time(merged[bound], bound)
        start, end = _bounds(merged, calendar.time_zone)
        if end <= start:
            raise ApiError(400, "timeRangeEmpty")
        now = datetime.now(UTC)
        merged |= {
            "etag": f'"{int(now.timestamp() * 1000)}"',
            "updated": _stamp(now),
            "sequence": int(stored.get("sequence", 0)) + 1,
        }
        validate("Event", merged)
        if event_id in calendar.events:
            calendar.events[event_id] = merged
        else:  # an instance of a recurring event: the series keeps, this one changes
            calendar.exceptions[event_id] = merged
        return merged

    def delete(self, calendar: Calendar, event_id: str) -> None:
        """events.delete: 410 for an event deleted already, 404 for one never there; an
        instance of a recurring event goes alone."""
        self._existing(calendar, event_id)
        calendar.events.pop(event_id, None)
        calendar.exceptions.pop(event_id, None)
        calendar.deleted.add(event_id)

    def _existing(self, calendar: Calendar, event_id: str) -> dict[str, Any]:
        """A stored event, or an instance of a recurring one (as changed, if it was)."""
        if event_id in calendar.deleted:
            raise ApiError(410, "deleted", "Resource has been deleted")
        if event_id in calendar.events:
            return calendar.events[event_id]
        if event_id in calendar.exceptions:
            return calendar.exceptions[event_id]
        series = calendar.events.get(event_id.rsplit("_", 1)[0]) if "_" in event_id else None
        if series and series.get("recurrence"):
            query = _ListQuery.parse({}, calendar.time_zone)
            for instance in _instances(series, calendar.time_zone, query):
                if instance["id"] == event_id:
                    return instance
        raise ApiError(404, "notFound")

    def free_busy(self, email: str, body: dict[str, Any]) -> dict[str, Any]:
        """freeBusy.query: the busy intervals of each asked calendar the account can read
        (transparent and cancelled events do not block time); others get a notFound."""
        validate("FreeBusyRequest", body)
        if "timeMin" not in body or "timeMax" not in body:
            raise ApiError(400, "required", "Missing timeMin or timeMax.")
        time_min, time_max = parse_rfc3339(body["timeMin"]), parse_rfc3339(body["timeMax"])
        if time_max <= time_min:
            raise ApiError(400, "timeRangeEmpty")
        zone = ZoneInfo(body.get("timeZone") or "UTC")
        params = {"timeMin": body["timeMin"], "timeMax": body["timeMax"], "singleEvents": "true"}
        calendars: dict[str, Any] = {}
        for item in body.get("items") or []:
            try:
                calendar = self.own_calendar(email, item["id"])
            except ApiError:
                calendars[item["id"]] = {
                    "errors": [{"domain": "global", "reason": "notFound"}],
                    "busy": [],
                }
                continue
            query = _ListQuery.parse(params, calendar.time_zone)
            busy = [
                _bounds(e, calendar.time_zone)
                for e in _matching(calendar, query)
                if e.get("transparency") != "transparent" and e.get("status") != "cancelled"
            ]
            calendars[item["id"]] = {
                "busy": [
                    {
                        "start": rfc3339(max(start, time_min).astimezone(zone)),
                        "end": rfc3339(min(end, time_max).astimezone(zone)),
                    }
                    for start, end in busy
                ]
            }
        answer = {
            "kind": "calendar#freeBusy",
            "timeMin": _stamp(time_min),
            "timeMax": _stamp(time_max),
            "calendars": calendars,
        }
        validate("FreeBusyResponse", answer)
        return answer

    def get_event(self, calendar: Calendar, event_id: str, time_zone: str | None) -> dict[str, Any]:
        if event_id in calendar.deleted:
            raise ApiError(404, "notFound")
        rendered = _render(self._existing(calendar, event_id), time_zone or calendar.time_zone)
        validate("Event", rendered)
        return rendered

    def list_events(self, calendar: Calendar, params: dict[str, str]) -> dict[str, Any]:
        """events.list with timeMin/timeMax, singleEvents, orderBy and paging."""
        query = _ListQuery.parse(params, calendar.time_zone)
        items = _matching(calendar, query)
        if params.get("q"):
            items = [e for e in items if _mentions(e, params["q"])]
        page = items[query.offset : query.offset + query.max_results]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"{len(calendar.events)}"',
            "summary": calendar.summary or calendar.email,
            "description": "",
            "updated": _stamp(datetime.now(UTC)),
            "timeZone": query.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 30}],
            "items": [_render(event, query.time_zone) for event in page],
        }
        if query.offset + query.max_results < len(items):
            body["nextPageToken"] = query.token_for(query.offset + query.max_results)
        else:
            body["nextSyncToken"] = f"sync-{secrets.token_hex(8)}"
        # Stored events were validated whole when stored, instances when made, and _render
        # validates what it changes: the envelope is what is left to check.
        validate("Events", {**body, "items": []})
        return body


@dataclass
class _ListQuery:
    time_min: datetime | None
    time_max: datetime | None
    single_events: bool
    order_by: str | None
    time_zone: str
    max_results: int
    offset: int
    fingerprint: str

    @classmethod
    def parse(cls, params: dict[str, str], calendar_tz: str) -> _ListQuery:
        single = params.get("singleEvents", "false") == "true"
        order_by = params.get("orderBy")
        if order_by == "startTime" and not single:
            raise ApiError(
                400, "badRequest", "The requested ordering is not available for the query."
            )
        time_min = parse_rfc3339(params["timeMin"]) if "timeMin" in params else None
        time_max = parse_rfc3339(params["timeMax"]) if "timeMax" in params else None
        if time_min and time_max and time_max <= time_min:
            raise ApiError(400, "timeRangeEmpty")
        fingerprint = hashlib.sha1(
            repr(sorted((k, v) for k, v in params.items() if k != "pageToken")).encode()
        ).hexdigest()[:12]
        query = cls(
            time_min,
            time_max,
            single,
            order_by,
            params.get("timeZone") or calendar_tz,
            min(max(int(params.get("maxResults", "250")), 1), 2500),
            0,
            fingerprint,
        )
        query.offset = query._offset_of(params.get("pageToken"))
        return query

    def token_for(self, offset: int) -> str:
        return base64.urlsafe_b64encode(f"{self.fingerprint}:{offset}".encode()).decode()

    def _offset_of(self, token: str | None) -> int:
        if not token:
            return 0
        try:
            fingerprint, offset = base64.urlsafe_b64decode(token).decode().split(":")
        except ValueError as exc:
            raise ApiError(400, "invalid", "Invalid page token value.") from exc
        if fingerprint != self.fingerprint:
            raise ApiError(400, "invalid", "Invalid page token value.")
        return int(offset)


def _normalise_time(value: dict[str, Any], bound: str) -> dict[str, Any]:
    """An EventDateTime as Google keeps it: `date`, or `dateTime` with an offset."""
    if "date" in value:
        return {"date": value["date"]}
    if "dateTime" not in value:
        raise ApiError(400, "required", f"Missing {bound} time.")
    moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
    zone = value.get("timeZone")
    if moment.tzinfo is None:
        if not zone:
            raise ApiError(400, "badRequest", f"Missing time zone definition for {bound} time.")
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    normalised = {"dateTime": rfc3339(moment)}
    return normalised | ({"timeZone": zone} if zone else {})


def _bounds(event: dict[str, Any], calendar_tz: str) -> tuple[datetime, datetime]:
    """Start and end as instants; all-day dates begin at midnight in the calendar's zone."""
    return _instant(event["start"], calendar_tz), _instant(event["end"], calendar_tz)


def _instant(value: dict[str, Any], calendar_tz: str) -> datetime:
    if "date" in value:
        return datetime.combine(date.fromisoformat(value["date"]), datetime.min.time()).replace(
            tzinfo=ZoneInfo(calendar_tz)
        )
    return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))


def _render(event: dict[str, Any], time_zone: str) -> dict[str, Any]:
    """An event as events.list returns it: dateTimes in the requested zone."""
    rendered = dict(event)
    for bound in ("start", "end", "originalStartTime"):
        value = event.get(bound)
        if value and "dateTime" in value:
            moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
            rendered[bound] = {**value, "dateTime": rfc3339(moment.astimezone(ZoneInfo(time_zone)))}
            validate("EventDateTime", rendered[bound])
    return rendered


def _mentions(event: dict[str, Any], text: str) -> bool:
    """events.list's `q`: every word of it in the summary, description or location."""
    haystack = " ".join(str(event.get(k) or "") for k in ("summary", "description", "location"))
    return all(word in haystack.casefold() for word in text.casefold().split())


def _matching(calendar: Calendar, query: _ListQuery) -> list[dict[str, Any]]:
    found: list[tuple[datetime, dict[str, Any]]] = []
    for event in calendar.events.values():
        candidates = (
            _instances(event, calendar.time_zone, query)
            if query.single_events and event.get("recurrence")
            else [event]
        )
        if query.single_events and event.get("recurrence"):
            candidates = [
                calendar.exceptions.get(c["id"], c)
                for c in candidates
                if c["id"] not in calendar.deleted
            ]
        for candidate in candidates:
            start, end = _bounds(candidate, calendar.time_zone)
            if (query.time_min is None or end > query.time_min) and (
                query.time_max is None or start < query.time_max
            ):
                found.append((start, candidate))
    if query.order_by == "startTime":
        found.sort(key=lambda pair: pair[0])
    return [event for _, event in found]


_STEPS = {"DAILY": "days", "WEEKLY": "weeks", "MONTHLY": "months", "YEARLY": "years"}


def _instances(event: dict[str, Any], calendar_tz: str, query: _ListQuery) -> list[dict]:
    """A recurring event's instances up to timeMax (DAILY/WEEKLY/MONTHLY/YEARLY, COUNT)."""
    rule = next((r for r in event["recurrence"] if r.startswith("RRULE:")), "")
    parts = dict(p.split("=", 1) for p in rule.removeprefix("RRULE:").split(";") if "=" in p)
    unit, interval = _STEPS.get(parts.get("FREQ", ""), "years"), int(parts.get("INTERVAL", "1"))
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    start, end = _bounds(event, calendar_tz)
    zone = event["start"].get("timeZone")
    if zone:  # wall-clock recurrence in the event's own zone, across DST changes
        start, end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    limit = query.time_max or start + timedelta(days=366 * 2)
    out: list[dict[str, Any]] = []
    n = 0
    while (count is None or n < count) and n < 5000:
        first = _shift(start, unit, interval * n)
        if first is not None and first >= limit:
            break
        if first is not None:
            out.append(_instance(event, first, first + (end - start)))
        n += 1
    return out


def _shift(moment: datetime, unit: str, amount: int) -> datetime | None:
    """The nth occurrence's start; None where the date does not exist (31 April)."""
    if unit in ("days", "weeks"):
        local = moment.replace(tzinfo=None) + timedelta(**{unit: amount})
        return local.replace(tzinfo=moment.tzinfo)
    months = amount * (12 if unit == "years" else 1)
    year, month = divmod(moment.month - 1 + months, 12)
    try:
        return moment.replace(year=moment.year + year, month=month + 1)
    except ValueError:
        return None


def _instance(event: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any]:
    all_day = "date" in event["start"]
    if all_day:
        suffix = start.strftime("%Y%m%d")
        original = {"date": start.date().isoformat()}
        times = {"start": original, "end": {"date": end.date().isoformat()}}
    else:
        suffix = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        zone = event["start"].get("timeZone")
        extra = {"timeZone": zone} if zone else {}
        times = {
            "start": {"dateTime": rfc3339(start), **extra},
            "end": {"dateTime": rfc3339(end), **extra},
        }
        original = {"dateTime": rfc3339(start), **extra}
    instance = {k: v for k, v in event.items() if k != "recurrence"} | times
    instance |= {
        "id": f"{event['id']}_{suffix}",
        "recurringEventId": event["id"],
        "originalStartTime": original,
    }
    validate("Event", instance)
    return instance
