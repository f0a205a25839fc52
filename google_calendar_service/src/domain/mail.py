"""The user's mailbox through their Google connection: search, read a conversation, draft,
send (once per idempotency key), and change labels.

Credentials, refreshes and "connect first" come from the calendar domain's connection
(`connected` with access "mail"): a grant without mail answers 409
`google_access_not_granted` with the link that asks Google for it.

A user with several Google accounts: a search spans every account whose grant allows mail
(merged newest first, each message saying its account; an account whose grant died is named
for reconnecting while the others answer). Reading a conversation, drafting, sending and
changing labels act in one account: the one named, else the default mail account.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any

import redis.asyncio as aioredis

from common.features.mail_client import (
    MailChange,
    MailDraft,
    MailMessage,
    MailMessages,
    MailModified,
    MailOut,
    MailSent,
    MailThread,
)
from common.infrastructure.errors import FieldError, ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from google_calendar_service.src.clients.gmail import GmailClient
from google_calendar_service.src.clients.google import CalendarSession
from google_calendar_service.src.domain.calendar import GoogleCalendarService
from google_calendar_service.src.domain.credentials import StoredCredentials
from google_calendar_service.src.errors import (
    GoogleAccessNotGrantedError,
    GoogleScopeMissingError,
    MailSendUnsettledError,
)

log = get_logger(__name__)

#: How long a send's idempotency key is remembered (a retry comes within minutes; a second
#: Yes within the question's day).
SEND_KEY_TTL_S = 7 * 24 * 3600
_SENDING = "sending"
#: How much of a message's text a thread read returns (the model summarises it).
TEXT_CHARS = 4000
#: The headers read, by their lower-case names (senders write them in any case).
_HEADER_NAMES = {
    n.lower(): n for n in ("From", "To", "Subject", "Date", "Reply-To", "Message-ID", "References")
}


class GoogleMail:
    def __init__(
        self,
        calendar: GoogleCalendarService,
        gmail: GmailClient,
        redis: aioredis.Redis,
        names: Names,
    ) -> None:
        self._calendar = calendar
        self._gmail = gmail
        self._redis = redis
        self._names = names

    @asynccontextmanager
    async def _mailbox(
        self, user_id: str, account: str | None = None
    ) -> AsyncIterator[tuple[CalendarSession, str | None]]:
        """A Gmail session on one account's connection (the one named, else the default
        mail account), and that account's address."""
        async with (
            self._calendar.connected(user_id, "mail", account) as (session, _user, stored),
            self._gmail_of(user_id, session, stored) as mail,
        ):
            yield mail, stored.account

    @asynccontextmanager
    async def _gmail_of(
        self, user_id: str, session: CalendarSession, stored: StoredCredentials
    ) -> AsyncIterator[CalendarSession]:
        """A Gmail session on the account's credentials; a grant Google says lacks mail gets
        the link that asks for it."""
        try:
            async with self._gmail.session(session.credentials) as mail:
                yield mail
        except GoogleScopeMissingError:
            link = await self._calendar.get_auth_url(user_id, ["mail"])
            raise GoogleAccessNotGrantedError(
                "Google no longer allows this connection to read mail. Open the link to allow it.",
                link.auth_url,
                [stored.account] if stored.account else [],
            ) from None

    async def messages(self, user_id: str, query: str, limit: int) -> MailMessages:
        """The newest `limit` messages matching `query` across every account allowing mail."""

        async def read(
            session: CalendarSession, stored: StoredCredentials
        ) -> list[tuple[int, MailMessage]]:
            async with self._gmail_of(user_id, session, stored) as mail:
                found = await self._gmail.list_messages(mail, query, limit)
                details = [await self._gmail.get_message(mail, m["id"]) for m in found]
            return [(_received(d), _message(d, account=stored.account)) for d in details]

        results, reconnect = await self._calendar.read_allowing(user_id, "mail", read)
        merged = sorted((one for _stored, found in results for one in found), key=lambda x: -x[0])
        messages = [message for _when, message in merged[:limit]]
        return MailMessages(query=query, messages=messages, **reconnect)

    async def thread(self, user_id: str, thread_id: str, account: str | None = None) -> MailThread:
        async with self._mailbox(user_id, account) as (session, address):
            found = await self._gmail.get_thread(session, thread_id)
        messages = [_message(m, with_text=True, account=address) for m in found.get("messages", [])]
        subject = messages[0].subject if messages else ""
        return MailThread(id=thread_id, subject=subject, messages=messages, account=address)

    async def draft(self, user_id: str, out: MailOut) -> MailDraft:
        async with self._mailbox(user_id, out.account) as (session, address):
            to, subject, raw = await self._compose(session, out)
            made = await self._gmail.create_draft(session, raw, out.thread_id)
        thread_id = made.get("message", {}).get("threadId", "")
        return MailDraft(
            id=made["id"], thread_id=thread_id, to=to, subject=subject, account=address
        )

    async def send(self, user_id: str, out: MailOut) -> MailSent:
        """Sent once per idempotency key: a repeat answers what the first sent; a send whose
        outcome is unknown is not repeated (409)."""
        key = self._names.mail_send(user_id, out.idempotency_key) if out.idempotency_key else None
        if key is not None and not await self._redis.set(key, _SENDING, nx=True, ex=SEND_KEY_TTL_S):
            return await self._earlier(key)
        try:
            async with self._mailbox(user_id, out.account) as (session, address):
                to, subject, raw = await self._compose(session, out)
                sent = await self._gmail.send(session, raw, out.thread_id)
        except Exception:
            if key is not None:  # nothing went out: the key may be used again
                await self._redis.delete(key)
            raise
        answer = MailSent(
            id=sent["id"],
            thread_id=sent.get("threadId", ""),
            to=to,
            subject=subject,
            sent=True,
            account=address,
        )
        if key is not None:
            await self._redis.set(key, answer.model_dump_json(), ex=SEND_KEY_TTL_S)
        log.info("mail_sent", user_id=user_id, recipients=len(to))
        return answer

    async def _earlier(self, key: str) -> MailSent:
        found = await self._redis.get(key)
        if found is None or (found.decode() if isinstance(found, bytes) else found) == _SENDING:
            raise MailSendUnsettledError(
                "this mail is being sent, or its sending was cut off; it is not sent again"
            )
        return MailSent.model_validate_json(found).model_copy(update={"sent": False})

    async def modify(self, user_id: str, message_id: str, change: MailChange) -> MailModified:
        async with self._mailbox(user_id, change.account) as (session, address):
            names = {x["id"]: x["name"] for x in await self._gmail.labels(session)}
            ids = await self._label_ids(session, names, change)
            add = [ids[name] for name in change.add_labels]
            remove = [ids[name] for name in change.remove_labels if name in ids]
            remove += ["INBOX"] if change.archive else []
            changed = await self._gmail.modify(session, message_id, add, remove)
        names |= {label_id: name for name, label_id in ids.items() if label_id not in names}
        labels = [names.get(label, label) for label in changed.get("labelIds", [])]
        return MailModified(id=changed["id"], labels=labels, account=address)

    async def _label_ids(
        self, session: CalendarSession, names: dict[str, str], change: MailChange
    ) -> dict[str, str]:
        """Label name (as asked, any case) → id, making each label to add that is missing."""
        ids: dict[str, str] = {}
        by_lower = {name.lower(): label_id for label_id, name in names.items()}
        for name in change.add_labels:
            if name.lower() in by_lower:
                ids[name] = by_lower[name.lower()]
            else:
                ids[name] = (await self._gmail.create_label(session, name))["id"]
        for name in change.remove_labels:
            if name.lower() in by_lower:
                ids[name] = by_lower[name.lower()]
        return ids

    async def _compose(self, session: CalendarSession, out: MailOut) -> tuple[list[str], str, str]:
        """Recipients, subject and the raw RFC 822 message (base64url)."""
        to, subject = list(out.to), out.subject
        headers: dict[str, str] = {}
        if out.thread_id:
            thread = await self._gmail.get_thread(session, out.thread_id)
            last, own = _last_incoming(thread.get("messages", []))
            if not to:
                to = _answer_to(last, own)
            if subject is None:
                earlier = last.get("Subject", "")
                subject = earlier if earlier.lower().startswith("re:") else f"Re: {earlier}"
            if last.get("Message-ID"):
                headers["In-Reply-To"] = last["Message-ID"]
                headers["References"] = " ".join(
                    x for x in (last.get("References"), last["Message-ID"]) if x
                )
        if not to:
            reason = "a message needs a recipient (or a thread_id to answer)"
            raise ValidationFailedError(reason, [FieldError("to", reason)])
        message = EmailMessage()
        message["To"] = ", ".join(to)
        message["Subject"] = subject or ""
        for name, value in headers.items():
            message[name] = value
        message.set_content(out.body)
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode().rstrip("=")
        return to, subject or "", raw


def _headers(message: dict[str, Any]) -> dict[str, str]:
    found = message.get("payload", {}).get("headers", [])
    return {_HEADER_NAMES.get(h["name"].lower(), h["name"]): h["value"] for h in found}


def _last_incoming(messages: list[dict[str, Any]]) -> tuple[dict[str, str], bool]:
    """The headers of the conversation's last message not sent by the user, else of its
    last one; and whether that one is the user's own."""
    incoming = [m for m in messages if not {"SENT", "DRAFT"} & set(m.get("labelIds", []))]
    chosen = (incoming or messages or [{}])[-1]
    return _headers(chosen), not incoming


def _answer_to(last: dict[str, str], own: bool) -> list[str]:
    """Who a reply goes to: the sender (or its Reply-To); in a conversation only the user
    wrote in, whom they wrote to."""
    if own:
        return [a for _, a in getaddresses([last.get("To", "")]) if a]
    found = parseaddr(last.get("Reply-To") or last.get("From", ""))[1]
    return [found] if found else []


def _received(message: dict[str, Any]) -> int:
    """When Gmail received the message (ms since the epoch), else its Date header's."""
    found = str(message.get("internalDate") or "")
    if found.isdigit():
        return int(found)
    try:
        return int(parsedate_to_datetime(_headers(message).get("Date", "")).timestamp() * 1000)
    except (TypeError, ValueError):
        return 0


def _message(
    message: dict[str, Any], *, with_text: bool = False, account: str | None = None
) -> MailMessage:
    headers = _headers(message)
    labels = message.get("labelIds", [])
    return MailMessage(
        id=message["id"],
        thread_id=message.get("threadId", ""),
        sender=headers.get("From", ""),
        to=", ".join(a for _, a in getaddresses([headers.get("To", "")]) if a),
        subject=headers.get("Subject", ""),
        date=headers.get("Date", ""),
        snippet=message.get("snippet", ""),
        unread="UNREAD" in labels,
        labels=labels,
        text=_text(message.get("payload", {}))[:TEXT_CHARS] if with_text else None,
        account=account,
    )


def _text(part: dict[str, Any]) -> str:
    """The message's plain text: its text/plain part (the first one, depth first)."""
    if part.get("mimeType") == "text/plain" and part.get("body", {}).get("data"):
        data = part["body"]["data"]
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8", "replace")
    for child in part.get("parts", []):
        found = _text(child)
        if found:
            return found
    return ""
