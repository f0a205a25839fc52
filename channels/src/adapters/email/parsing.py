"""A mail as the secretary reads it: who wrote, in which thread, the words they wrote this
time (quoted replies cut off), their files, and whether a robot sent it.

Everything here is outside input: any header may be missing, malformed or in any charset,
and no mail makes it raise (`parse` always returns; what it cannot read is left out)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import cast

from channels.src.adapters.email.text import html_to_text

#: What a person's new text may be at most (the rest of a very long mail is cut).
TEXT_MAX = 16_000
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
#: The line a mail client puts above the quoted mail, in the languages clients write it.
_ATTRIBUTION = re.compile(
    r"^\s*("
    r"on\b.{0,300}\bwrote:"  # Gmail, Apple Mail, Thunderbird (en)
    r"|le\b.{0,300}\ba écrit\s?:"  # fr
    r"|am\b.{0,300}\bschrieb.{0,80}:"  # de
    r"|el\b.{0,300}\bescribió:"  # es
    r"|-{2,}\s*original message\s*-{2,}"  # Outlook
    r"|-{2,}\s*forwarded message\s*-{2,}"
    r"|_{10,}"  # Outlook's rule above its "From:" block
    r"|from:\s.+\s(sent|date):\s"  # Outlook's block on one line (from HTML)
    r")\s*$",
    re.IGNORECASE | re.DOTALL,
)
_OUTLOOK_HEADER = re.compile(r"^\s*(from|von|de):\s.+", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*(sent|date|gesendet|envoyé|to|an|à):\s", re.IGNORECASE)
_SIGNATURE = "-- "
_PRECEDENCE_ROBOTS = frozenset({"bulk", "list", "junk", "auto_reply"})
_PARSER = BytesParser(EmailMessage, policy=policy.default)


@dataclass(frozen=True)
class MailFile:
    """An attached file: its bytes, type and name."""

    data: bytes
    mime_type: str
    file_name: str | None


@dataclass(frozen=True)
class Mail:
    """A received mail, as the channel needs it."""

    message_id: str
    sender: str
    sender_name: str | None
    subject: str
    text: str
    #: The thread's root (first of References, else In-Reply-To, else this mail's id).
    thread_id: str
    #: This mail's References followed by its own id: what an answer's References are.
    references: list[str]
    #: Why a robot sent it (an auto-reply, a bounce, a list), or None for a person's mail.
    automatic: str | None
    files: list[MailFile] = field(default_factory=list)


def parse(raw: bytes, *, own_address: str = "") -> Mail:
    """Reads a raw RFC 5322 message."""
    try:
        return _read(raw, _PARSER.parsebytes(raw), own_address)
    except RecursionError:  # MIME nested deeper than the email package recurses: headers only
        return _read(raw, _PARSER.parsebytes(raw, headersonly=True), own_address)


def _read(raw: bytes, message: EmailMessage, own_address: str) -> Mail:
    message_id = _ids(_header(message, "Message-ID"))
    own_id = message_id[0] if message_id else stable_id(raw)
    references = _ids(_header(message, "References"))
    in_reply_to = _ids(_header(message, "In-Reply-To"))
    thread_id = (references or in_reply_to or [own_id])[0]
    chain = [*references] if references else [*in_reply_to]
    name, address = _sender(message)
    return Mail(
        message_id=own_id,
        sender=address,
        sender_name=name,
        subject=_header(message, "Subject").strip(),
        text=new_text(_body_text(message))[:TEXT_MAX],
        thread_id=thread_id,
        references=[*chain, own_id] if own_id not in chain else chain,
        automatic=automatic(message, address, own_address),
        files=list(_files(message)),
    )


def stable_id(raw: bytes) -> str:
    """A Message-ID for a mail without one: the same mail always gets the same."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id>"


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot decode: as if absent
        return ""
    return "" if value is None else str(value)


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)


def _sender(message: Message) -> tuple[str | None, str]:
    """The display name and the lower-cased address of From."""
    found = getaddresses([_header(message, "From")])
    name, address = found[0] if found else ("", "")
    if "@" not in address:
        name, address = parseaddr(_header(message, "From"))
    return (name.strip() or None), address.strip().lower()


def automatic(message: Message, sender: str, own_address: str = "") -> str | None:
    """Why the mail is a robot's (so never answered), or None. RFC 3834 Auto-Submitted,
    Precedence, mailing lists, the common auto-responder headers, bounces (the null
    Return-Path, MAILER-DAEMON, delivery reports) and our own mail."""
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"auto-submitted: {auto_submitted[:40]}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in _PRECEDENCE_ROBOTS:
        return f"precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond"):
        if message.get(name) is not None:
            return name.lower()
    if message.get("Return-Path") is not None and not _ids(_header(message, "Return-Path")):
        return "bounce: null return path"
    local = sender.partition("@")[0]
    if local in ("mailer-daemon", "postmaster") or not sender:
        return f"bounce: {local or 'no sender'}"
    if message.get_content_type() == "multipart/report":
        return "bounce: delivery report"
    if own_address and sender == own_address.strip().lower():
        return "our own mail"
    return None


def _body_text(message: EmailMessage) -> str:
    """The text/plain part, else the HTML part as text (its quotes left out), else ""."""
    plain = _body(message, "plain")
    if plain is not None:
        return _content(plain)
    html = _body(message, "html")
    if html is not None:
        return html_to_text(_content(html), drop_quotes=True)
    return ""


def _body(message: EmailMessage, kind: str) -> MIMEPart | None:
    """The body part of that kind; None when there is none or the MIME tree is too broken
    for the email package to look (a multipart/related without a boundary makes it raise)."""
    try:
        return message.get_body(preferencelist=(kind,))
    except Exception:
        return None


def _content(part: Message) -> str:
    """A text part's content in any charset; an unknown or wrong charset is read as well
    as it can be rather than refused."""
    payload = cast(bytes, part.get_payload(decode=True))  # a body part is a leaf: bytes
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def new_text(text: str) -> str:
    """What the person wrote this time: the text above the quoted mail ("On … wrote:",
    Outlook's header block, "> " lines) and their signature ("-- ")."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line == _SIGNATURE or line.rstrip() == "--":
            break
        if line.lstrip().startswith(">"):
            continue
        if _ATTRIBUTION.match(line) or _is_attribution(lines, index):
            break
        if _OUTLOOK_HEADER.match(line) and _outlook_block(lines, index):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _is_attribution(lines: list[str], index: int) -> bool:
    """Gmail wraps a long attribution: "On Mon, 3 Jun 2024 at 10:00, Alice <a@x>" then
    "wrote:" on the next line."""
    if index + 1 >= len(lines):
        return False
    joined = f"{lines[index].strip()} {lines[index + 1].strip()}"
    return lines[index].lower().lstrip().startswith(("on ", "le ", "am ")) and bool(
        _ATTRIBUTION.match(joined)
    )


def _outlook_block(lines: list[str], index: int) -> bool:
    """Outlook's "From: … / Sent: … / To: …" block above a quoted mail."""
    return any(_OUTLOOK_NEXT.match(line) for line in lines[index + 1 : index + 4])


def _files(message: EmailMessage) -> list[MailFile]:
    """Attachments at any depth (inline pictures too): every part that is not the body's
    text, with its decoded bytes."""
    bodies = {id(_body(message, kind)) for kind in ("plain", "html")}
    found: list[MailFile] = []
    for part in message.walk():
        # A multipart without its boundary is no file: the parser leaves it a leaf.
        if part.get_content_maintype() == "multipart" or id(part) in bodies:
            continue
        name = part.get_filename()
        attached = (part.get_content_disposition() or "") == "attachment"
        if part.get_content_maintype() == "text" and not name and not attached:
            continue  # another rendering of the text, not a file
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            file_name = name.strip() if name else None
            found.append(MailFile(data, part.get_content_type(), file_name))
    return found
