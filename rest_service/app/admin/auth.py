"""Who may use /admin: named admins (argon2id hashes in `admin_accounts`), the bootstrap
admin of ADMIN_USERNAME / ADMIN_PASSWORD while no account has that name, and ADMIN_API_TOKEN
as the password for scripts (recorded as `api-token` whatever name is typed). Logins are
limited per name and per address; sessions live in Redis (see `sessions`); the signed
HttpOnly SameSite=Strict cookie carries only the session token; every form post must come
from this site (CSRF); every response carries the security headers."""

from __future__ import annotations

import hashlib
import hmac

import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import RedisError
from sqladmin.authentication import AuthenticationBackend
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from rest_service.app.admin.headers import SecurityHeadersMiddleware
from rest_service.app.admin.login_limit import LoginLimiter, LoginPolicy, LoginThrottled
from rest_service.app.admin.sessions import API_TOKEN_ADMIN, AdminSession, AdminSessions
from rest_service.app.domain import admin_accounts
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.settings import Settings
from rest_service.app.state import STATE, AppState

log = get_logger(__name__)

SESSION_COOKIE = "smart_assistant_admin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION_STATE = "admin_session"


class NotLoggedIn(RuntimeError):
    """An admin action ran without a session (a route missing its login check)."""


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _is_bootstrap(settings: Settings, name: str, password: str) -> bool:
    configured = settings.admin_username.strip().lower()
    return _same(name, configured) & _same(password, settings.admin_password)


async def identify(state: AppState, username: str, password: str) -> str | None:
    """The admin these credentials log in as (an account name or `api-token`), or None."""
    if _same(password, state.settings.admin_api_token):
        return API_TOKEN_ADMIN
    name = username.strip().lower()[:64]
    async with unit_of_work(state, f"admin:{name}") as ctx:
        account = await admin_accounts.verify(ctx.session, name, password)
        if account is not None:
            return account.name
        if _is_bootstrap(state.settings, name, password):
            return name if await admin_accounts.find(ctx.session, name) is None else None
    return None


def admin_sessions(settings: Settings, redis: aioredis.Redis) -> AdminSessions:
    names = Names(settings.redis_key_prefix)
    return AdminSessions(redis, names, settings.admin_session_hours * 3600)


def session_secret(settings: Settings) -> str:
    """Derived from the admin token: rotating the token logs every admin out."""
    return hashlib.sha256(b"admin-session:" + settings.admin_api_token.encode()).hexdigest()


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class AdminAuth(AuthenticationBackend):
    def __init__(self, parent: FastAPI) -> None:
        # No secret here: settings are known only in the lifespan (see LazySessionMiddleware).
        self.middlewares = [
            Middleware(SecurityHeadersMiddleware),
            Middleware(SameOriginMiddleware),
            Middleware(NoNulQueryMiddleware),
            Middleware(LazySessionMiddleware, parent=parent),
        ]
        self.parent = parent

    @property
    def _state(self) -> AppState:
        return STATE.of_app(self.parent)

    def _sessions(self) -> AdminSessions:
        return admin_sessions(self._state.settings, self._state.redis)

    async def login(self, request: Request) -> Response | bool:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        address = _address(request)
        try:
            token = await self._attempt(username, password, address)
        except LoginThrottled as exc:
            log.warning(
                "admin_login_throttled",
                username=username[:64],
                address=address,
                retry_after=exc.retry_after,
            )
            return await self._login_page(request, str(exc), 429, exc.retry_after)
        except RedisError as exc:
            log.error("admin_login_unavailable", error=str(exc))
            return await self._login_page(request, "login unavailable: Redis is down", 503)
        if token is None:
            return False
        request.session.clear()
        request.session["token"] = token
        return True

    async def _attempt(self, username: str, password: str, address: str) -> str | None:
        """A new session's token for these credentials, or None; the limiter counts it."""
        state = self._state
        policy = LoginPolicy.from_settings(state.settings)
        limiter = LoginLimiter(state.redis, Names(state.settings.redis_key_prefix), policy)
        await limiter.reserve(username, address)
        who = await identify(state, username, password)
        if who is None:
            log.warning("admin_login_refused", username=username[:64], address=address)
            return None
        await limiter.succeeded(username, address)
        log.info("admin_login", admin=who, address=address)
        return await self._sessions().open(who)

    async def _login_page(
        self, request: Request, error: str, status: int, retry_after: int | None = None
    ) -> Response:
        response: Response = await self.parent.state.admin.templates.TemplateResponse(
            request, "sqladmin/login.html", {"error": error}, status_code=status
        )
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    async def logout(self, request: Request) -> bool:
        token = str(request.session.get("token", ""))
        request.session.clear()
        try:
            await self._sessions().close(token)
        except RedisError as exc:
            log.error("admin_logout_failed", error=str(exc))
        return False  # sqladmin then sends the browser to the login page

    async def authenticate(self, request: Request) -> bool:
        token = str(request.session.get("token", ""))
        try:
            found = await self._sessions().find(token) if token else None
        except RedisError as exc:
            log.error("admin_session_unavailable", error=str(exc))
            found = None
        if found is None:
            request.session.pop("token", None)
            return False
        setattr(request.state, _SESSION_STATE, found)
        return True

    async def get_user_id(self, request: Request) -> str | None:
        found = getattr(request.state, _SESSION_STATE, None)
        return found.admin if found is not None else None


def current_admin(request: Request) -> AdminSession:
    """The session `authenticate` found for this request."""
    found: AdminSession | None = getattr(request.state, _SESSION_STATE, None)
    if found is None:
        raise NotLoggedIn("no admin session on this request")
    return found


class LazySessionMiddleware:
    """Starlette's SessionMiddleware (signed cookie, HttpOnly, SameSite=Strict, path /admin),
    built on the first request from the settings the lifespan resolved."""

    def __init__(self, app: ASGIApp, parent: FastAPI) -> None:
        self.app = app
        self.parent = parent
        self._inner: tuple[str, SessionMiddleware] | None = None

    def _middleware(self) -> SessionMiddleware:
        settings = STATE.of_app(self.parent).settings
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


class NoNulQueryMiddleware:
    """Postgres text cannot hold NUL: a query string carrying one (a search, a filter) is
    refused with 400 before a page asks the database, which would fail with a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if b"%00" in query or b"\x00" in query:
            response = PlainTextResponse("a NUL character (%00) in the address", status_code=400)
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
