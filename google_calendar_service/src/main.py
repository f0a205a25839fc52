"""The google_calendar_service FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from starlette.applications import Starlette

from common.infrastructure import web, web_observability
from common.infrastructure.logging import configure_logging, get_logger
from common.infrastructure.metrics import SERVICE_STARTS
from common.infrastructure.probes import OPS_ROUTES, ReadinessCheck
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.redis_connection import create_redis_for, redis_health
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.service_tokens import TokenTable
from common.infrastructure.tracing import configure_tracing
from google_calendar_service.src.api import tasks_routes
from google_calendar_service.src.api.mail_routes import mail_router
from google_calendar_service.src.api.routes import public, router
from google_calendar_service.src.api.state import STATE, CalendarState
from google_calendar_service.src.clients.gmail import GmailClient
from google_calendar_service.src.clients.google import GoogleCalendarClient
from google_calendar_service.src.domain.calendar import GoogleCalendarService
from google_calendar_service.src.domain.mail import GoogleMail
from google_calendar_service.src.domain.oauth import OAuthClient, OAuthStates
from google_calendar_service.src.settings import Settings

log = get_logger(__name__)

#: Libraries that log request bodies, tokens or codes at DEBUG (requests-oauthlib prints
#: the whole token response): never below WARNING, whatever LOG_LEVEL says.
_TOKEN_LEAKING_LOGGERS = (
    "requests_oauthlib",
    "oauthlib",
    "google_auth_oauthlib",
    "google.auth",
    "google_auth_httplib2",
    "googleapiclient",
    "urllib3",
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HEALTH_TIMEOUT_S = 2.0
#: Paths open without a token: the OAuth callback (its single-use state protects it), the
#: health and metrics probes and the API docs.
OPEN_PATHS = OPS_ROUTES | {
    "/auth/callback",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
}


def _quiet_token_loggers() -> None:
    for name in _TOKEN_LEAKING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _configure_oauthlib(settings: Settings) -> None:
    """oauthlib refuses plain http; allow it only when every OAuth URL is this machine (the
    stand-in). Google may report the granted scopes in another order or add earlier
    grants (include_granted_scopes): that is not an error."""
    urls = (settings.google_auth_uri, settings.google_token_uri, settings.google_revoke_uri)
    if all(urlsplit(u).hostname in _LOOPBACK for u in urls):
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    os.environ["OAUTHLIB_RELAX_TOKEN_SCOPE"] = "1"


def _open_state(settings: Settings) -> CalendarState:
    redis = create_redis_for(settings)
    rest = RestClient(settings.rest_service_url, settings.own_service_token)
    names = Names(settings.redis_key_prefix)
    calendar = GoogleCalendarService(
        settings,
        rest,
        StreamPublisher(redis, names),
        OAuthStates(redis, names, settings.oauth_state_ttl_seconds),
        OAuthClient(settings),
        GoogleCalendarClient(settings),
    )
    mail = GoogleMail(calendar, GmailClient(settings), redis, names)
    return CalendarState(settings, redis, rest, calendar, mail)


async def _expire_pending_forever(calendar: GoogleCalendarService, interval: float) -> None:
    """Unanswered connect requests are dropped (and revoked) once they expire."""
    while True:
        try:
            await calendar.expire_pending()
        except Exception as exc:  # e.g. rest_service down: the loop must outlive it
            log.warning("calendar_expiry_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)


async def _redis_check(redis: Redis) -> dict[str, object]:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            return {"ok": True, **await redis_health(redis)}
    except Exception as exc:  # health reports a failure, it never raises one
        return {"ok": False, "error": type(exc).__name__}


@asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[CalendarState]:
    configure_logging(settings, "google_calendar_service")
    configure_tracing(settings, "google_calendar_service")
    _quiet_token_loggers()
    _configure_oauthlib(settings)
    state = _open_state(settings)
    SERVICE_STARTS.labels("google_calendar_service").inc()
    log.info("service_started", port=settings.port)
    expiry = asyncio.create_task(
        _expire_pending_forever(state.calendar, settings.calendar_expiry_interval_seconds)
    )
    try:
        yield state
    finally:
        expiry.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await expiry
        await state.close()
        log.info("service_stopped")


async def health(request: Request) -> JSONResponse:
    """503 when Redis is down: OAuth states and the "connected" message live there."""
    redis = await _redis_check(STATE.of_app(request.app).redis)
    healthy = bool(redis["ok"])
    body = {
        "status": "ok" if healthy else "degraded",
        "service": "google_calendar_service",
        "checks": {"redis": redis},
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


def readiness_checks(app: Starlette) -> dict[str, ReadinessCheck]:
    """Redis (OAuth states, the "connected" message) and rest_service (where credentials
    are read and stored): without either no calendar request can succeed."""
    state = STATE.of_app(app)
    return {"redis": state.redis.ping, "rest_service": state.rest.ready}


def _tokens(app: Starlette) -> TokenTable:
    return STATE.of_app(app).tokens


def _protected(path: str) -> bool:
    return path not in OPEN_PATHS


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Google Calendar Service",
        description="Service for working with Google Calendar. Every route but the OAuth "
        "callback needs `Authorization: Bearer <SERVICE_API_TOKEN>` (or the calling "
        "service's own `SERVICE_TOKEN_<SERVICE>`).",
        version="1.0.0",
        lifespan=STATE.lifespan(lambda _app: _running(settings or Settings())),
    )
    web.install_bearer_auth(app, _tokens, _protected)
    web.install_error_handlers(app)
    app.include_router(public)
    app.include_router(router)
    app.include_router(tasks_routes.router)
    app.include_router(mail_router)
    web.add_ops_routes(app, health)
    web_observability.instrument(app, "google_calendar_service")
    web.add_probe_routes(app, "google_calendar_service", readiness_checks)
    return app


app = create_app()
