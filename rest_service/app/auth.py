"""Bearer tokens: who is calling (middleware, so nothing is parsed for a stranger) and what
they may do (route dependencies). Tokens are compared in constant time."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from common import service_tokens
from common.errors import ForbiddenError
from common.service_tokens import Right
from rest_service.app.settings import Settings

#: Paths that need no token (besides /health, /docs, /openapi.json outside /api).
PROTECTED_PREFIX = "/api"


class Role(StrEnum):
    admin = "admin"
    service = "service"


@dataclass(frozen=True)
class Caller:
    """Who a token is: its role, its scope (`shared`, `tg_bot`, …) and the secrets it reads."""

    role: Role
    scope: str
    rights: frozenset[Right]


ADMIN = Caller(Role.admin, "admin", frozenset())


def _matches(given: bytes, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given, expected.encode())


def caller_for(authorization: str | None, settings: Settings) -> Caller | None:
    """The caller a bearer token names; every token is compared (no timing hint)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = token.strip().encode()
    is_admin = _matches(given, settings.admin_api_token)
    scopes = [scope for value, scope in settings.service_token_scopes() if _matches(given, value)]
    if is_admin:
        return ADMIN
    if not scopes:
        return None
    return Caller(Role.service, scopes[0], service_tokens.rights_of(scopes[0]))


class BearerAuthMiddleware:
    """401 before routing for any /api request without a known token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        caller = caller_for(header or None, settings)
        if caller is None:
            await _unauthorized(send, "missing bearer token" if not header else "unknown token")
            return
        state = scope.setdefault("state", {})
        state["role"], state["caller"] = caller.role, caller
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, detail: str) -> None:
    payload = json.dumps({"error": "unauthorized", "detail": detail, "fields": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


#: Declares the scheme in OpenAPI (/docs "Authorize"); the middleware does the checking.
_bearer = HTTPBearer(
    auto_error=False, description="ADMIN_API_TOKEN, SERVICE_API_TOKEN or a SERVICE_TOKEN_<SERVICE>"
)


async def _caller(
    request: Request, _declared: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Role:
    return request.state.role


async def _any_token(role: Role = Depends(_caller)) -> Role:
    return role


async def _admin_only(role: Role = Depends(_caller)) -> Role:
    if role is not Role.admin:
        raise ForbiddenError("this route needs the admin token")
    return role


def _reads(right: Right, secret: str) -> Any:
    """A route that returns or takes one decrypted secret: a service token with that right."""

    async def check(request: Request, role: Role = Depends(_caller)) -> Role:
        if role is not Role.service:
            raise ForbiddenError("this route is for the service token only (it returns a secret)")
        caller: Caller = request.state.caller
        if right not in caller.rights:
            raise ForbiddenError(f"the {caller.scope} service token may not read {secret}")
        return role

    return check


_provider_keys = _reads(Right.provider_keys, "provider keys")
_calendar_credentials = _reads(Right.calendar_credentials, "calendar credentials")


#: Either token: what services need (ARCHITECTURE.md "Auth").
AnyToken = Annotated[Role, Depends(_any_token)]
AdminOnly = Annotated[Role, Depends(_admin_only)]
any_token = Depends(_any_token)
admin_only = Depends(_admin_only)
#: The secret routes: the shared service token, or the one scoped token whose service needs it.
provider_keys_only = Depends(_provider_keys)
calendar_credentials_only = Depends(_calendar_credentials)
