"""The secretary's mail: an answer in the person's thread, or a reminder as a mail of its
own. Both parts (plain text and HTML) say the same; nothing of the person's mail is quoted;
`Auto-Submitted: auto-replied` tells other robots not to answer it (RFC 3834)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from channels.src.adapters.email.text import markdown_to_text
from channels.src.adapters.web import to_html
from common.infrastructure.clock import utcnow
from common.infrastructure.queue_messages import Button

#: How many Message-IDs an answer's References keep: the root and the latest (RFC 5322
#: allows any number; servers refuse very long headers).
REFERENCES_KEPT = 20
SUBJECT_MAX = 120
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|antw|odp|ref|rif|r)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass(frozen=True)
class Outgoing:
    """What one of our mails says and where it belongs."""

    sender: str
    to: str
    subject: str
    markdown: str
    message_id: str
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)


def one_line(text: str) -> str:
    """A header's text on one line: any line break or control character is a space."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(printable.split())


def reply_subject(subject: str) -> str:
    """`Re: <the original subject>`, never `Re: Re: …`."""
    bare = _REPLY_PREFIX.sub("", one_line(subject)).strip()
    return f"Re: {bare}"[:SUBJECT_MAX] if bare else "Re: your message"


def notification_subject(markdown: str) -> str:
    """A reminder's subject: its first line, as text."""
    first = next((line for line in markdown_to_text(markdown).splitlines() if line.strip()), "")
    first = one_line(first)
    if len(first) > 78:
        first = first[:77].rstrip() + "…"
    return first or "A message from your secretary"


def kept_references(chain: list[str]) -> list[str]:
    """The thread's chain within REFERENCES_KEPT: its root and the latest ids."""
    if len(chain) <= REFERENCES_KEPT:
        return chain
    return [chain[0], *chain[-(REFERENCES_KEPT - 1) :]]


def button_lines(buttons: list[Button]) -> tuple[str, str]:
    """Buttons as text: "Reply with: Yes / No" for those a reply presses, "Label: url" for
    links (plain text, HTML)."""
    pressed = [b.text for b in buttons if b.data and not b.url]
    links = [b for b in buttons if b.url]
    plain: list[str] = []
    rich: list[str] = []
    if pressed:
        plain.append("Reply with: " + " / ".join(pressed))
        labels = " / ".join(f"<b>{html.escape(label)}</b>" for label in pressed)
        rich.append(f"<p>Reply with: {labels}</p>")
    for link in links:
        url = link.url or ""
        plain.append(f"{link.text}: {url}")
        if url.lower().startswith(("http://", "https://")):
            rich.append(
                f'<p><a href="{html.escape(url, quote=True)}">{html.escape(link.text)}</a></p>'
            )
        else:
            rich.append(f"<p>{html.escape(link.text)}: {html.escape(url)}</p>")
    return "\n".join(plain), "\n".join(rich)


def compose(mail: Outgoing) -> EmailMessage:
    """The mail, ready for SMTP."""
    message = EmailMessage()
    message["From"] = _address(mail.sender)
    message["To"] = _address(mail.to)
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        message["In-Reply-To"] = mail.in_reply_to
    references = kept_references(mail.references)
    if references:
        message["References"] = " ".join(references)
    message["Auto-Submitted"] = "auto-replied" if mail.in_reply_to else "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to it
    plain, rich = markdown_to_text(mail.markdown), to_html(mail.markdown)
    extra_plain, extra_rich = button_lines(mail.buttons)
    if extra_plain:
        plain = f"{plain}\n\n{extra_plain}"
        rich = f"{rich}\n{extra_rich}"
    message.set_content(plain + "\n")
    message.add_alternative(_document(rich), subtype="html")
    return message


def _address(value: str) -> str:
    """An address header's value; a display name in EMAIL_FROM (`Secretary <a@b>`) is kept."""
    if "<" in value:
        return value
    try:
        return str(Address(addr_spec=value))
    except (ValueError, IndexError, HeaderParseError):  # the email package's strict reading
        return value  # as it came (a UTF-8 local part: the header writes it, SMTPUTF8 sends it)


def _document(body: str) -> str:
    return f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>\n'
