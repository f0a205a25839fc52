"""Pairing codes: what a stranger is given to read to the owner, and how a code typed back (in
a URL, a chat, the admin) is read. One alphabet without look-alikes (no 0/O, 1/I/L), so a code
said aloud or copied by hand comes back the same."""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 6
CODE_PATTERN = rf"^[{ALPHABET}]{{{LENGTH}}}$"
_CODE = re.compile(CODE_PATTERN)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def parse_code(raw: str) -> str | None:
    """The code `raw` names (spaces around and lower case forgiven), or None."""
    code = raw.strip().upper()
    return code if _CODE.fullmatch(code) else None
