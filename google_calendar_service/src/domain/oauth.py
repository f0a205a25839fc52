"""The OAuth 2.0 web flow with google-auth-oauthlib: connect links, their states, the code
exchange and revocation.

A link's `state` is the only thing that ties a browser's callback to one of our users, so
it is random (256 bits), kept server-side with the user it was made for and the PKCE
`code_verifier` the library generated, expires, and is deleted when first read.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import redis.asyncio as aioredis

from common.features.calendar_client import GoogleAccess
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from google_calendar_service.src.errors import GoogleUnavailableError, OAuthCallbackError
from google_calendar_service.src.settings import SCOPES, Settings, scopes_for

if TYPE_CHECKING:
    import requests
    from google.oauth2.credentials import Credentials
    from google_auth_oauthlib.flow import Flow

# requests, oauthlib and google-auth-oauthlib are imported when a user connects, not at
# start (the calendar service mostly sits idle).

log = get_logger(__name__)

_STATE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class PendingAuthorization:
    user_id: str
    code_verifier: str
    created_at: float


class OAuthStates:
    """Connect-link states in Redis: bound to a user, expiring, single-use."""

    def __init__(self, redis: aioredis.Redis, names: Names, ttl_seconds: int) -> None:
        self._redis = redis
        self._names = names
        self.ttl_seconds = ttl_seconds

    @staticmethod
    def new_state() -> str:
        return secrets.token_urlsafe(32)

    async def remember(self, state: str, user_id: str, code_verifier: str) -> None:
        record = {"user_id": user_id, "code_verifier": code_verifier, "created_at": time.time()}
        await self._redis.set(
            self._names.oauth_state(state), json.dumps(record), ex=self.ttl_seconds, nx=True
        )

    async def consume(self, state: str | None) -> PendingAuthorization | None:
        """The pending authorization, removed as it is read; None if unknown, used or old."""
        if not state or len(state) > 128 or not set(state) <= _STATE_CHARS:
            return None
        raw = await self._redis.getdel(self._names.oauth_state(state))
        if raw is None:
            return None
        record = json.loads(raw)
        if time.time() - float(record["created_at"]) > self.ttl_seconds:
            return None
        return PendingAuthorization(
            str(record["user_id"]), str(record["code_verifier"]), record["created_at"]
        )


class OAuthClient:
    """google-auth-oauthlib's Flow, configured from settings (so the stand-in can serve it)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client_config = {
            "web": {
                "client_id": settings.google_client_id,
                "client_secret": settings.google_client_secret,
                "auth_uri": settings.google_auth_uri,
                "token_uri": settings.google_token_uri,
                "redirect_uris": [settings.google_redirect_uri],
            }
        }

    def _flow(self, code_verifier: str | None = None, scopes: list[str] | None = None) -> Flow:
        from google_auth_oauthlib.flow import Flow

        return Flow.from_client_config(
            self._client_config,
            scopes=scopes or list(SCOPES),
            redirect_uri=self._settings.google_redirect_uri,
            code_verifier=code_verifier,
            autogenerate_code_verifier=code_verifier is None,
        )

    def authorization_url(self, state: str, access: Iterable[GoogleAccess] = ()) -> tuple[str, str]:
        """The consent URL and the PKCE code_verifier to keep until the callback.

        Offline access with a forced consent screen, so Google sends a refresh token even
        to a user who connected before; Google's account chooser first (select_account), so a
        user signed into several Google accounts picks which one to connect or add; earlier
        grants are kept (include_granted_scopes), so asking for mail later does not drop the
        calendar.
        """
        flow = self._flow(scopes=scopes_for(access))
        url, _ = flow.authorization_url(
            state=state,
            access_type="offline",
            prompt="consent select_account",
            include_granted_scopes="true",
        )
        return url, str(flow.code_verifier)

    async def exchange(self, code: str, code_verifier: str) -> Credentials:
        """Trade the callback's code (with the PKCE verifier) for tokens at GOOGLE_TOKEN_URI."""
        import requests
        from oauthlib.oauth2 import OAuth2Error

        flow = self._flow(code_verifier)
        try:
            await asyncio.to_thread(
                flow.fetch_token, code=code, timeout=self._settings.google_timeout_seconds
            )
        except OAuth2Error as exc:
            log.warning("oauth_exchange_rejected", error=exc.error)
            raise OAuthCallbackError(
                "Google did not accept this authorization. Please ask for a new link."
            ) from exc
        except requests.RequestException as exc:
            log.warning("oauth_exchange_unreachable", error=type(exc).__name__)
            raise GoogleUnavailableError("Google could not be reached; try again.") from exc
        # google-auth-oauthlib is untyped; its Flow.credentials is google-auth's Credentials.
        return cast("Credentials", flow.credentials)

    async def revoke(self, token: str) -> bool:
        """Revoke the grant at Google (RFC 7009). False when Google would not (already gone)."""
        import requests
        from oauthlib.oauth2 import WebApplicationClient

        client = WebApplicationClient(self._settings.google_client_id)
        url, headers, body = client.prepare_token_revocation_request(
            self._settings.google_revoke_uri, token, token_type_hint=None
        )
        try:
            response = await asyncio.to_thread(self._post, url, headers, body)
        except requests.RequestException as exc:
            log.warning("oauth_revoke_unreachable", error=type(exc).__name__)
            return False
        if response.status_code != 200:
            log.info("oauth_revoke_refused", status=response.status_code)
        return response.status_code == 200

    def _post(self, url: str, headers: dict[str, Any], body: str) -> requests.Response:
        from requests_oauthlib import OAuth2Session

        session: requests.Session = OAuth2Session(self._settings.google_client_id)
        with session:
            return session.post(
                url, data=body, headers=headers, timeout=self._settings.google_timeout_seconds
            )
