"""The typed rest_service client: the only one in the repo.

httpx with keep-alive, the bearer token, timeouts, bounded retries with backoff on
connection errors and 503, and rest_service's error bodies turned into typed exceptions.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from common.errors import (
    AppError,
    ConflictError,
    DependencyUnavailableError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    ValidationFailedError,
)
from common.logging import get_logger

log = get_logger(__name__)

_ERRORS_BY_STATUS: dict[int, type[AppError]] = {
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationFailedError,
    503: DependencyUnavailableError,
}


class RestServiceUnavailable(DependencyUnavailableError):
    """rest_service did not answer (or answered 503) after the retries."""


class RestClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
        )
        self._retries = retries
        self._backoff_s = backoff_s

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """Send with retries on connection errors and 503; raise typed errors on 4xx/5xx."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(self._retries + 1):
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if attempt == self._retries:
                    raise RestServiceUnavailable(f"rest_service unreachable: {exc}") from exc
            else:
                if response.status_code != 503 or attempt == self._retries:
                    return _raise_for_error(response)
            await asyncio.sleep(self._backoff_s * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    async def get_json(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def post_json(self, path: str, body: Any = None, **params: Any) -> Any:
        response = await self.request("POST", path, json=body, params=params)
        return response.json() if response.content else None

    async def put_json(self, path: str, body: Any) -> Any:
        return (await self.request("PUT", path, json=body)).json()

    async def delete(self, path: str, **params: Any) -> None:
        await self.request("DELETE", path, params=params)

    async def health(self) -> dict[str, Any]:
        return (await self._http.get("/health")).json()


def _raise_for_error(response: httpx.Response) -> httpx.Response:
    if response.status_code < 400:
        return response
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    fields = [
        FieldError(str(f.get("field")), str(f.get("reason")))
        for f in (body.get("fields") or [] if isinstance(body, dict) else [])
        if isinstance(f, dict)
    ]
    error_type = _ERRORS_BY_STATUS.get(response.status_code)
    if response.status_code == 503:
        error_type = RestServiceUnavailable
    message = str(detail or f"rest_service answered {response.status_code}")
    if error_type is None:
        error = AppError(message, fields)
        error.status_code = response.status_code
        raise error
    raise error_type(message, fields)
