"""Phone numbers as people write them ("+7 (912) 345-67-89", "8 912 345 67 89",
"00 44 20 7946 0958") turned into E.164 ("+79123456789") by libphonenumber's rules, or a
reason the number is not one."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

#: Longer input is not a phone number (E.164 has at most 15 digits; spacing and words aside).
MAX_INPUT_CHARS = 64
#: The international call prefix most of the world dials ("00 44 …" is "+44 …").
_INTERNATIONAL_PREFIX = "00"
INVALID = "is not a valid phone number: write it with the country code, e.g. +7 912 345-67-89"


class InvalidPhoneError(ValueError):
    """The reason, in words a person (or the model asking one) can act on."""


def known_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def normalise_phone(raw: str, default_region: str) -> str:
    """E.164 of `raw`; a number without a country code is read as one of `default_region`
    (ISO 3166 alpha-2), so a local "8 912 …" in Russia is +7 912 …."""
    text = " ".join(raw.split())
    if not text or len(text) > MAX_INPUT_CHARS:
        raise InvalidPhoneError(INVALID)
    if text.startswith(_INTERNATIONAL_PREFIX):
        text = "+" + text[len(_INTERNATIONAL_PREFIX) :]
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except NumberParseException as exc:
        raise InvalidPhoneError(INVALID) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneError(INVALID)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
