"""What WhatsApp's webhooks say, read without trusting them: the signature over the raw body,
then the `whatsapp_business_account` payload's messages and delivery statuses.

The payload is whatever arrived, so `parse` takes any JSON value and never raises: an entry,
change, message or status it cannot read is skipped (and counted), the rest is kept."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: Message types whose content the assistant takes in as a file.
MEDIA_TYPES = ("audio", "image", "document")
#: The interactive replies a user's tap sends (reply buttons, a list's rows) and a template's
#: quick-reply button.
_INTERACTIVE_REPLIES = ("button_reply", "list_reply")
#: The longest message id kept (`channel_message_id` holds 998) and sender id
#: (`channel_chat_id`: 255; WhatsApp's are phone numbers' digits).
_MAX_ID = 998
_MAX_SENDER = 64


def signature_valid(app_secret: bytes, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256` is `sha256=` and the hex HMAC-SHA256 of the raw body, keyed with
    the app secret; compared in constant time."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").encode())


def signature(app_secret: bytes, body: bytes) -> str:
    """The header value WhatsApp sends with `body` (for the stand-in and tests)."""
    return "sha256=" + hmac.new(app_secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Media:
    """A file a message carries: fetched by its id (`GET {base}/{id}`)."""

    id: str
    mime_type: str | None = None
    file_name: str | None = None
    #: An audio message recorded in WhatsApp (a voice note) rather than a file sent.
    voice: bool = False


@dataclass(frozen=True)
class WaMessage:
    """One message a user sent to the business number."""

    #: The business phone number's id (`metadata.phone_number_id`) it was sent to.
    account: str
    wamid: str
    #: The sender's WhatsApp id (their number, digits only).
    sender: str
    type: str
    sent_at: datetime | None = None
    name: str | None = None
    text: str = ""
    #: A tapped reply button's id (our `Button.data`) and its title.
    button_id: str | None = None
    button_title: str | None = None
    media: Media | None = None
    #: The message it replies to (`context.id`), if any.
    reply_to: str | None = None


@dataclass(frozen=True)
class WaStatus:
    """What became of a message we sent: sent, delivered, read or failed."""

    account: str
    wamid: str
    status: str
    recipient: str | None = None
    #: For `failed`: WhatsApp's errors, as `code: title (details)`.
    errors: tuple[str, ...] = ()


@dataclass
class Parsed:
    messages: list[WaMessage] = field(default_factory=list)
    statuses: list[WaStatus] = field(default_factory=list)
    #: Items that were not readable (a malformed message, an unknown field's change).
    skipped: int = 0


def parse(payload: Any) -> Parsed:
    """The messages and statuses of a webhook body (already decoded JSON)."""
    parsed = Parsed()
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        parsed.skipped += 1
        return parsed
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "messages" or not isinstance(value, dict):
                parsed.skipped += 1
                continue
            _read_value(value, parsed)
    return parsed


def _read_value(value: dict[str, Any], parsed: Parsed) -> None:
    metadata = value.get("metadata")
    account = _id(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    if account is None:
        parsed.skipped += 1
        return
    names = {
        wa_id: _text(_get(contact, "profile", "name")) or None
        for contact in _dicts(value.get("contacts"))
        if (wa_id := _id(contact.get("wa_id"))) is not None
    }
    for raw in _dicts(value.get("messages"), parsed):
        message = _message(account, raw, names)
        if message is None:
            parsed.skipped += 1
        else:
            parsed.messages.append(message)
    for raw in _dicts(value.get("statuses"), parsed):
        status = _status(account, raw)
        if status is None:
            parsed.skipped += 1
        else:
            parsed.statuses.append(status)


def _message(account: str, raw: dict[str, Any], names: dict[str, str | None]) -> WaMessage | None:
    wamid, sender, kind = _id(raw.get("id")), _id(raw.get("from")), raw.get("type")
    if sender is not None and len(sender) > _MAX_SENDER:
        sender = None
    if wamid is None or sender is None or not isinstance(kind, str) or not kind:
        return None
    base = WaMessage(
        account=account,
        wamid=wamid,
        sender=sender,
        type=kind[:40],
        sent_at=_time(raw.get("timestamp")),
        name=names.get(sender),
        reply_to=_id(_get(raw, "context", "id")),
    )
    content = raw.get(kind)
    if kind == "text":
        return _with(base, text=_text(_get(raw, "text", "body")))
    if kind == "interactive" and isinstance(content, dict):
        replies = (content[k] for k in _INTERACTIVE_REPLIES if isinstance(content.get(k), dict))
        reply = next(replies, None)
        if reply is None:
            return base
        return _with(base, button_id=_id(reply.get("id")), button_title=_text(reply.get("title")))
    if kind == "button" and isinstance(content, dict):  # a template's quick-reply button
        title = _text(content.get("text"))
        return _with(base, button_id=_id(content.get("payload")), button_title=title)
    if kind in MEDIA_TYPES and isinstance(content, dict):
        media_id = _id(content.get("id"))
        if media_id is None:
            return None
        media = Media(
            id=media_id,
            mime_type=_text(content.get("mime_type")) or None,
            file_name=_text(content.get("filename")) or None,
            voice=content.get("voice") is True,
        )
        return _with(base, media=media, text=_text(content.get("caption")))
    return base  # reactions, stickers, locations, ...: their type says what they were


def _status(account: str, raw: dict[str, Any]) -> WaStatus | None:
    wamid, status = _id(raw.get("id")), raw.get("status")
    if wamid is None or not isinstance(status, str) or not status:
        return None
    errors = tuple(_error(e) for e in _dicts(raw.get("errors")))
    return WaStatus(account, wamid, status[:40], _id(raw.get("recipient_id")), errors)


def _error(raw: dict[str, Any]) -> str:
    code = raw.get("code")
    title = _text(raw.get("title")) or _text(raw.get("message"))
    details = _text(_get(raw, "error_data", "details"))
    shown = f"{code}: {title}" if code is not None else title
    return (f"{shown} ({details})" if details else shown)[:500]


def _with(base: WaMessage, **changes: Any) -> WaMessage:
    return WaMessage(**{**base.__dict__, **changes})


def _dicts(value: Any, parsed: Parsed | None = None) -> list[dict[str, Any]]:
    """The dicts of a list (a missing list: none); other items are skipped and counted."""
    if not isinstance(value, list):
        return []
    found = [item for item in value if isinstance(item, dict)]
    if parsed is not None:
        parsed.skipped += len(value) - len(found)
    return found


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _id(value: Any) -> str | None:
    """An id: a non-empty string (WhatsApp sends numbers as strings), or a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = _utf8(value).strip()
    return value if 0 < len(value) <= _MAX_ID and value.isprintable() else None


def _text(value: Any) -> str:
    """A string as UTF-8 can carry it (JSON may hold a lone surrogate; it becomes `?`)."""
    return _utf8(value) if isinstance(value, str) else ""


def _utf8(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8")


def _time(value: Any) -> datetime | None:
    """A Unix time in seconds, as a string (WhatsApp's form) or a number."""
    try:
        seconds = int(value)
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
