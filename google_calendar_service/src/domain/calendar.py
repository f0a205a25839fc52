"""GoogleCalendarService: connect a user's calendar, read and write their events.

It joins the parts: connect links (services/oauth.py), the credentials kept by
rest_service (services/credentials.py), Calendar v3 calls (services/google_client.py) and
the translation of events into the user's time zone (services/events.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common.features.calendar_client import (
    AuthLink,
    AuthStatus,
    CalendarInfo,
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
from common.features.language import choose_language
from common.features.texts import TEXTS
from common.features.timezones import zone_or_default
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import AppError, FieldError, ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import ID_NAMESPACE, OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import User
from google_calendar_service.src.clients.google import (
    CalendarSession,
    GoogleCalendarClient,
)
from google_calendar_service.src.domain import free_busy
from google_calendar_service.src.domain.credentials import CredentialStore, StoredCredentials
from google_calendar_service.src.domain.events import (
    event_body,
    event_id_for,
    patch_body,
    resolve_range,
    start_instant,
    to_event_out,
)
from google_calendar_service.src.domain.oauth import OAuthClient, OAuthStates
from google_calendar_service.src.errors import (
    AuthorizationDeniedError,
    CalendarNotConnectedError,
    CalendarReconnectRequiredError,
    DuplicateEventError,
    EventGoneError,
    GoogleAccessNotGrantedError,
    GoogleAuthRejectedError,
    InvalidGrantError,
    OAuthCallbackError,
)
from google_calendar_service.src.schemas.events import (
    DefaultCalendarIn,
    EventCreateIn,
    EventPatchIn,
    FreeBusyIn,
)
from google_calendar_service.src.settings import SCOPES, Settings, granted_access

log = get_logger(__name__)


class GoogleCalendarService:
    SCOPES = SCOPES

    def __init__(
        self,
        settings: Settings,
        rest: RestClient,
        publisher: StreamPublisher,
        states: OAuthStates,
        oauth: OAuthClient,
        google: GoogleCalendarClient,
    ) -> None:
        self._settings = settings
        self._rest = rest
        self._publisher = publisher
        self._states = states
        self._oauth = oauth
        self._google = google
        self._store = CredentialStore(rest, settings)

    # -- connecting ----------------------------------------------------------------------------

    async def get_auth_url(self, user_id: str, access: Iterable[GoogleAccess] = ()) -> AuthLink:
        """A fresh connect link for an existing user; `access` asks for more than the
        calendar."""
        await self._rest.get_user(user_id)
        link = await self._new_link(user_id, access)
        return AuthLink(auth_url=link, expires_in=self._states.ttl_seconds)

    async def _new_link(self, user_id: str, access: Iterable[GoogleAccess] = ()) -> str:
        state = self._states.new_state()
        url, code_verifier = self._oauth.authorization_url(state, access)
        await self._states.remember(state, user_id, code_verifier)
        return url

    async def handle_callback(self, code: str | None, state: str | None, error: str | None) -> str:
        """Finish a connect link: exchange the code, keep the tokens *pending*, ask the owner.

        Whoever holds the link may open it, so nothing is connected here: the link's user is
        asked in their own chat to confirm the account. Returns the account's address (or
        "") for the page. The state is consumed first, so a replayed or forged callback
        never reaches Google.
        """
        pending = await self._states.consume(state)
        if pending is None:
            raise OAuthCallbackError("This link has expired or was already used.")
        if error:
            log.info("calendar_connect_denied", user_id=pending.user_id, error=error)
            raise AuthorizationDeniedError("Access to the calendar was not granted.")
        if not code:
            raise OAuthCallbackError("Google sent no authorization code.")
        credentials = await self._oauth.exchange(code, pending.code_verifier)
        async with self._google.session(credentials) as session:
            account = await self._account_of(session)
        await self._store.save_pending(pending.user_id, credentials, account)
        log.info("calendar_connect_pending", user_id=pending.user_id)
        await self._ask_owner(pending.user_id, account, state or "")
        return account or ""

    async def _account_of(self, session: CalendarSession) -> str | None:
        """Best effort: the connection works without knowing the address."""
        try:
            return await self._google.primary_calendar_id(session)
        except (AppError, GoogleAuthRejectedError, InvalidGrantError) as exc:
            log.warning("calendar_account_unknown", error=type(exc).__name__)
            return None

    async def _ask_owner(self, user_id: str, account: str | None, state: str) -> None:
        """To the user's own private chat (its id is the Telegram user id), never a group: the
        account is theirs only once they say so, so a link opened by someone else can at most
        produce a request the owner declines."""
        user = await self._rest.get_user(user_id)
        if user.telegram_id is None:
            # No Telegram chat to ask in: the pending account lapses unconfirmed.
            log.info("calendar_owner_without_telegram", user_id=user_id)
            return
        texts = TEXTS.speaking(choose_language(stored=user.language))
        text = texts.text(
            "calendar.ask_owner",
            account=account or texts.text("calendar.unknown_account"),
            minutes=max(1, self._settings.calendar_confirm_ttl_seconds // 60),
        )
        message = OutgoingMessage(
            message_id=uuid.uuid5(ID_NAMESPACE, f"calendar-confirm:{user_id}:{state}"),
            chat_id=user.telegram_id,
            text=text,
            kind=OutgoingKind.NOTIFICATION,
            correlation_id=f"calendar-connect:{user_id}",
        )
        await self._publisher.publish(TO_TELEGRAM, message)

    async def confirm(self, user_id: str) -> Confirmation:
        """The owner's yes (`/calendar confirm`): the pending account becomes the calendar.
        An older connection it replaces is revoked at Google."""
        await self._rest.get_user(user_id)
        previous = await self._store.load(user_id)
        row = await self._rest.confirm_pending_calendar_credentials(
            user_id, max_age_seconds=self._settings.calendar_confirm_ttl_seconds
        )
        if row is None:
            return Confirmation(confirmed=False)
        account = row.credentials.get("account")
        if previous is not None and previous.account != account:
            await self._revoke(previous.credentials.refresh_token or previous.credentials.token)
        log.info("calendar_connected", user_id=user_id)
        return Confirmation(confirmed=True, account=account)

    async def decline(self, user_id: str) -> Declined:
        """The owner's no (`/calendar decline`): the grant is revoked and forgotten."""
        await self._rest.get_user(user_id)
        row = await self._rest.get_pending_calendar_credentials(user_id)
        if row is None:
            return Declined(declined=False)
        await self._rest.delete_pending_calendar_credentials(user_id)
        record = row.credentials
        await self._revoke_unless_active(user_id, record)
        log.info("calendar_connect_declined", user_id=user_id)
        return Declined(declined=True, account=record.get("account"))

    async def expire_pending(self) -> int:
        """Drop the requests nobody answered in time and revoke their grants."""
        rows = await self._rest.expire_pending_calendar_credentials(
            max_age_seconds=self._settings.calendar_confirm_ttl_seconds
        )
        for row in rows:
            await self._revoke_unless_active(str(row.user_id), row.credentials)
            log.info("calendar_connect_expired", user_id=str(row.user_id))
        return len(rows)

    async def _revoke(self, token: str | None) -> bool:
        return await self._oauth.revoke(token) if token else False

    async def _revoke_unless_active(self, user_id: str, record: dict[str, Any]) -> None:
        """Revoking at Google ends the whole grant of that account, so an account that is
        also the user's active connection is only forgotten, not revoked."""
        active = await self._store.load(user_id)
        if active is not None and active.account == record.get("account"):
            return
        await self._revoke(record.get("refresh_token") or record.get("token"))

    async def status(self, user_id: str) -> AuthStatus:
        await self._rest.get_user(user_id)
        stored = await self._store.load(user_id)
        pending = await self._store.load_pending(user_id)
        waiting = pending is not None and not _expired(
            pending.connected_at, self._settings.calendar_confirm_ttl_seconds
        )
        pending_account = pending.account if waiting and pending else None
        if stored is None:
            return AuthStatus(
                connected=False, valid=False, pending=waiting, pending_account=pending_account
            )
        return AuthStatus(
            connected=True,
            valid=stored.valid,
            account=stored.account,
            connected_at=stored.connected_at,
            pending=waiting,
            pending_account=pending_account,
            access=granted_access(stored.credentials.scopes or ()),
        )

    async def disconnect(self, user_id: str) -> Disconnection:
        """Revoke at Google where it still works, then forget the credentials; a request
        waiting for confirmation goes too (declined)."""
        await self.decline(user_id)
        stored = await self._store.load(user_id)
        if stored is None:
            return Disconnection(disconnected=False, revoked=False)
        revoked = await self._revoke(stored.credentials.refresh_token or stored.credentials.token)
        await self._store.delete(user_id)
        log.info("calendar_disconnected", user_id=user_id, revoked=revoked)
        return Disconnection(disconnected=True, revoked=revoked)

    # -- events --------------------------------------------------------------------------------

    async def get_events(
        self,
        user_id: str,
        time_min: str | None,
        time_max: str | None,
        *,
        text: str | None = None,
        calendar_id: str | None = None,
    ) -> Events:
        """Events of every calendar in the user's list (or of `calendar_id`), in start
        order; `text` keeps those that mention it (Google's own search)."""
        async with self._connected(user_id) as (session, user, _stored):
            tz = _timezone(user, self._settings.default_timezone)
            start, end = resolve_range(
                time_min,
                time_max,
                tz,
                now=utcnow(),
                max_days=self._settings.max_range_days,
            )
            ids = [calendar_id] if calendar_id else await self._calendar_ids(session)
            found: list[tuple[str, dict[str, Any]]] = []
            for one in ids:
                items = await self._google.list_events(
                    session, start, end, tz.key, calendar_id=one, text=text
                )
                found.extend((one, item) for item in items if item.get("status") != "cancelled")
        found.sort(key=lambda pair: start_instant(pair[1], tz))
        events = [to_event_out(item, tz, one) for one, item in found]
        log.info("calendar_events_listed", user_id=user_id, count=len(events), calendars=len(ids))
        return Events(
            timezone=tz.key, time_min=start, time_max=end, count=len(events), events=events
        )

    async def create_event(self, user_id: str, data: EventCreateIn) -> CreatedEvent:
        """Create once: the id comes from the idempotency key (random without one), so a
        repeat finds the event it made instead of making another. It goes into the named
        calendar, else the user's default one."""
        async with self._connected(user_id) as (session, user, stored):
            tz = _timezone(user, self._settings.default_timezone)
            calendar_id = data.calendar_id or stored.default_calendar or "primary"
            key = data.idempotency_key
            event_id = event_id_for(user_id, key) if key else uuid.uuid4().hex
            body = event_body(data, data.timezone or tz.key, event_id)
            try:
                item, created = await self._google.insert_event(session, body, calendar_id), True
            except DuplicateEventError:
                item = await self._google.get_event(session, event_id, tz.key, calendar_id)
                created = False
        log.info("calendar_event_created", user_id=user_id, created=created)
        out = to_event_out(item, tz, _real_id(calendar_id, stored.account))
        return CreatedEvent(**out.model_dump(), created=created)

    async def update_event(
        self, user_id: str, event_id: str, calendar_id: str, data: EventPatchIn
    ) -> Event:
        """events.patch after reading the event (a move keeps its length)."""
        async with self._connected(user_id) as (session, user, stored):
            tz = _timezone(user, self._settings.default_timezone)
            item = await self._google.get_event(session, event_id, tz.key, calendar_id)
            body = patch_body(data, item, data.timezone or tz.key)
            patched = await self._google.patch_event(session, calendar_id, event_id, body)
        log.info("calendar_event_updated", user_id=user_id, fields=sorted(body))
        return to_event_out(patched, tz, _real_id(calendar_id, stored.account))

    async def delete_event(self, user_id: str, event_id: str, calendar_id: str) -> DeletedEvent:
        """`deleted` false when Google had it deleted already (a repeat is no error)."""
        async with self._connected(user_id) as (session, _user, _stored):
            try:
                await self._google.delete_event(session, calendar_id, event_id)
                deleted = True
            except EventGoneError:
                deleted = False
        log.info("calendar_event_deleted", user_id=user_id, deleted=deleted)
        return DeletedEvent(deleted=deleted, event_id=event_id, calendar_id=calendar_id)

    async def free_busy(self, user_id: str, data: FreeBusyIn) -> FreeBusy:
        """Busy time across every calendar of the user's, merged, and the free gaps."""
        async with self._connected(user_id) as (session, user, _stored):
            tz = _timezone(user, self._settings.default_timezone)
            start, end = resolve_range(
                data.time_min,
                data.time_max,
                tz,
                now=utcnow(),
                max_days=self._settings.max_range_days,
            )
            ids = await self._calendar_ids(session)
            answer = await self._google.free_busy(session, start, end, tz.key, ids)
        busy = free_busy.merge(free_busy.busy_spans(answer, start, end))
        return FreeBusy(
            timezone=tz.key,
            time_min=start,
            time_max=end,
            calendars=ids,
            unreadable=free_busy.unreadable(answer),
            busy=free_busy.intervals(busy, tz),
            free=free_busy.intervals(free_busy.gaps(busy, start, end), tz),
        )

    async def calendars(self, user_id: str) -> Calendars:
        async with self._connected(user_id) as (session, _user, stored):
            entries = await self._google.calendar_list(session)
        return _calendars(entries, stored.default_calendar)

    async def set_default_calendar(self, user_id: str, data: DefaultCalendarIn) -> Calendars:
        """Only a calendar of the user's list that they may write to can take new events."""
        async with self._connected(user_id) as (session, _user, stored):
            entries = await self._google.calendar_list(session)
            entry = next((e for e in entries if e.get("id") == data.calendar_id), None)
            if entry is None or entry.get("accessRole") not in _WRITABLE:
                raise ValidationFailedError(
                    "not a calendar of the user's that takes new events",
                    [FieldError("calendar_id", "unknown or read-only")],
                )
            chosen = None if entry.get("primary") else data.calendar_id
            stored.default_calendar = chosen
            await self._store.save(
                user_id, stored.credentials, stored.account, default_calendar=chosen
            )
            stored.stored_token = stored.credentials.token
        log.info("calendar_default_set", user_id=user_id, primary=chosen is None)
        return _calendars(entries, chosen)

    async def _calendar_ids(self, session: CalendarSession) -> list[str]:
        """Every calendar of the user's list that they see (hidden ones stay out)."""
        entries = await self._google.calendar_list(session)
        ids = [e["id"] for e in entries if e.get("id") and not e.get("hidden")]
        return ids or ["primary"]

    def connected(
        self, user_id: str, access: GoogleAccess
    ) -> AbstractAsyncContextManager[tuple[CalendarSession, User, StoredCredentials]]:
        """The user's connection for `access`, as the calendar's own calls have it: another
        Google API (tasks) builds its client on the credentials."""
        return self._connected(user_id, access)

    @asynccontextmanager
    async def _connected(
        self, user_id: str, access: GoogleAccess = "calendar"
    ) -> AsyncIterator[tuple[CalendarSession, User, StoredCredentials]]:
        """The user's Google session; refreshed tokens are written back, a dead grant is
        marked invalid, and a user who must (re)connect, or grant `access`, gets the link in
        the error."""
        user = await self._rest.get_user(user_id)
        stored = await self._store.load(user_id)
        if stored is None:
            raise CalendarNotConnectedError(
                "Google Calendar is not connected. Open the link to connect it.",
                await self._new_link(user_id, [access]),
            )
        if not stored.valid:
            raise await self._reconnect(user_id)
        # The calendar is every connection's first grant (older records list no scopes).
        if access != "calendar" and access not in granted_access(stored.credentials.scopes or ()):
            raise GoogleAccessNotGrantedError(
                f"This Google connection does not allow {access}. Open the link to allow it.",
                await self._new_link(user_id, [access]),
            )
        try:
            async with self._google.session(stored.credentials) as session:
                yield session, user, stored
        except InvalidGrantError:
            await self._store.mark_invalid(user_id, stored)
            raise await self._reconnect(user_id) from None
        except GoogleAuthRejectedError:
            raise await self._reconnect(user_id) from None
        finally:
            await self._write_back(user_id, stored)

    async def _reconnect(self, user_id: str) -> CalendarReconnectRequiredError:
        log.info("calendar_reconnect_required", user_id=user_id)
        return CalendarReconnectRequiredError(
            "Google no longer accepts this calendar connection. Open the link to reconnect.",
            await self._new_link(user_id),
        )

    async def _write_back(self, user_id: str, stored: StoredCredentials) -> None:
        if not stored.refreshed or not stored.valid:
            return
        try:
            await self._store.save(
                user_id,
                stored.credentials,
                stored.account,
                default_calendar=stored.default_calendar,
            )
        except AppError as exc:  # the call itself worked; the next one refreshes again
            log.warning("calendar_token_not_saved", user_id=user_id, error=type(exc).__name__)
            return
        stored.stored_token = stored.credentials.token
        log.info("calendar_token_refreshed", user_id=user_id)


_WRITABLE = frozenset({"owner", "writer"})


def _real_id(calendar_id: str, account: str | None) -> str:
    """The primary calendar's id is its account's address."""
    return account if calendar_id == "primary" and account else calendar_id


def _calendars(entries: list[dict[str, Any]], default: str | None) -> Calendars:
    primary = next((e["id"] for e in entries if e.get("primary")), "primary")
    known = default is not None and any(e.get("id") == default for e in entries)
    chosen = default if known and default else primary
    return Calendars(
        default_calendar_id=chosen,
        calendars=[
            CalendarInfo(
                id=e["id"],
                summary=e.get("summaryOverride") or e.get("summary") or e["id"],
                primary=bool(e.get("primary")),
                default=e["id"] == chosen,
                access_role=e.get("accessRole", "reader"),
                time_zone=e.get("timeZone"),
            )
            for e in entries
            if e.get("id")
        ],
    )


def _expired(since: datetime | None, ttl_seconds: int) -> bool:
    if since is None:
        return True
    return (utcnow() - since).total_seconds() > ttl_seconds


def _timezone(user: User, default: str) -> ZoneInfo:
    return zone_or_default(user.timezone, default)
