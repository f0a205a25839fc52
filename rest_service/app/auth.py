"""Bearer tokens: who is calling (middleware, so nothing is parsed for a stranger) and what
they may do (route dependencies). Tokens are compared in constant time."""

from __future__ import annotations

import hmac
import json
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from common.errors import ForbiddenError
from rest_service.app.config import Settings

#: Paths that need no token (besides /health, /docs, /openapi.json outside /api).
PROTECTED_PREFIX = "/api"


class Role(StrEnum):
    admin = "admin"
    service = "service"


def _matches(given: bytes, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given, expected.encode())


def role_for(authorization: str | None, settings: Settings) -> Role | None:
    """The role a bearer token grants; both tokens are always compared (no timing hint)."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    given = token.strip().encode()
    is_admin = _matches(given, settings.admin_api_token)
    is_service = _matches(given, settings.service_api_token)
    if is_admin:
        return Role.admin
    return Role.service if is_service else None


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
        role = role_for(header or None, settings)
        if role is None:
            await _unauthorized(send, "missing bearer token" if not header else "unknown token")
            return
        scope.setdefault("state", {})["role"] = role
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
_bearer = HTTPBearer(auto_error=False, description="ADMIN_API_TOKEN or SERVICE_API_TOKEN")


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


async def _service_only(role: Role = Depends(_caller)) -> Role:
    if role is not Role.service:
        raise ForbiddenError("this route is for the service token only (it returns a secret)")
    return role


#: Either token: what services need (ARCHITECTURE.md "Auth").
AnyToken = Annotated[Role, Depends(_any_token)]
AdminOnly = Annotated[Role, Depends(_admin_only)]
ServiceOnly = Annotated[Role, Depends(_service_only)]
any_token = Depends(_any_token)
admin_only = Depends(_admin_only)
service_only = Depends(_service_only)
