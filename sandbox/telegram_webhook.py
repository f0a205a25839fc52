"""Webhooks in the Telegram stand-in: `setWebhook`, `deleteWebhook`, `getWebhookInfo`, and
delivery as Telegram does it.

While a webhook is set, every queued update is POSTed as JSON to its URL with the
`X-Telegram-Bot-Api-Secret-Token` header; an update leaves the queue only on a 2xx answer.
Anything else (an error status, a refused connection, a timeout) is recorded in
`last_error_message` and the same update is sent again after a pause, as Telegram does, so
`pending_update_count` shows what waits. `getUpdates` is refused with 409 meanwhile.

Tests can make the stand-in lose the bot's next answers (`lose_answers`): the update was
handled, but Telegram did not hear the 2xx in time and delivers it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from sandbox.telegram_errors import BotApiError

if TYPE_CHECKING:
    from sandbox.telegram_api import TelegramStandIn

Json = dict[str, Any]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: The Bot API's rule for secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
GET_UPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class Delivery:
    """One POST of an update to the bot's URL, as the stand-in saw its answer."""

    update_id: int
    status: int  # 0: no answer (connection refused, timeout, or an answer "lost")
    at: float


@dataclass
class WebhookDelivery:
    """The webhook state of one stand-in bot and the task that delivers its updates."""

    api: TelegramStandIn
    #: Pause before an update is sent again (Telegram's is longer; tests want it short).
    retry_delay: float = 0.2
    #: How long the bot has to answer one POST.
    answer_timeout: float = 10.0
    url: str = ""
    secret_token: str = ""
    allowed_updates: list[str] | None = None
    last_error_message: str = ""
    last_error_date: int = 0
    #: The next this many answers count as not heard (the update is delivered again).
    lose_answers: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return bool(self.url)

    def methods(self) -> dict[str, Any]:
        return {
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }

    def refuse_get_updates(self) -> None:
        """getUpdates is a 409 while a webhook is set, as on Telegram."""
        if self.active:
            raise BotApiError(409, GET_UPDATES_CONFLICT)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- Bot API methods -----------------------------------------------------------------------

    async def _set_webhook(self, params: Json) -> bool:
        url = str(params.get("url") or "")
        if not url:  # the Bot API: an empty url removes the webhook
            return await self._delete_webhook(params)
        if not url.startswith(("https://", "http://")):
            raise BotApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = str(params.get("secret_token") or "")
        if secret and not _SECRET.fullmatch(secret):
            raise BotApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if allowed is not None:
            self.allowed_updates = list(allowed)
            self.api._allowed = set(allowed) or None  # the filter getUpdates would set
        if params.get("drop_pending_updates") in (True, "true", "True", "1"):
            self.api.updates.clear()
        self.url, self.secret_token = url, secret
        self.last_error_message, self.last_error_date = "", 0
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._deliver())
        self.api._wake()
        return True

    async def _delete_webhook(self, params: Json) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True", "1"):
            self.api.updates.clear()
        self.url, self.secret_token = "", ""
        await self.stop()
        return True

    async def _get_webhook_info(self, _params: Json) -> Json:
        info: Json = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.api.updates),
            "max_connections": 40,
        }
        if self.url and self.allowed_updates is not None:
            info["allowed_updates"] = self.allowed_updates
        if self.last_error_message:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    # -- delivery ------------------------------------------------------------------------------

    async def _deliver(self) -> None:
        """Oldest update first, one at a time (so a chat's updates keep their order)."""
        async with aiohttp.ClientSession() as http:
            while self.active:
                if not self.api.updates:
                    await self.api._changed.wait()  # set by inject() and setWebhook
                    continue
                update = self.api.updates[0]
                if await self._post(http, update):
                    with contextlib.suppress(ValueError):
                        self.api.updates.remove(update)
                else:
                    await asyncio.sleep(self.retry_delay)

    async def _post(self, http: aiohttp.ClientSession, update: Json) -> bool:
        headers = {"Content-Type": "application/json"}
        if self.secret_token:
            headers[SECRET_HEADER] = self.secret_token
        body = json.dumps(update, ensure_ascii=True)  # as Telegram sends it: non-ASCII escaped
        status, error = 0, ""
        try:
            async with http.post(
                self.url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.answer_timeout),
            ) as response:
                status = response.status
                error = f"Wrong response from the webhook: {status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {type(exc).__name__}"
        if 200 <= status < 300 and self.lose_answers > 0:
            self.lose_answers -= 1
            status, error = 0, "Read timeout expired"
        self.deliveries.append(Delivery(int(update["update_id"]), status, time.monotonic()))
        if 200 <= status < 300:
            return True
        self.last_error_message, self.last_error_date = error, int(time.time())
        return False
