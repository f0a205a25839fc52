"""python-telegram-bot's request layer on aiohttp, with what PTB's own mapping drops kept.

PTB's default transport is httpx; on aiohttp (which the services already carry) a Bot API
call costs the bot about a third less CPU (`docs/benchmarks.md`). Any answer that is not a
success raises `Refused` with its HTTP status and body: PTB folds 401 into 404, 5xx into
NetworkError, and a body that is not a Bot API envelope into a KeyError.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import telegram.error as ptb
from telegram.request import BaseRequest, RequestData

from common.infrastructure import tracing

Json = dict[str, Any]


class Refused(ptb.TelegramError):
    """An HTTP answer that is not a Bot API success, with its status and parsed body."""

    def __init__(self, status: int, payload: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.payload = payload


class AiohttpRequest(BaseRequest):
    """One keep-alive aiohttp session; timeouts as PTB names them (aiohttp has no write
    timeout: a request's whole time is bounded by connect + write + read instead)."""

    def __init__(
        self,
        *,
        connections: int,
        timeout: float,
        media_write_timeout: float,
    ) -> None:
        self._connections = connections
        self._timeout = timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("AiohttpRequest used before initialize() or after shutdown()")
        files = request_data.multipart_data if request_data else {}
        read = self._given(read_timeout, self._timeout)
        write = self._given(write_timeout, self._media_write_timeout if files else self._timeout)
        connect = self._given(connect_timeout, self._timeout)
        pool = self._given(pool_timeout, self._timeout)
        timeout = aiohttp.ClientTimeout(
            total=_sum(connect, pool, write, read),
            connect=_sum(connect, pool),
            sock_connect=connect,
            sock_read=read,
        )
        # A span in a message's trace only (the long poll is none); named by the Bot API
        # method, never the URL, which holds the token.
        with tracing.span(f"telegram {url.rsplit('/', 1)[-1]}", kind="client", in_trace_only=True):
            status, payload = await _sent(session, method, url, _body(request_data, files), timeout)
            tracing.annotate({"http.response.status_code": status})
        if 200 <= status <= 299:
            return status, payload
        raise Refused(status, _json_or_none(payload))

    @staticmethod
    def parse_json_payload(payload: bytes) -> Json:
        found = _json_or_none(payload)
        if isinstance(found, dict) and found.get("ok") is True and "result" in found:
            return found
        raise Refused(200, found)

    @staticmethod
    def _given(value: Any, default: float) -> float | None:
        return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


async def _sent(
    session: aiohttp.ClientSession, method: str, url: str, body: Any, timeout: aiohttp.ClientTimeout
) -> tuple[int, bytes]:
    try:
        async with session.request(method, url, data=body, timeout=timeout) as response:
            return response.status, await response.read()
    except TimeoutError as exc:  # aiohttp's own timeouts derive from it
        raise ptb.TimedOut(f"aiohttp {type(exc).__name__}") from exc
    except aiohttp.ClientError as exc:
        raise ptb.NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _body(request_data: RequestData | None, files: dict[str, Any]) -> Any:
    """Form fields as PTB encodes them (each value JSON where it is not a string); with a
    file, the same fields and the files as multipart."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not files:
        return fields
    form = aiohttp.FormData(fields)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _sum(*parts: float | None) -> float | None:
    """A bound made of parts, none when any part is unbounded."""
    if any(part is None for part in parts):
        return None
    return sum(part for part in parts if part is not None)


def _json_or_none(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        return None
