"""A phone number shared in a private chat (Telegram's contact card, or the "Share my phone
number" button): the assistant gets it as a line of text it can read and act on (the
business assistant asks for consent, then saves it with its `contact` tool). Before, it was
answered "I can't read this". The card is outside input: the number keeps only the
characters a phone number has, the names are cut short."""

from __future__ import annotations

import re

from tg_bot.src.clients.types import TgContact

PHONE_MAX = 32
NAME_MAX = 64
_NOT_PHONE = re.compile(r"[^0-9+()\- ]")


def shared_contact_text(contact: TgContact, sender_id: int) -> str | None:
    """What the assistant reads for `contact`; None when no digit of a number is left."""
    phone = " ".join(_NOT_PHONE.sub("", contact.phone_number).split())[:PHONE_MAX]
    if not any(ch.isdigit() for ch in phone):
        return None
    name = " ".join(f"{contact.first_name} {contact.last_name or ''}".split())[:NAME_MAX]
    whose = "their own number" if contact.user_id == sender_id else "someone else's card"
    named = f"{name}, " if name else ""
    return f"[Shared a contact: {named}phone {phone} ({whose})]"
