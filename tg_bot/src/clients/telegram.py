"""An asynchronous Bot API client over httpx: `{base}/bot{token}/{method}`, JSON in and out.

Every failure becomes a type from `errors`; network errors and 5xx are retried under the
one retry policy (`common.retry`) before they are raised. The token never appears in an
error or a log line.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
from pydantic import ValidationError

from common.logging import get_logger
from common.retry import RetryPolicy
from tg_bot.src.clients.errors import (
    TelegramBadRequest,
    TelegramConflict,
    TelegramError,
    TelegramForbidden,
    TelegramMigrateChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramParseError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from tg_bot.src.clients.types import TgUpdate, TgUser

log = get_logger(__name__)

_BY_STATUS: dict[int, type[TelegramError]] = {
    400: TelegramBadRequest,
    401: TelegramUnauthorized,
    403: TelegramForbidden,
    404: TelegramNotFound,
    409: TelegramConflict,
}


class TelegramClient:
    def __init__(
        self,
        api_base: str,
        token: str,
        *,
        request_timeout: float = 10.0,
        retries: int = 2,
        retry_backoff_s: float = 0.5,
        max_connections: int = 100,
    ) -> None:
        self._url = f"{api_base.rstrip('/')}/bot{token}/"
        self._token = token
        self._timeout = request_timeout
        self._retry = RetryPolicy(retries, retry_backoff_s)
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> TelegramClient:
        self._http = httpx.AsyncClient(limits=self._limits)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- the methods the bot uses ------------------------------------------------------------

    async def get_me(self) -> TgUser:
        return TgUser.model_validate(await self.call("getMe"))

    async def get_updates(
        self, offset: int | None, timeout: int, limit: int, allowed_updates: list[str]
    ) -> list[TgUpdate]:
        """One long poll; no retries here, the poller owns the backoff."""
        result = await self.call(
            "getUpdates",
            {
                "offset": offset,
                "timeout": timeout,
                "limit": limit,
                "allowed_updates": allowed_updates,
            },
            timeout=timeout + self._timeout,
            retries=0,
        )
        return [_update(raw) for raw in result]

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": parse_mode,
            "link_preview_options": {"is_disabled": True},
        }
        if reply_to_message_id is not None:
            params["reply_parameters"] = {
                "message_id": reply_to_message_id,
                "allow_sending_without_reply": True,
            }
        sent: dict[str, Any] = await self.call("sendMessage", params)
        return sent

    async def send_chat_action(self, chat_id: int, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action}, retries=0)

    async def set_my_commands(
        self, commands: list[dict[str, str]], language_code: str | None = None
    ) -> None:
        await self.call("setMyCommands", {"commands": commands, "language_code": language_code})

    # -- the transport -----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Any:
        """Call `method`; retry network errors and 5xx; raise typed errors."""
        policy = (
            self._retry if retries is None else dataclasses.replace(self._retry, retries=retries)
        )
        return await policy.run(
            lambda: self._call_once(method, params or {}, timeout or self._timeout),
            retry_exception=_worth_retrying,
            name=f"telegram {method}",
        )

    async def _call_once(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        if self._http is None:
            raise RuntimeError("TelegramClient used outside `async with`")
        body = {k: v for k, v in params.items() if v is not None}
        try:
            response = await self._http.post(
                self._url + method,
                content=_dumps(body).encode(),
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise TelegramNetworkError(method, self._scrub(exc)) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return _result_or_raise(method, response.status_code, payload)

    def _scrub(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}".replace(self._token, "***")


def _worth_retrying(ending: object) -> bool:
    return isinstance(ending, TelegramNetworkError | TelegramServerError)


def _update(raw: dict[str, Any]) -> TgUpdate:
    """An update as the bot reads it; one it cannot read becomes a bare update (ignored,
    but its offset still moves on) instead of stopping the poll."""
    try:
        return TgUpdate.model_validate(raw)
    except ValidationError as exc:
        log.warning("update_unreadable", update_id=raw.get("update_id"), error=str(exc)[:500])
        return TgUpdate(update_id=int(raw["update_id"]))


def _result_or_raise(method: str, status: int, payload: Any) -> Any:
    if isinstance(payload, dict) and payload.get("ok") is True:
        return payload.get("result")
    if not isinstance(payload, dict):
        if status >= 500 or status == 0:
            raise TelegramServerError(method, f"HTTP {status} without a Bot API body", status)
        raise TelegramError(method, f"HTTP {status} without a Bot API body", status)
    code = int(payload.get("error_code") or status)
    description = str(payload.get("description") or f"HTTP {code}")
    parameters = payload.get("parameters") or {}
    if code == 429 or "retry_after" in parameters:
        raise TelegramRetryAfter(method, description, float(parameters.get("retry_after") or 1))
    if "migrate_to_chat_id" in parameters:
        raise TelegramMigrateChat(method, description, int(parameters["migrate_to_chat_id"]))
    if code == 400 and "can't parse entities" in description.lower():
        raise TelegramParseError(method, description)
    if code >= 500:
        raise TelegramServerError(method, description, code)
    raise _BY_STATUS.get(code, TelegramError)(method, description, code)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
