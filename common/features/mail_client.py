"""The typed client of google_calendar_service's mail routes (Gmail through the user's
Google connection), and the shapes they answer.

The client is the calendar client's (one HTTP stack, one error mapping): a connection
without mail raises `GoogleAccessNotGranted` with the link that asks for it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from common.features.calendar_client import CalendarClient, _Answer

#: An address as the mail routes take it (the name part is Gmail's to add).
ADDRESS_PATTERN = r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,255}$"
#: A Gmail message, thread or draft id.
MAIL_ID_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"

Address = Annotated[str, Field(pattern=ADDRESS_PATTERN)]
#: A connected Google account: its address, or a part of it that names one account ("work").
AccountName = Annotated[str, Field(pattern=r"^[^\s/?#]{1,320}$")]
LabelName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")]


class MailMessage(_Answer):
    """One message as the assistant reads it; `text` only when a thread is read."""

    id: str
    thread_id: str
    sender: str
    to: str
    subject: str
    date: str
    snippet: str
    unread: bool
    labels: list[str]
    text: str | None = None
    #: The Google account whose mailbox holds it (None from services older than several
    #: accounts).
    account: str | None = None


class MailMessages(_Answer):
    query: str
    messages: list[MailMessage]
    #: Accounts left out because Google no longer accepts their grant, and the link.
    reconnect_accounts: list[str] = Field(default_factory=list)
    reconnect_url: str | None = None


class MailThread(_Answer):
    id: str
    subject: str
    messages: list[MailMessage]
    account: str | None = None


class MailDraft(_Answer):
    id: str
    thread_id: str
    to: list[str]
    subject: str
    account: str | None = None


class MailSent(_Answer):
    id: str
    thread_id: str
    to: list[str]
    subject: str
    #: False when the idempotency key had sent it already (nothing went out again).
    sent: bool
    account: str | None = None


class MailModified(_Answer):
    id: str
    labels: list[str]
    account: str | None = None


class MailOut(BaseModel):
    """A message to draft or send. With `thread_id` it answers that conversation: `to` and
    `subject` default to its last incoming message's sender and "Re: " its subject."""

    model_config = ConfigDict(extra="forbid")

    to: list[Address] = Field(default_factory=list, max_length=20)
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    thread_id: str | None = Field(default=None, pattern=MAIL_ID_PATTERN)
    #: A send with a key seen before sends nothing again (a retried request, a second Yes).
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    #: The Google account to write from (its address or a unique part); None: the default
    #: mail account.
    account: AccountName | None = None


class MailChange(BaseModel):
    """Labels to add (made when missing) and remove, by name; `archive` takes it out of the
    inbox."""

    model_config = ConfigDict(extra="forbid")

    add_labels: list[LabelName] = Field(default_factory=list, max_length=10)
    remove_labels: list[LabelName] = Field(default_factory=list, max_length=10)
    archive: bool = False
    #: The Google account whose mailbox holds the message; None: the default mail account.
    account: AccountName | None = None


class MailClient(CalendarClient):
    """The mail routes of google_calendar_service."""

    async def messages(self, user_id: str, query: str = "", limit: int = 10) -> MailMessages:
        """The newest `limit` messages matching Gmail's search `query`."""
        params = {"q": query, "max": str(limit)}
        return await self._call(MailMessages, "GET", f"/mail/{user_id}/messages", params=params)

    async def thread(self, user_id: str, thread_id: str, account: str | None = None) -> MailThread:
        path = f"/mail/{user_id}/threads/{quote(thread_id, safe='')}"
        params = {"account": account} if account else None
        return await self._call(MailThread, "GET", path, params=params)

    async def draft(self, user_id: str, out: MailOut) -> MailDraft:
        body = out.model_dump(exclude_none=True)
        return await self._call(MailDraft, "POST", f"/mail/{user_id}/drafts", json=body)

    async def send_mail(self, user_id: str, out: MailOut) -> MailSent:
        body = out.model_dump(exclude_none=True)
        return await self._call(MailSent, "POST", f"/mail/{user_id}/send", json=body)

    async def modify(self, user_id: str, message_id: str, change: MailChange) -> MailModified:
        path = f"/mail/{user_id}/messages/{quote(message_id, safe='')}/modify"
        body = change.model_dump(exclude_none=True)
        return await self._call(MailModified, "POST", path, json=body)
