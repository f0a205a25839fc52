"""Linking one person's accounts across channels: the one-time code's alphabet and shape, the
code as people type it back, the `/link` and `/unlink` commands as every channel reads them, and
a channel's sender id in the one form rest_service stores (decision 0054).

A code is `LINK_CODE_LENGTH` characters of an alphabet without look-alikes (no 0/O, 1/I/L),
shown as two halves (`ABCD-EFGH`); typed back in any case, with spaces or dashes, it is the
same code."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

from common.infrastructure.channels import Channel

#: Upper-case letters and digits a reader cannot confuse: no 0, O, 1, I or L.
LINK_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LINK_CODE_LENGTH = 8
#: How long a code may be used: ten minutes.
LINK_CODE_TTL_SECONDS = 600
#: The longest sender id a channel may give (a Slack `T…:U…`, an e-mail address).
EXTERNAL_ID_MAX = 255

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")
_COMMAND = re.compile(r"^/(link|unlink)(?:@\w+)?(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
#: The phrase that asks for a code without the command (any case, any spacing).
_PHRASE = re.compile(r"^\s*link\s+my\s+accounts?\s*[.!]?\s*$", re.IGNORECASE)


def new_link_code() -> str:
    """A fresh code in its stored form (no separator)."""
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))


def shown_code(code: str) -> str:
    """`ABCDEFGH` as people read it: `ABCD-EFGH`."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def normalise_code(typed: str) -> str | None:
    """The code as typed back (any case, spaces, dashes), or None when it cannot be one."""
    code = _SEPARATORS.sub("", typed).upper()
    if len(code) != LINK_CODE_LENGTH or any(c not in LINK_CODE_ALPHABET for c in code):
        return None
    return code


@dataclass(frozen=True)
class LinkCommand:
    """What a message asks: a new code (`issue`), to join the code's owner (`join`, with the
    code, or None when what followed /link is no code), or to stand alone again (`unlink`)."""

    action: Literal["issue", "join", "unlink"]
    code: str | None = None


def parse_link_command(text: str) -> LinkCommand | None:
    """`/link`, `/link CODE`, `/unlink` (a bot's `@name` suffix allowed) or the phrase "link my
    accounts"; None for anything else."""
    stripped = text.strip()
    if is_link_phrase(stripped):
        return LinkCommand("issue")
    found = _COMMAND.match(stripped)
    if found is None:
        return None
    name, rest = found.group(1).lower(), (found.group(2) or "").strip()
    if name == "unlink":
        return LinkCommand("unlink")
    if not rest:
        return LinkCommand("issue")
    return LinkCommand("join", normalise_code(rest))


def normalise_external_id(channel: Channel, external_id: str) -> str:
    """A sender id in its stored form: trimmed; an e-mail address lower-cased; a Telegram id
    a positive integer's digits. Raises `ValueError` saying why it cannot be one."""
    value = external_id.strip()
    if not value:
        raise ValueError("must not be empty")
    if len(value) > EXTERNAL_ID_MAX:
        raise ValueError(f"at most {EXTERNAL_ID_MAX} characters")
    if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError("must be readable text (no NUL, no lone surrogates)")
    if channel is Channel.TELEGRAM:
        if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
            raise ValueError("a Telegram id is a positive integer")
        return str(int(value))
    if channel is Channel.EMAIL:
        if value.count("@") != 1 or value.startswith("@") or value.endswith("@"):
            raise ValueError("an e-mail address is local@domain")
        return value.lower()
    return value


def is_link_phrase(text: str) -> bool:
    """ "link my accounts" (any case and spacing): a request for a code without the command."""
    return _PHRASE.match(text) is not None


#: Channel names that are brands, the same in every language; the others are catalogue
#: entries `channel.<name>`.
BRANDS = {Channel.TELEGRAM: "Telegram", Channel.WHATSAPP: "WhatsApp", Channel.SLACK: "Slack"}
