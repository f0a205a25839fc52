"""The channels a person talks to the secretary through: one registry of their names, used by
queue messages, identities and bots alike."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Where a message came from or goes. `api` is the public API's caller."""

    telegram = "telegram"
    whatsapp = "whatsapp"
    slack = "slack"
    email = "email"
    web = "web"
    api = "api"
