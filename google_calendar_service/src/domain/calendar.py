"""GoogleCalendarService: connect a user's Google accounts, read and write their events.

A user may connect several Google accounts (work and personal). Reads (events, free/busy,
the calendars list) span them all, each answer saying which account it is from; an account
whose grant Google no longer accepts is left out, marked for reconnecting and named in the
answer, while the others keep working. Writes go to one account: the one named, the one whose
calendar is named, else the default one.

It joins the parts: connect links (services/oauth.py), the credentials kept by
rest_service (services/credentials.py), Calendar v3 calls (services/google_client.py) and
the translation of events into the user's time zone (services/events.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from common.features.calendar_client import (
    AccountState,
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
from google_calendar_service.src.domain import accounts as choose
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
    DefaultAccountIn,
    DefaultCalendarIn,
    EventCreateIn,
    EventPatchIn,
    FreeBusyIn,
)
from google_calendar_service.src.settings import SCOPES, Settings, granted_access

log = get_logger(__name__)

T = TypeVar("T")
#: One read of one account's calendars.
Read = Callable[[CalendarSession, StoredCredentials], Awaitable[T]]


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
        """The owner's yes (`/calendar confirm`): the pending account joins the user's
        accounts (the first one becomes the default); an account connected before is
        refreshed, keeping its default calendar."""
        await self._rest.get_user(user_id)
        pending = await self._store.load_pending(user_id)
        previous = (
            await self._store.load(user_id, pending.account)
            if pending is not None and pending.account
            else None
        )
        row = await self._rest.confirm_pending_calendar_credentials(
            user_id, max_age_seconds=self._settings.calendar_confirm_ttl_seconds
        )
        if row is None:
            return Confirmation(confirmed=False)
        account = row.credentials.get("account")
        if previous is not None and previous.default_calendar:
            credentials = self._store.from_record(row.credentials)
            await self._store.save(
                user_id, credentials, account, default_calendar=previous.default_calendar
            )
        log.info("calendar_connected", user_id=user_id, default=row.is_default)
        return Confirmation(confirmed=True, account=account, default=row.is_default)

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
        also one of the user's connected accounts is only forgotten, not revoked."""
        connected = await self._store.load_all(user_id)
        if any(a.account == record.get("account") for a in connected):
            return
        await self._revoke(record.get("refresh_token") or record.get("token"))

    async def status(self, user_id: str) -> AuthStatus:
        await self._rest.get_user(user_id)
        connected = await self._store.load_all(user_id)
        pending = await self._store.load_pending(user_id)
        waiting = pending is not None and not _expired(
            pending.connected_at, self._settings.calendar_confirm_ttl_seconds
        )
        pending_account = pending.account if waiting and pending else None
        if not connected:
            return AuthStatus(
                connected=False, valid=False, pending=waiting, pending_account=pending_account
            )
        default = choose.default_of(connected)
        return AuthStatus(
            connected=True,
            valid=default.valid,
            account=default.account,
            connected_at=default.connected_at,
            pending=waiting,
            pending_account=pending_account,
            access=_access_of(default),
            accounts=[
                AccountState(
                    account=a.name,
                    valid=a.valid,
                    default=a is default,
                    connected_at=a.connected_at,
                    access=_access_of(a),
                )
                for a in connected
            ],
        )

    async def set_default_account(self, user_id: str, data: DefaultAccountIn) -> AuthStatus:
        """New events go to this connected account from now on."""
        await self._rest.get_user(user_id)
        connected = await self._store.load_all(user_id)
        if not connected:
            raise CalendarNotConnectedError(
                "Google Calendar is not connected. Open the link to connect it.",
                await self._new_link(user_id),
            )
        chosen = choose.pick(connected, data.account)
        await self._store.make_default(user_id, chosen.name)
        log.info("calendar_default_account_set", user_id=user_id)
        return await self.status(user_id)

    async def disconnect(self, user_id: str, account: str | None = None) -> Disconnection:
        """Revoke at Google where it still works, then forget the credentials: of `account`
        only, or of every account (and a request waiting for confirmation is declined)."""
        if account is None:
            await self.decline(user_id)
        connected = await self._store.load_all(user_id)
        if not connected:
            return Disconnection(disconnected=False, revoked=False)
        going = [choose.pick(connected, account)] if account else connected
        revoked = True
        for stored in going:
            revoked = await self._forget(user_id, stored) and revoked
        left = await self._store.load(user_id)
        log.info("calendar_disconnected", user_id=user_id, revoked=revoked, accounts=len(going))
        return Disconnection(
            disconnected=True,
            revoked=revoked,
            account=going[0].account if account else None,
            default_account=left.account if left else None,
        )

    async def _forget(self, user_id: str, stored: StoredCredentials) -> bool:
        revoked = await self._revoke(stored.credentials.refresh_token or stored.credentials.token)
        await self._store.delete(user_id, stored.account)
        return revoked

    # -- events --------------------------------------------------------------------------------

    async def get_events(
        self,
        user_id: str,
        time_min: str | None,
        time_max: str | None,
        *,
        text: str | None = None,
        calendar_id: str | None = None,
        account: str | None = None,
    ) -> Events:
        """Events of every calendar in every connected account's list (or of `calendar_id`,
        or of `account`), in start order; `text` keeps those that mention it (Google's own
        search). An event seen in an earlier account (a shared calendar, an invitation from
        one account to the other) is listed once, so an event id names one event."""
        user = await self._rest.get_user(user_id)
        tz = _timezone(user, self._settings.default_timezone)
        start, end = resolve_range(
            time_min, time_max, tz, now=utcnow(), max_days=self._settings.max_range_days
        )
        connected = await self._accounts(user_id)
        if account or calendar_id:
            connected = [await self._choose(user_id, connected, account, calendar_id)]

        async def read(
            session: CalendarSession, _stored: StoredCredentials
        ) -> list[tuple[str, dict[str, Any]]]:
            ids = [calendar_id] if calendar_id else await self._calendar_ids(session)
            found: list[tuple[str, dict[str, Any]]] = []
            for one in ids:
                items = await self._google.list_events(
                    session, start, end, tz.key, calendar_id=one, text=text
                )
                found.extend((one, item) for item in items if item.get("status") != "cancelled")
            return found

        results, reconnect = await self._read_each(user_id, connected, read)
        seen: set[str] = set()
        listed: list[tuple[str, StoredCredentials, dict[str, Any]]] = []
        for stored, found in results:
            ours = [(one, stored, item) for one, item in found if item.get("id") not in seen]
            seen.update(str(item.get("id")) for _one, _stored, item in ours)
            listed.extend(ours)
        listed.sort(key=lambda entry: start_instant(entry[2], tz))
        events = [to_event_out(item, tz, one, stored.account) for one, stored, item in listed]
        log.info(
            "calendar_events_listed", user_id=user_id, count=len(events), accounts=len(results)
        )
        return Events(
            timezone=tz.key,
            time_min=start,
            time_max=end,
            count=len(events),
            events=events,
            **await self._reconnect_fields(user_id, reconnect),
        )

    async def create_event(self, user_id: str, data: EventCreateIn) -> CreatedEvent:
        """Create once: the id comes from the idempotency key (random without one), so a
        repeat finds the event it made instead of making another. It goes into the named
        calendar, else the default calendar of the named account, else of the default one."""
        async with self._connected(user_id, data.account, data.calendar_id) as (
            session,
            user,
            stored,
        ):
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
        out = to_event_out(item, tz, _real_id(calendar_id, stored.account), stored.account)
        return CreatedEvent(**out.model_dump(), created=created)

    async def update_event(
        self,
        user_id: str,
        event_id: str,
        calendar_id: str,
        data: EventPatchIn,
        account: str | None = None,
    ) -> Event:
        """events.patch after reading the event (a move keeps its length)."""
        async with self._connected(user_id, account, calendar_id) as (session, user, stored):
            tz = _timezone(user, self._settings.default_timezone)
            item = await self._google.get_event(session, event_id, tz.key, calendar_id)
            body = patch_body(data, item, data.timezone or tz.key)
            patched = await self._google.patch_event(session, calendar_id, event_id, body)
        log.info("calendar_event_updated", user_id=user_id, fields=sorted(body))
        return to_event_out(patched, tz, _real_id(calendar_id, stored.account), stored.account)

    async def delete_event(
        self, user_id: str, event_id: str, calendar_id: str, account: str | None = None
    ) -> DeletedEvent:
        """`deleted` false when Google had it deleted already (a repeat is no error)."""
        async with self._connected(user_id, account, calendar_id) as (session, _user, stored):
            try:
                await self._google.delete_event(session, calendar_id, event_id)
                deleted = True
            except EventGoneError:
                deleted = False
        log.info("calendar_event_deleted", user_id=user_id, deleted=deleted)
        return DeletedEvent(
            deleted=deleted, event_id=event_id, calendar_id=calendar_id, account=stored.account
        )

    async def free_busy(self, user_id: str, data: FreeBusyIn) -> FreeBusy:
        """Busy time across every calendar of every connected account, merged, and the
        free gaps."""
        user = await self._rest.get_user(user_id)
        tz = _timezone(user, self._settings.default_timezone)
        start, end = resolve_range(
            data.time_min, data.time_max, tz, now=utcnow(), max_days=self._settings.max_range_days
        )

        async def read(
            session: CalendarSession, _stored: StoredCredentials
        ) -> tuple[list[str], dict[str, Any]]:
            ids = await self._calendar_ids(session)
            return ids, await self._google.free_busy(session, start, end, tz.key, ids)

        results, reconnect = await self._read_each(user_id, await self._accounts(user_id), read)
        ids: list[str] = []
        spans: list[free_busy.Span] = []
        unreadable: list[str] = []
        for _stored, (read_ids, answer) in results:
            ids.extend(one for one in read_ids if one not in ids)
            spans.extend(free_busy.busy_spans(answer, start, end))
            unreadable.extend(free_busy.unreadable(answer))
        busy = free_busy.merge(spans)
        return FreeBusy(
            timezone=tz.key,
            time_min=start,
            time_max=end,
            calendars=ids,
            unreadable=unreadable,
            busy=free_busy.intervals(busy, tz),
            free=free_busy.intervals(free_busy.gaps(busy, start, end), tz),
            **await self._reconnect_fields(user_id, reconnect),
        )

    async def calendars(self, user_id: str) -> Calendars:
        """Every connected account's calendars (a calendar two accounts share, once)."""
        await self._rest.get_user(user_id)
        connected = await self._accounts(user_id)

        async def read(
            session: CalendarSession, _stored: StoredCredentials
        ) -> list[dict[str, Any]]:
            return await self._google.calendar_list(session)

        results, reconnect = await self._read_each(user_id, connected, read)
        default = choose.default_of(connected)
        default_id = default.default_calendar or default.account or "primary"
        infos: list[CalendarInfo] = []
        for stored, entries in results:
            chosen, listed = _calendars(entries, stored)
            default_id = chosen if stored is default else default_id
            known = {info.id for info in infos}
            infos.extend(info for info in listed if info.id not in known)
        return Calendars(
            default_calendar_id=default_id,
            calendars=infos,
            default_account=default.account,
            **await self._reconnect_fields(user_id, reconnect),
        )

    async def set_default_calendar(self, user_id: str, data: DefaultCalendarIn) -> Calendars:
        """Only a calendar of the user's list that they may write to can take new events; its
        account becomes the default one too."""
        async with self._connected(user_id, data.account, data.calendar_id) as (
            session,
            _user,
            stored,
        ):
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
        if not stored.is_default:
            await self._store.make_default(user_id, stored.name)
        log.info("calendar_default_set", user_id=user_id, primary=chosen is None)
        return await self.calendars(user_id)

    async def _calendar_ids(self, session: CalendarSession) -> list[str]:
        """Every calendar of the account's list that they see (hidden ones stay out)."""
        entries = await self._google.calendar_list(session)
        ids = [e["id"] for e in entries if e.get("id") and not e.get("hidden")]
        return ids or ["primary"]

    def connected(
        self, user_id: str, access: GoogleAccess, account: str | None = None
    ) -> AbstractAsyncContextManager[tuple[CalendarSession, User, StoredCredentials]]:
        """The connection for `access` (the `account` named, else the default account if its
        grant allows it, else the first that does), as the calendar's own calls have it:
        another Google API (tasks, mail) builds its client on the credentials."""
        return self._connected(user_id, account, access=access)

    async def read_allowing(
        self, user_id: str, access: GoogleAccess, read: Read[T]
    ) -> tuple[list[tuple[StoredCredentials, T]], dict[str, Any]]:
        """`read` over every working account whose grant allows `access` (as the calendar's
        reads span accounts), and the fields naming the accounts to reconnect; when no
        account allows `access`, the link that asks for it."""
        await self._rest.get_user(user_id)
        connected = await self._accounts(user_id, access)
        allowing = [s for s in connected if access in _access_of(s)]
        if not allowing:
            raise await self._not_granted(user_id, access, choose.default_of(connected))
        results, reconnect = await self._read_each(user_id, allowing, read)
        return results, await self._reconnect_fields(user_id, reconnect)

    # -- accounts ------------------------------------------------------------------------------

    async def _accounts(
        self, user_id: str, access: GoogleAccess = "calendar"
    ) -> list[StoredCredentials]:
        """The user's connected accounts, the default first; none: the link to connect (asking
        for `access` too)."""
        connected = await self._store.load_all(user_id)
        if not connected:
            raise CalendarNotConnectedError(
                "Google Calendar is not connected. Open the link to connect it.",
                await self._new_link(user_id, [access]),
            )
        return connected

    async def _choose(
        self,
        user_id: str,
        connected: list[StoredCredentials],
        account: str | None,
        calendar_id: str | None,
    ) -> StoredCredentials:
        """The account named, else the one whose calendar is named, else the default one."""
        if account:
            return choose.pick(connected, account)
        if calendar_id and calendar_id != "primary" and len(connected) > 1:
            owner = choose.owner_by_address(connected, calendar_id)
            if owner is None:
                owner = await self._owner_of(user_id, connected, calendar_id)
            if owner is not None:
                return owner
        return choose.default_of(connected)

    async def _owner_of(
        self, user_id: str, connected: list[StoredCredentials], calendar_id: str
    ) -> StoredCredentials | None:
        """The first account (the default first) whose calendar list has `calendar_id`."""

        async def read(session: CalendarSession, _stored: StoredCredentials) -> set[str]:
            return {e.get("id", "") for e in await self._google.calendar_list(session)}

        try:
            results, _reconnect = await self._read_each(user_id, connected, read)
        except CalendarReconnectRequiredError:
            return None
        return next((stored for stored, ids in results if calendar_id in ids), None)

    async def _read_each(
        self, user_id: str, connected: list[StoredCredentials], read: Read[T]
    ) -> tuple[list[tuple[StoredCredentials, T]], list[str]]:
        """`read` over each working account, and the accounts that need reconnecting: one
        account's dead grant is marked for reconnect and the others still answer; when none
        answers, the user gets the link."""
        results: list[tuple[StoredCredentials, T]] = []
        reconnect: list[str] = []
        for stored in connected:
            if not stored.valid:
                reconnect.append(stored.name)
                continue
            try:
                async with self._google.session(stored.credentials) as session:
                    results.append((stored, await read(session, stored)))
            except InvalidGrantError:
                await self._store.mark_invalid(user_id, stored)
                reconnect.append(stored.name)
            except GoogleAuthRejectedError:
                reconnect.append(stored.name)
            finally:
                await self._write_back(user_id, stored)
        if not results:
            raise await self._reconnect(user_id, reconnect)
        return results, reconnect

    async def _reconnect_fields(self, user_id: str, reconnect: list[str]) -> dict[str, Any]:
        """What an answer read without some accounts says about them: which, and the link."""
        if not reconnect:
            return {}
        log.info("calendar_reconnect_required", user_id=user_id, accounts=len(reconnect))
        return {"reconnect_accounts": reconnect, "reconnect_url": await self._new_link(user_id)}

    @asynccontextmanager
    async def _connected(
        self,
        user_id: str,
        account: str | None = None,
        calendar_id: str | None = None,
        *,
        access: GoogleAccess = "calendar",
    ) -> AsyncIterator[tuple[CalendarSession, User, StoredCredentials]]:
        """One account's Google session (see `_choose`); refreshed tokens are written back, a
        dead grant is marked invalid, and a user who must (re)connect, or grant `access` to
        the account used, gets the link in the error."""
        user = await self._rest.get_user(user_id)
        connected = await self._accounts(user_id, access)
        unnamed = account is None and calendar_id is None and access != "calendar"
        stored = (_first_allowing(connected, access) if unnamed else None) or await self._choose(
            user_id, connected, account, calendar_id
        )
        if not stored.valid:
            raise await self._reconnect(user_id, [stored.name])
        if access not in _access_of(stored):
            raise await self._not_granted(user_id, access, stored)
        try:
            async with self._google.session(stored.credentials) as session:
                yield session, user, stored
        except InvalidGrantError:
            await self._store.mark_invalid(user_id, stored)
            raise await self._reconnect(user_id, [stored.name]) from None
        except GoogleAuthRejectedError:
            raise await self._reconnect(user_id, [stored.name]) from None
        finally:
            await self._write_back(user_id, stored)

    async def _not_granted(
        self, user_id: str, access: GoogleAccess, stored: StoredCredentials
    ) -> GoogleAccessNotGrantedError:
        named = f" ({stored.name})" if stored.name else ""
        return GoogleAccessNotGrantedError(
            f"This Google connection{named} does not allow {access}. Open the link to allow it.",
            await self._new_link(user_id, [access]),
            [stored.name] if stored.name else [],
        )

    async def _reconnect(self, user_id: str, accounts: list[str]) -> CalendarReconnectRequiredError:
        log.info("calendar_reconnect_required", user_id=user_id, accounts=len(accounts))
        named = ", ".join(a for a in accounts if a)
        which = f" ({named})" if named else ""
        return CalendarReconnectRequiredError(
            f"Google no longer accepts this calendar connection{which}. Open the link to "
            "reconnect.",
            await self._new_link(user_id),
            [a for a in accounts if a],
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


def _first_allowing(
    connected: list[StoredCredentials], access: GoogleAccess
) -> StoredCredentials | None:
    """The account mail or tasks use: the default when its grant allows `access`, else the
    first working one that does (None: none does, the default answers why)."""
    allowing = [s for s in connected if s.valid and access in _access_of(s)]
    default = choose.default_of(connected)
    return default if default in allowing else next(iter(allowing), None)


def _access_of(stored: StoredCredentials) -> list[GoogleAccess]:
    """What an account's grant allows; the calendar is every connection's first grant (older
    records list no scopes)."""
    granted = granted_access(stored.credentials.scopes or ())
    return granted if "calendar" in granted else ["calendar", *granted]


def _real_id(calendar_id: str, account: str | None) -> str:
    """The primary calendar's id is its account's address."""
    return account if calendar_id == "primary" and account else calendar_id


def _calendars(
    entries: list[dict[str, Any]], stored: StoredCredentials
) -> tuple[str, list[CalendarInfo]]:
    """One account's calendars, and its default one (marked default only in the default
    account)."""
    primary = next((e["id"] for e in entries if e.get("primary")), "primary")
    default = stored.default_calendar
    known = default is not None and any(e.get("id") == default for e in entries)
    chosen = default if known and default else primary
    return chosen, [
        CalendarInfo(
            id=e["id"],
            summary=e.get("summaryOverride") or e.get("summary") or e["id"],
            primary=bool(e.get("primary")),
            default=stored.is_default and e["id"] == chosen,
            access_role=e.get("accessRole", "reader"),
            time_zone=e.get("timeZone"),
            account=stored.account,
        )
        for e in entries
        if e.get("id")
    ]


def _expired(since: datetime | None, ttl_seconds: int) -> bool:
    if since is None:
        return True
    return (utcnow() - since).total_seconds() > ttl_seconds


def _timezone(user: User, default: str) -> ZoneInfo:
    return zone_or_default(user.timezone, default)
