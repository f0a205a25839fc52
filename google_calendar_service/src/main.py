"""The google_calendar_service FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.asyncio import Redis

from common.errors import AppError, FieldError, ValidationFailedError
from common.logging import configure_logging, get_logger
from common.metrics import SERVICE_STARTS, render_metrics
from common.names import Names
from common.queue import StreamPublisher
from common.redis_connection import create_redis, redis_health
from common.rest_client import RestClient
from google_calendar_service.src.api.routes import public, router
from google_calendar_service.src.clients.google import GoogleCalendarClient
from google_calendar_service.src.domain.calendar import GoogleCalendarService
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


def _build_calendar(settings: Settings, app: FastAPI) -> GoogleCalendarService:
    app.state.redis = create_redis(settings.redis_url)
    app.state.rest = RestClient(settings.rest_service_url, settings.own_service_token)
    names = Names(settings.redis_key_prefix)
    return GoogleCalendarService(
        settings,
        app.state.rest,
        StreamPublisher(app.state.redis, names),
        OAuthStates(app.state.redis, names, settings.oauth_state_ttl_seconds),
        OAuthClient(settings),
        GoogleCalendarClient(settings),
    )


async def _expire_pending_forever(calendar: GoogleCalendarService, interval: float) -> None:
    """Unanswered connect requests are dropped (and revoked) once they expire."""
    while True:
        try:
            await calendar.expire_pending()
        except Exception as exc:  # e.g. rest_service down: the loop must outlive it
            log.warning("calendar_expiry_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            FieldError(".".join(str(p) for p in e["loc"] if p != "body"), e["msg"])
            for e in exc.errors()
        ]
        error = ValidationFailedError("the request is not valid", fields)
        return JSONResponse(error.to_dict(), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled_error", error=type(exc).__name__)
        body = AppError("internal error; see the service log").to_dict()
        return JSONResponse(body, status_code=500)


async def _redis_check(redis: Redis) -> dict[str, object]:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            return {"ok": True, **await redis_health(redis)}
    except Exception as exc:  # health reports a failure, it never raises one
        return {"ok": False, "error": type(exc).__name__}


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        configure_logging(app.state.settings, "google_calendar_service")
        _quiet_token_loggers()
        _configure_oauthlib(app.state.settings)
        app.state.calendar = _build_calendar(app.state.settings, app)
        SERVICE_STARTS.labels("google_calendar_service").inc()
        log.info("service_started", port=app.state.settings.port)
        expiry = asyncio.create_task(
            _expire_pending_forever(
                app.state.calendar, app.state.settings.calendar_expiry_interval_seconds
            )
        )
        try:
            yield
        finally:
            expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await expiry
            await app.state.rest.aclose()
            await app.state.redis.aclose()
            log.info("service_stopped")

    app = FastAPI(
        title="Google Calendar Service",
        description="Service for working with Google Calendar",
        version="1.0.0",
        lifespan=lifespan,
    )
    _add_error_handlers(app)
    app.include_router(public)
    app.include_router(router)

    @app.get("/health", tags=["ops"])
    async def health(request: Request) -> JSONResponse:
        """503 when Redis is down: OAuth states and the "connected" message live there."""
        redis = await _redis_check(request.app.state.redis)
        healthy = bool(redis["ok"])
        body = {
            "status": "ok" if healthy else "degraded",
            "service": "google_calendar_service",
            "checks": {"redis": redis},
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        payload, content_type = render_metrics()
        return Response(payload, media_type=content_type)

    return app


app = create_app()
