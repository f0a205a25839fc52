"""Scoped service tokens: which secret each service may read from rest_service.

`SERVICE_API_TOKEN` is the shared token of old (every service right). `SERVICE_TOKEN_<SERVICE>`
is one service's own, with the least rights that service needs. rest_service maps a token to
its scope with these tables; each service sends its own token when it has one."""

from __future__ import annotations

import hmac
from enum import StrEnum


class Right(StrEnum):
    """A secret a service token may read (or write) beyond what every service token does."""

    provider_keys = "provider_keys"
    calendar_credentials = "calendar_credentials"


#: The shared SERVICE_API_TOKEN's scope name, and its rights: everything, as before.
SHARED = "shared"
ALL_RIGHTS: frozenset[Right] = frozenset(Right)

#: Each service's least rights. tg_bot and cron_service read no secret at all.
SCOPES: dict[str, frozenset[Right]] = {
    "tg_bot": frozenset(),
    "assistant": frozenset({Right.provider_keys}),
    "google_calendar_service": frozenset({Right.calendar_credentials}),
    "cron_service": frozenset(),
}


def setting_name(service: str) -> str:
    """`service_token_tg_bot`: the settings field (env `SERVICE_TOKEN_TG_BOT`)."""
    return f"service_token_{service}"


def env_name(service: str) -> str:
    return setting_name(service).upper()


def rights_of(scope: str) -> frozenset[Right]:
    return ALL_RIGHTS if scope == SHARED else SCOPES[scope]


#: The services that call google_calendar_service (tg_bot's /calendar, the assistant's tool).
CALENDAR_CALLERS = ("tg_bot", "assistant")


def calendar_caller_tokens(settings: object) -> list[str]:
    """The tokens google_calendar_service accepts: the shared one and its callers' own."""
    names = ["service_api_token", *(setting_name(s) for s in CALENDAR_CALLERS)]
    return [token for name in names if (token := getattr(settings, name, ""))]


def matches_any(given: str, tokens: list[str]) -> bool:
    """Constant time per token, and every token is compared (no hint which one matched)."""
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given.encode(), token.encode())
    return found
