"""Who may use /admin: a login form (ADMIN_USERNAME / ADMIN_PASSWORD, or any name with
ADMIN_API_TOKEN as the password), a signed HttpOnly SameSite=Strict session cookie, logout,
and a same-origin check on every form post (CSRF)."""

from __future__ import annotations

import hashlib
import hmac

from fastapi import FastAPI
from sqladmin.authentication import AuthenticationBackend
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from common.logging import get_logger
from rest_service.app.config import Settings

log = get_logger(__name__)

SESSION_COOKIE = "smart_assistant_admin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def check_credentials(settings: Settings, username: str, password: str) -> str | None:
    """The name to act as, or None. Both checks always run (no timing hint)."""
    by_password = _same(username, settings.admin_username) & _same(
        password, settings.admin_password
    )
    by_token = _same(password, settings.admin_api_token)
    if by_password:
        return username
    if by_token:
        return username.strip() or "admin"
    return None


def session_secret(settings: Settings) -> str:
    """Derived from the admin token: rotating the token logs every admin out."""
    return hashlib.sha256(b"admin-session:" + settings.admin_api_token.encode()).hexdigest()


class AdminAuth(AuthenticationBackend):
    def __init__(self, parent: FastAPI) -> None:
        # No secret here: settings are known only in the lifespan (see LazySessionMiddleware).
        self.middlewares = [
            Middleware(SameOriginMiddleware),
            Middleware(LazySessionMiddleware, parent=parent),
        ]
        self.parent = parent

    async def login(self, request: Request) -> bool:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        who = check_credentials(self.parent.state.settings, username, password)
        if who is None:
            log.warning("admin_login_refused", username=username[:64])
            return False
        request.session.clear()
        request.session.update({"user_id": who})
        log.info("admin_login", username=who)
        return True

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        return bool(request.session.get("user_id"))


def admin_name(request: Request) -> str:
    return str(request.session.get("user_id", "admin"))


class LazySessionMiddleware:
    """Starlette's SessionMiddleware (signed cookie, HttpOnly, SameSite=Strict, path /admin),
    built on the first request from the settings the lifespan resolved."""

    def __init__(self, app: ASGIApp, parent: FastAPI) -> None:
        self.app = app
        self.parent = parent
        self._inner: tuple[str, SessionMiddleware] | None = None

    def _middleware(self) -> SessionMiddleware:
        settings: Settings = self.parent.state.settings
        secret = session_secret(settings)
        if self._inner is None or self._inner[0] != secret:
            inner = SessionMiddleware(
                self.app,
                secret_key=secret,
                session_cookie=SESSION_COOKIE,
                max_age=settings.admin_session_hours * 3600,
                path="/admin",
                same_site="strict",
                https_only=settings.admin_cookie_secure,
            )
            self._inner = (secret, inner)
        return self._inner[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._middleware()(scope, receive, send)


class SameOriginMiddleware:
    """CSRF: a state-changing request must come from a page of this site: its `Origin` (or,
    without one, its `Referer`) must name this host. Browsers always send one of them on a
    form post; with SameSite=Strict the cookie is not even sent cross-site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if not _same_origin(headers):
                log.warning("admin_cross_origin_refused", origin=headers.get("origin"))
                response = PlainTextResponse("cross-origin request refused", status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _same_origin(headers: Headers) -> bool:
    host = headers.get("host", "")
    source = headers.get("origin") or headers.get("referer") or ""
    if not host or not source or source == "null":
        return False
    scheme, _, rest = source.partition("://")
    return scheme in ("http", "https") and rest.split("/", 1)[0] == host
