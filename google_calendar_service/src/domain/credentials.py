"""A user's Google credentials, kept by rest_service (encrypted there), never here.

Only what is needed to act for the user is stored: the tokens, their expiry, the granted
scopes and the account's address. The OAuth client id and secret and the token endpoint
come from this service's settings, so pointing the service at another Google (the
stand-in) needs no data migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from common.infrastructure.errors import NotFoundError
from common.infrastructure.rest_client import RestClient
from google_calendar_service.src.settings import Settings

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials


@dataclass
class StoredCredentials:
    credentials: Credentials
    account: str | None
    valid: bool
    connected_at: datetime | None
    #: The access token as stored, to notice a refresh that must be written back.
    stored_token: str | None
    #: Where new events go unless a call names a calendar (None: the primary calendar).
    default_calendar: str | None = None
    #: The account new events go to unless a call names another.
    is_default: bool = True

    @property
    def name(self) -> str:
        """How answers name the account ("" when Google did not say)."""
        return self.account or ""

    @property
    def refreshed(self) -> bool:
        return self.credentials.token != self.stored_token


def _expiry_text(credentials: Credentials) -> str | None:
    # google-auth keeps expiry as a naive UTC datetime
    expiry = credentials.expiry
    return expiry.replace(tzinfo=UTC).isoformat() if expiry else None


def _expiry_value(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


class CredentialStore:
    def __init__(self, rest: RestClient, settings: Settings) -> None:
        self._rest = rest
        self._settings = settings

    def to_record(
        self, credentials: Credentials, account: str | None, default_calendar: str | None = None
    ) -> dict[str, Any]:
        scopes = credentials.granted_scopes or credentials.scopes or []
        record = {
            "token": credentials.token,
            "refresh_token": credentials.refresh_token,
            "expiry": _expiry_text(credentials),
            "scopes": list(scopes),
            "account": account,
        }
        return record | ({"default_calendar": default_calendar} if default_calendar else {})

    def from_record(self, record: dict[str, Any]) -> Credentials:
        from google.oauth2.credentials import Credentials  # on the first call that needs one

        # google-auth leaves Credentials.__init__ unannotated.
        return Credentials(  # type: ignore[no-untyped-call]
            token=record.get("token"),
            refresh_token=record.get("refresh_token"),
            token_uri=self._settings.google_token_uri,
            client_id=self._settings.google_client_id,
            client_secret=self._settings.google_client_secret,
            scopes=record.get("scopes") or None,
            expiry=_expiry_value(record.get("expiry")),
        )

    async def load(self, user_id: str, account: str | None = None) -> StoredCredentials | None:
        """One connected account (None: the default one, as when a user had only one); a
        pending one is not a connection."""
        row = await self._rest.get_calendar_credentials(user_id, account)
        if row is None or row.status != "active":
            return None
        return self._stored(row.credentials, row.valid, row.created_at, row.is_default)

    async def load_all(self, user_id: str) -> list[StoredCredentials]:
        """Every connected account of the user's, the default first."""
        rows = await self._rest.list_calendar_accounts(user_id)
        return [
            self._stored(row.credentials, row.valid, row.created_at, row.is_default)
            for row in rows
            if row.status == "active"
        ]

    async def load_pending(self, user_id: str) -> StoredCredentials | None:
        """A consented account awaiting its owner's confirmation; `connected_at` is when it
        began waiting."""
        row = await self._rest.get_pending_calendar_credentials(user_id)
        if row is None:
            return None
        return self._stored(row.credentials, False, row.pending_since, False)

    def _stored(
        self, record: dict[str, Any], valid: bool, since: datetime | None, is_default: bool
    ) -> StoredCredentials:
        return StoredCredentials(
            credentials=self.from_record(record),
            account=record.get("account"),
            valid=valid,
            connected_at=since,
            stored_token=record.get("token"),
            default_calendar=record.get("default_calendar"),
            is_default=is_default,
        )

    async def save(
        self,
        user_id: str,
        credentials: Credentials,
        account: str | None,
        *,
        valid: bool = True,
        default_calendar: str | None = None,
    ) -> None:
        """Into `account`'s row (None: the default account's). The default calendar is kept
        with the connection, so it goes when the connection does (another account's calendars
        are not this one's)."""
        record = self.to_record(credentials, account, default_calendar)
        await self._rest.put_calendar_credentials(user_id, record, valid=valid, account=account)

    async def save_pending(
        self, user_id: str, credentials: Credentials, account: str | None
    ) -> None:
        await self._rest.put_pending_calendar_credentials(
            user_id, self.to_record(credentials, account)
        )

    async def mark_invalid(self, user_id: str, stored: StoredCredentials) -> None:
        """Keep the row (so /calendar can say "reconnect"), flagged as no longer working."""
        await self.save(
            user_id,
            stored.credentials,
            stored.account,
            valid=False,
            default_calendar=stored.default_calendar,
        )
        stored.valid = False

    async def delete(self, user_id: str, account: str | None = None) -> bool:
        """Forget one account (None: the default one); another becomes the default."""
        try:
            await self._rest.delete_calendar_credentials(user_id, account)
        except NotFoundError:
            return False
        return True

    async def make_default(self, user_id: str, account: str) -> None:
        await self._rest.set_default_calendar_account(user_id, account)
