"""Gmail v1 through google-api-python-client, on the calendar client's machinery
(clients/google.py): static discovery, a worker thread per call, one refresh on 401, the
same retries and error sorting. What differs: the API, its endpoint, and a 403
insufficientPermissions, which means the grant lacks mail (asked for again, not a
reconnect)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from common.infrastructure.errors import NotFoundError
from google_calendar_service.src.clients.google import (
    CalendarSession,
    GoogleCalendarClient,
    _Failure,
    refused_unread,
)
from google_calendar_service.src.errors import GoogleScopeMissingError

if TYPE_CHECKING:
    from googleapiclient.discovery import Resource
    from googleapiclient.http import HttpRequest

#: The mailbox is always the token's own.
_ME = "me"


class GmailClient(GoogleCalendarClient):
    """Runs Gmail v1 calls for a session opened on the user's credentials."""

    api: ClassVar[tuple[str, str]] = ("gmail", "v1")
    product: ClassVar[str] = "Gmail"

    def _endpoint(self) -> str:
        return self._settings.google_mail_api_base_url

    def _error(self, failure: _Failure) -> Exception:
        if failure.status == 403 and failure.reason == "insufficientPermissions":
            return GoogleScopeMissingError("this Google connection does not allow mail")
        if failure.status == 404:
            return NotFoundError("no such message or conversation in the mailbox")
        return super()._error(failure)

    async def list_messages(
        self, session: CalendarSession, query: str, limit: int
    ) -> list[dict[str, Any]]:
        """The newest `limit` messages matching Gmail's search `query` (ids and threads)."""

        def make(service: Resource) -> HttpRequest:
            return _messages(service).list(userId=_ME, q=query or None, maxResults=limit)

        page = await self.execute(session, "messages.list", make)
        found: list[dict[str, Any]] = page.get("messages", [])
        return found[:limit]

    async def get_message(
        self, session: CalendarSession, message_id: str, shape: str = "metadata"
    ) -> dict[str, Any]:
        def make(service: Resource) -> HttpRequest:
            return _messages(service).get(userId=_ME, id=message_id, format=shape)

        found: dict[str, Any] = await self.execute(session, "messages.get", make)
        return found

    async def get_thread(self, session: CalendarSession, thread_id: str) -> dict[str, Any]:
        def make(service: Resource) -> HttpRequest:
            return service.users().threads().get(userId=_ME, id=thread_id, format="full")

        found: dict[str, Any] = await self.execute(session, "threads.get", make)
        return found

    async def create_draft(
        self, session: CalendarSession, raw: str, thread_id: str | None
    ) -> dict[str, Any]:
        body = {"message": _message(raw, thread_id)}

        def make(service: Resource) -> HttpRequest:
            return service.users().drafts().create(userId=_ME, body=body)

        made: dict[str, Any] = await self.execute(session, "drafts.create", make)
        return made

    async def send(
        self, session: CalendarSession, raw: str, thread_id: str | None
    ) -> dict[str, Any]:
        """messages.send: retried only when Google turned it away unread (rate limits); after
        a 5xx or a broken connection it may have been sent, and a retry could send twice."""
        body = _message(raw, thread_id)

        def make(service: Resource) -> HttpRequest:
            return _messages(service).send(userId=_ME, body=body)

        sent: dict[str, Any] = await self.execute(session, "messages.send", make, refused_unread)
        return sent

    async def modify(
        self, session: CalendarSession, message_id: str, add: list[str], remove: list[str]
    ) -> dict[str, Any]:
        body = {"addLabelIds": add, "removeLabelIds": remove}

        def make(service: Resource) -> HttpRequest:
            return _messages(service).modify(userId=_ME, id=message_id, body=body)

        changed: dict[str, Any] = await self.execute(session, "messages.modify", make)
        return changed

    async def labels(self, session: CalendarSession) -> list[dict[str, Any]]:
        def make(service: Resource) -> HttpRequest:
            return service.users().labels().list(userId=_ME)

        found: list[dict[str, Any]] = (await self.execute(session, "labels.list", make)).get(
            "labels", []
        )
        return found

    async def create_label(self, session: CalendarSession, name: str) -> dict[str, Any]:
        body = {"name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}

        def make(service: Resource) -> HttpRequest:
            return service.users().labels().create(userId=_ME, body=body)

        made: dict[str, Any] = await self.execute(session, "labels.create", make)
        return made


def _messages(service: Resource) -> Any:
    return service.users().messages()


def _message(raw: str, thread_id: str | None) -> dict[str, Any]:
    return {"raw": raw, **({"threadId": thread_id} if thread_id else {})}
