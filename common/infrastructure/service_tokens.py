"""Bearer tokens and their scopes: who a token is and what it may do.

`ADMIN_API_TOKEN` may do everything. `SERVICE_API_TOKEN` is the shared service token of old
(every service right). `SERVICE_TOKEN_<SERVICE>` is one service's own, with the least rights
that service needs. The FastAPI services map a token to its caller with `TokenTable`; each
service sends its own token when it has one. No FastAPI here: the settings import this."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum


class Right(StrEnum):
    """What a service token may do beyond what every service token does."""

    provider_keys = "provider_keys"
    calendar_credentials = "calendar_credentials"
    #: Call google_calendar_service (tg_bot's /calendar, the assistant's calendar tool).
    calendar_api = "calendar_api"
    #: Read one bot's decrypted token (tg_bot, which talks to Telegram as that bot).
    bot_tokens = "bot_tokens"
    #: Get-or-create a channel's sender, issue link codes, link and unlink identities (the
    #: bots and the channels service, acting for their senders).
    identities = "identities"
    #: Check an outside program's API key (the channels service, which serves the public API).
    api_clients = "api_clients"


#: The shared SERVICE_API_TOKEN's scope name, and its rights: everything, as before.
SHARED = "shared"
ALL_RIGHTS: frozenset[Right] = frozenset(Right)

#: Each service's least rights. cron_service reads no secret and calls no other service;
#: channels knows its senders as people (identities).
SCOPES: dict[str, frozenset[Right]] = {
    "tg_bot": frozenset({Right.calendar_api, Right.bot_tokens, Right.identities}),
    "assistant": frozenset({Right.provider_keys, Right.calendar_api}),
    "google_calendar_service": frozenset({Right.calendar_credentials}),
    "cron_service": frozenset(),
    "channels": frozenset({Right.identities, Right.api_clients}),
}

#: The services that call google_calendar_service.
CALENDAR_CALLERS = tuple(s for s, rights in SCOPES.items() if Right.calendar_api in rights)


def setting_name(service: str) -> str:
    """`service_token_tg_bot`: the settings field (env `SERVICE_TOKEN_TG_BOT`)."""
    return f"service_token_{service}"


def env_name(service: str) -> str:
    return setting_name(service).upper()


def rights_of(scope: str) -> frozenset[Right]:
    return ALL_RIGHTS if scope == SHARED else SCOPES[scope]


def scoped_tokens(settings: object) -> list[tuple[str, str]]:
    """(token, scope) for every service token the settings hold: the shared one and the
    scoped ones that are set."""
    names = [("service_api_token", SHARED), *((setting_name(s), s) for s in SCOPES)]
    return [(token, scope) for name, scope in names if (token := getattr(settings, name, ""))]


class Role(StrEnum):
    admin = "admin"
    service = "service"


@dataclass(frozen=True)
class Caller:
    """Who a token is: its role, its scope (`shared`, `tg_bot`, …) and what it may do."""

    role: Role
    scope: str
    rights: frozenset[Right]


ADMIN = Caller(Role.admin, "admin", frozenset())


def _matches(given: bytes, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given, expected.encode())


@dataclass(frozen=True)
class TokenTable:
    """The tokens one service accepts: the admin token (empty where there is none) and the
    service tokens with their scopes."""

    admin: str
    services: tuple[tuple[str, str], ...]

    @classmethod
    def from_settings(cls, settings: object) -> TokenTable:
        return cls(getattr(settings, "admin_api_token", ""), tuple(scoped_tokens(settings)))

    def caller_for(self, authorization: str | None) -> Caller | None:
        """The caller an `Authorization: Bearer` header names. Every token is compared, in
        constant time, so the answer's timing gives no hint which one matched."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        given = token.strip().encode()
        is_admin = _matches(given, self.admin)
        scopes = [scope for value, scope in self.services if _matches(given, value)]
        if is_admin:
            return ADMIN
        if not scopes:
            return None
        return Caller(Role.service, scopes[0], rights_of(scopes[0]))
