"""A local stand-in for Gmail v1, served by the Google stand-in (sandbox/google_api.py).

Routes, as Google names them, under `/gmail/v1/users/{userId}/`: `messages` (list, with a
`q` that knows from:, to:, subject:, plain words, newer_than:, older_than:, after:, before:,
is:unread / is:read, in:inbox / in:sent, label:), `messages/{id}` (get: full, metadata,
minimal, raw), `messages/send` (a raw RFC 822 message, base64url; `threadId` for a reply),
`messages/{id}/modify` (add/removeLabelIds: archiving removes INBOX), `threads/{id}`,
`drafts` (create) and `labels` (list, create). Every call needs a token granted
gmail.modify (403 insufficientPermissions otherwise, as Google answers), and every answer
and request body is checked against Gmail v1's discovery document. Control routes under
`/_sandbox/mail/` seed an address's mailbox and show what it sent.
"""

from __future__ import annotations

import base64
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from aiohttp import web

from sandbox.google_schema import SchemaDriftError, validate
from sandbox.google_state import ApiError, GoogleState

#: The scopes that allow what this stand-in serves (Google accepts the wider ones too).
MAIL_SCOPES = frozenset(
    {"https://www.googleapis.com/auth/gmail.modify", "https://mail.google.com/"}
)
SYSTEM_LABELS = ("INBOX", "UNREAD", "STARRED", "IMPORTANT", "SENT", "DRAFT", "SPAM", "TRASH")
_API = "gmail.v1"
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(days=30)}
_UNITS["y"] = timedelta(days=365)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ApiError(400, "invalidArgument", "Invalid value for ByteString") from exc


@dataclass
class StoredMail:
    """One message of a mailbox, as Gmail keeps it."""

    id: str
    thread_id: str
    headers: list[tuple[str, str]]
    text: str
    html: str | None
    labels: list[str]
    received: datetime

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")


@dataclass
class Mailbox:
    """One address's mail, labels, drafts and what it sent."""

    email: str
    messages: dict[str, StoredMail] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # user label id -> name
    drafts: dict[str, str] = field(default_factory=dict)  # draft id -> message id
    #: Every message sent through messages.send, in order (the RFC 822 text and its thread).
    sent: list[dict[str, str]] = field(default_factory=list)


class MailState:
    """Every mailbox of the stand-in, by address."""

    def __init__(self, google: GoogleState) -> None:
        #: The OAuth side: whose token it is and what it was granted.
        self.google = google
        self.mailboxes: dict[str, Mailbox] = {}
        self._ids = itertools.count(0x18C0_0000_0000_0000)

    def mailbox(self, email: str) -> Mailbox:
        return self.mailboxes.setdefault(email, Mailbox(email))

    def new_id(self) -> str:
        return f"{next(self._ids):x}"

    # -- arranging -----------------------------------------------------------------------------

    def seed(self, email: str, mails: list[dict[str, Any]]) -> list[StoredMail]:
        """Mail that arrived: `from`, `subject`, `text` (and `html`, `to`, `date` RFC 3339,
        `unread` default true, `labels`, `thread` to join an earlier seeded message's
        thread, `message_id`)."""
        box = self.mailbox(email)
        return [self._seed_one(box, mail) for mail in mails]

    def _seed_one(self, box: Mailbox, mail: dict[str, Any]) -> StoredMail:
        when = _moment(mail.get("date"))
        message_id = self.new_id()
        thread = str(mail.get("thread") or message_id)
        headers = [
            ("From", str(mail.get("from", "someone@example.org"))),
            ("To", str(mail.get("to", box.email))),
            ("Subject", str(mail.get("subject", ""))),
            ("Date", format_datetime(when)),
            ("Message-ID", str(mail.get("message_id") or f"<{message_id}@mail.example.org>")),
        ]
        labels = ["INBOX", *(["UNREAD"] if mail.get("unread", True) else [])]
        stored = StoredMail(
            message_id,
            thread,
            headers,
            str(mail.get("text", "")),
            mail.get("html"),
            [*labels, *mail.get("labels", [])],
            when,
        )
        box.messages[message_id] = stored
        return stored

    # -- Gmail v1 ------------------------------------------------------------------------------

    def list_messages(self, box: Mailbox, params: dict[str, str]) -> dict[str, Any]:
        query = MailQuery.parse(params.get("q", ""), params.get("labelIds"))
        found = sorted(
            (m for m in box.messages.values() if query.matches(m, box)),
            key=lambda m: m.received,
            reverse=True,
        )
        size = min(int(params.get("maxResults", "100") or 100), 500)
        offset = int(params.get("pageToken") or 0)
        page = found[offset : offset + size]
        body: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
        if offset + size < len(found):
            body["nextPageToken"] = str(offset + size)
        validate("ListMessagesResponse", body, _API)
        return body

    def get_message(self, box: Mailbox, message_id: str, params: dict[str, str]) -> dict[str, Any]:
        return self.render(self._message(box, message_id), params.get("format", "full"))

    def get_thread(self, box: Mailbox, thread_id: str, params: dict[str, str]) -> dict[str, Any]:
        mails = sorted(
            (m for m in box.messages.values() if m.thread_id == thread_id),
            key=lambda m: m.received,
        )
        if not mails:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        shape = params.get("format", "full")
        body = {
            "id": thread_id,
            "historyId": "1",
            "messages": [self.render(m, shape) for m in mails],
        }
        validate("Thread", body, _API)
        return body

    def send(self, box: Mailbox, body: dict[str, Any]) -> dict[str, Any]:
        validate("Message", body, _API)
        stored = self._from_raw(box, body, ["SENT"])
        box.sent.append({"id": stored.id, "threadId": stored.thread_id, "raw": body["raw"]})
        return self._minimal(stored)

    def create_draft(self, box: Mailbox, body: dict[str, Any]) -> dict[str, Any]:
        validate("Draft", body, _API)
        if not isinstance(body.get("message"), dict):
            raise ApiError(400, "invalidArgument", "Missing draft message")
        stored = self._from_raw(box, body["message"], ["DRAFT"])
        draft_id = f"r{self.new_id()}"
        box.drafts[draft_id] = stored.id
        answer = {"id": draft_id, "message": self._minimal(stored)}
        validate("Draft", answer, _API)
        return answer

    def modify(self, box: Mailbox, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
        validate("ModifyMessageRequest", body, _API)
        mail = self._message(box, message_id)
        adding, removing = body.get("addLabelIds", []), body.get("removeLabelIds", [])
        for label in [*adding, *removing]:
            if label not in SYSTEM_LABELS and label not in box.labels:
                raise ApiError(400, "invalidArgument", f"Invalid label: {label}")
        kept = [label for label in mail.labels if label not in removing]
        mail.labels = kept + [label for label in adding if label not in kept]
        return self._minimal(mail)

    def list_labels(self, box: Mailbox) -> dict[str, Any]:
        system = [{"id": n, "name": n, "type": "system"} for n in SYSTEM_LABELS]
        users = [self._label(box, label_id) for label_id in box.labels]
        body = {"labels": system + users}
        validate("ListLabelsResponse", body, _API)
        return body

    def create_label(self, box: Mailbox, body: dict[str, Any]) -> dict[str, Any]:
        validate("Label", body, _API)
        name = str(body.get("name") or "").strip()
        if not name:
            raise ApiError(400, "invalidArgument", "Invalid label name")
        taken = {n.lower() for n in [*SYSTEM_LABELS, *box.labels.values()]}
        if name.lower() in taken:
            raise ApiError(409, "duplicate", "Label name exists or conflicts")
        label_id = f"Label_{len(box.labels) + 1}"
        box.labels[label_id] = name
        return self._label(box, label_id)

    # -- shapes --------------------------------------------------------------------------------

    def render(self, mail: StoredMail, shape: str) -> dict[str, Any]:
        body = self._minimal(mail)
        body |= {
            "snippet": _snippet(mail.text),
            "historyId": "1",
            "internalDate": str(int(mail.received.timestamp() * 1000)),
            "sizeEstimate": len(mail.text) + 200,
        }
        if shape == "raw":
            body["raw"] = b64url(_rfc822(mail).as_bytes())
        elif shape in ("full", "metadata"):
            body["payload"] = _payload(mail, full=shape == "full")
        validate("Message", body, _API)
        return body

    @staticmethod
    def _minimal(mail: StoredMail) -> dict[str, Any]:
        return {"id": mail.id, "threadId": mail.thread_id, "labelIds": list(mail.labels)}

    @staticmethod
    def _label(box: Mailbox, label_id: str) -> dict[str, Any]:
        return {
            "id": label_id,
            "name": box.labels[label_id],
            "type": "user",
            "labelListVisibility": "labelShow",
            "messageListVisibility": "show",
        }

    def _message(self, box: Mailbox, message_id: str) -> StoredMail:
        found = box.messages.get(message_id)
        if found is None:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        return found

    def _from_raw(self, box: Mailbox, body: dict[str, Any], labels: list[str]) -> StoredMail:
        raw = body.get("raw")
        if not isinstance(raw, str) or not raw:
            raise ApiError(400, "invalidArgument", "'raw' RFC822 payload message string")
        parsed = message_from_bytes(unb64url(raw), policy=policy.default)
        to = str(parsed.get("To") or "")
        if "SENT" in labels and not parseaddr(to)[1]:
            raise ApiError(400, "invalidArgument", "Invalid To header")
        thread_id = body.get("threadId")
        if thread_id and not any(m.thread_id == thread_id for m in box.messages.values()):
            raise ApiError(404, "notFound", "Requested entity was not found.")
        message_id = self.new_id()
        part = parsed.get_body(("plain",)) if parsed.is_multipart() else parsed
        text = part.get_content() if part is not None else ""
        headers = [(k, str(v)) for k, v in parsed.items()]
        if not any(k.lower() == "from" for k, _ in headers):
            headers.insert(0, ("From", box.email))
        stored = StoredMail(
            message_id,
            str(thread_id or message_id),
            headers,
            str(text),
            None,
            labels,
            datetime.now(UTC),
        )
        box.messages[message_id] = stored
        return stored


@dataclass(frozen=True)
class MailQuery:
    """Gmail's search operators the stand-in understands; words match subject, sender and
    text."""

    terms: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, q: str, label_ids: str | None = None) -> MailQuery:
        found: list[tuple[str, str]] = [("label", label_ids)] if label_ids else []
        for quoted, word in re.findall(r'"([^"]*)"|(\S+)', q):
            text = quoted or word
            key, colon, value = text.partition(":")
            if colon and not quoted and key.lower() in _OPERATORS:
                found.append((key.lower(), value.strip('"').lower()))
            else:
                found.append(("word", text.lower()))
        return cls(tuple(found))

    def matches(self, mail: StoredMail, box: Mailbox) -> bool:
        return all(_OPERATORS[key](mail, value, box) for key, value in self.terms)


def _has_label(mail: StoredMail, value: str, box: Mailbox) -> bool:
    names = {label.lower() for label in mail.labels}
    names |= {box.labels[label].lower() for label in mail.labels if label in box.labels}
    return value.lower() in names


def _is(mail: StoredMail, value: str, box: Mailbox) -> bool:
    if value == "read":
        return "UNREAD" not in mail.labels
    return _has_label(mail, value, box)


def _newer(mail: StoredMail, value: str, _box: Mailbox) -> bool:
    return mail.received >= datetime.now(UTC) - _span(value)


def _older(mail: StoredMail, value: str, _box: Mailbox) -> bool:
    return mail.received < datetime.now(UTC) - _span(value)


def _span(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([dhmy])", value)
    if match is None:
        raise ApiError(400, "invalidArgument", f"Invalid search query: {value}")
    return int(match[1]) * _UNITS[match[2]]


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value.replace("-", "/"), "%Y/%m/%d").replace(tzinfo=UTC)
    except ValueError:
        if value.isdigit():
            return datetime.fromtimestamp(int(value), UTC)
        raise ApiError(400, "invalidArgument", f"Invalid search query: {value}") from None


_Operator = Callable[[StoredMail, str, Mailbox], bool]
_OPERATORS: dict[str, _Operator] = {
    "from": lambda m, v, _b: v in m.header("From").lower(),
    "to": lambda m, v, _b: v in m.header("To").lower(),
    "subject": lambda m, v, _b: v in m.header("Subject").lower(),
    "is": _is,
    "in": _has_label,
    "label": _has_label,
    "newer_than": _newer,
    "older_than": _older,
    "after": lambda m, v, _b: m.received >= _day(v),
    "before": lambda m, v, _b: m.received < _day(v),
    "word": lambda m, v, _b: any(
        v in part.lower() for part in (m.header("Subject"), m.header("From"), m.text)
    ),
}


def _moment(text: object) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def _snippet(text: str) -> str:
    return " ".join(text.split())[:200]


def _rfc822(mail: StoredMail) -> EmailMessage:
    message = EmailMessage()
    for name, value in mail.headers:
        message[name] = value
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


def _payload(mail: StoredMail, *, full: bool) -> dict[str, Any]:
    headers = [{"name": k, "value": v} for k, v in mail.headers]
    if not full:
        return {"partId": "", "mimeType": "text/plain", "headers": headers}
    text = _part("0" if mail.html else "", "text/plain", mail.text)
    if not mail.html:
        return {**text, "headers": headers}
    html = _part("1", "text/html", mail.html)
    return {
        "partId": "",
        "mimeType": "multipart/alternative",
        "filename": "",
        "headers": headers,
        "body": {"size": 0},
        "parts": [text, html],
    }


def _part(part_id: str, mime: str, content: str) -> dict[str, Any]:
    data = content.encode()
    return {
        "partId": part_id,
        "mimeType": mime,
        "filename": "",
        "headers": [{"name": "Content-Type", "value": f"{mime}; charset=UTF-8"}],
        "body": {"size": len(data), "data": b64url(data)},
    }


# -- HTTP -------------------------------------------------------------------------------------

MAIL_KEY: web.AppKey[MailState] = web.AppKey("mail", MailState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _mailbox(request: web.Request) -> tuple[MailState, Mailbox]:
    """The caller's mailbox: a live token granted mail, for `me` or its own address."""
    mail = request.app[MAIL_KEY]
    state = mail.google
    email = state.authenticate(request.headers.get("Authorization"))
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not MAIL_SCOPES & set(state.tokens[token].scopes):
        error = ApiError(
            403, "insufficientPermissions", "Request had insufficient authentication scopes."
        )
        error.status_name = "PERMISSION_DENIED"
        raise error
    if request.match_info["user_id"] not in ("me", email):
        raise ApiError(403, "forbidden", "Delegation denied for " + email)
    return mail, mail.mailbox(email)


async def json_body(request: web.Request) -> dict[str, Any]:
    """A request's JSON object, or Google's 400 parseError."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise ApiError(400, "parseError", "Parse Error") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return body


def _checked(act: Callable[[], dict[str, Any]]) -> web.Response:
    """A request Google's schema does not describe is Google's 400, not the stand-in's."""
    try:
        return web.json_response(act())
    except SchemaDriftError as exc:
        if "Message at" in str(exc) or "Request" in str(exc) or "Draft at" in str(exc):
            raise ApiError(400, "invalidArgument", str(exc)) from exc
        raise


async def messages_list(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    return web.json_response(mail.list_messages(box, dict(request.query)))


async def messages_get(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    message_id = request.match_info["id"]
    return web.json_response(mail.get_message(box, message_id, dict(request.query)))


async def threads_get(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    thread_id = request.match_info["id"]
    return web.json_response(mail.get_thread(box, thread_id, dict(request.query)))


async def messages_send(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    body = await json_body(request)
    return _checked(lambda: mail.send(box, body))


async def drafts_create(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    body = await json_body(request)
    return _checked(lambda: mail.create_draft(box, body))


async def messages_modify(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    body = await json_body(request)
    return _checked(lambda: mail.modify(box, request.match_info["id"], body))


async def labels_list(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    return web.json_response(mail.list_labels(box))


async def labels_create(request: web.Request) -> web.Response:
    mail, box = _mailbox(request)
    body = await json_body(request)
    return _checked(lambda: mail.create_label(box, body))


async def control_seed(request: web.Request) -> web.Response:
    body = await request.json()
    stored = request.app[MAIL_KEY].seed(request.match_info["email"], body.get("messages", []))
    threads = [m.thread_id for m in stored]
    return web.json_response({"ids": [m.id for m in stored], "threads": threads})


async def control_sent(request: web.Request) -> web.Response:
    box = request.app[MAIL_KEY].mailbox(request.match_info["email"])
    return web.json_response(box.sent)


def mail_routes() -> list[tuple[str, str, Handler, str]]:
    """The Gmail routes, for google_api's table (the app keeps the MailState at MAIL_KEY)."""
    users = "/gmail/v1/users/{user_id}"
    return [
        ("GET", f"{users}/messages", messages_list, "gmail.users.messages.list"),
        ("POST", f"{users}/messages/send", messages_send, "gmail.users.messages.send"),
        ("GET", f"{users}/messages/{{id}}", messages_get, "gmail.users.messages.get"),
        ("POST", f"{users}/messages/{{id}}/modify", messages_modify, "gmail.users.messages.modify"),
        ("GET", f"{users}/threads/{{id}}", threads_get, "gmail.users.threads.get"),
        ("POST", f"{users}/drafts", drafts_create, "gmail.users.drafts.create"),
        ("GET", f"{users}/labels", labels_list, "gmail.users.labels.list"),
        ("POST", f"{users}/labels", labels_create, "gmail.users.labels.create"),
        ("POST", "/_sandbox/mail/{email}", control_seed, "_mail_seed"),
        ("GET", "/_sandbox/mail/{email}/sent", control_sent, "_mail_sent"),
    ]
