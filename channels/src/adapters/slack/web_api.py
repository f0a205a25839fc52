"""Slack's Web API as the adapter uses it: `chat.postMessage` with the bot token, Slack's
answers turned into the sender's two outcomes (`RetryLater`, `Undeliverable`).

Slack answers HTTP 200 with `{"ok": false, "error": ...}` for most failures, and 429 with
`Retry-After` when a method is called too fast (https://api.slack.com/docs/rate-limits)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.http_client import UNANSWERED, failure_name, per_step

Json = dict[str, Any]

TIMEOUT_S = 10.0
#: When Slack says nothing of when to come back.
DEFAULT_RETRY_S = 1.0
#: Longest wait a `Retry-After` may ask of one answer before it is tried again.
MAX_RETRY_S = 300.0
#: Errors no retry can mend: the channel is gone or closed to us, or the token is dead.
UNDELIVERABLE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "not_authed",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "restricted_action",
        "missing_scope",
    }
)
#: Errors that pass: Slack's own trouble.
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})


class SlackWebApi:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self._http = http
        self._base = base.rstrip("/")
        self._token = token

    async def call(self, method: str, body: Json) -> Json:
        """One Web API call; its answer when `ok`, else `RetryLater` or `Undeliverable`."""
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        try:
            async with self._http.post(
                f"{self._base}/{method}",
                data=json.dumps(body),
                headers=headers,
                timeout=per_step(TIMEOUT_S),
                allow_redirects=False,
            ) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                content = await response.read()
        except UNANSWERED as exc:
            raise RetryLater(DEFAULT_RETRY_S, f"slack {method}: {failure_name(exc)}") from exc
        if status == 429:
            raise RetryLater(retry_delay(retry_after), f"slack {method}: rate limited")
        if status >= 500:
            raise RetryLater(DEFAULT_RETRY_S, f"slack {method}: HTTP {status}")
        return outcome(method, status, content, retry_after)


def outcome(method: str, status: int, content: bytes, retry_after: str | None) -> Json:
    """The body of a 2xx/4xx answer: itself when `ok`, else the error's outcome."""
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RuntimeError(f"slack {method}: HTTP {status}, not a Web API answer")
    if answer.get("ok") is True:
        return answer
    error = str(answer.get("error") or f"HTTP {status}")[:100]
    if error == "ratelimited":
        raise RetryLater(retry_delay(retry_after), f"slack {method}: rate limited")
    if error in TRANSIENT:
        raise RetryLater(DEFAULT_RETRY_S, f"slack {method}: {error}")
    if error in UNDELIVERABLE:
        raise Undeliverable(f"slack {method}: {error}")
    raise RuntimeError(f"slack {method}: {error}")


def retry_delay(header: str | None) -> float:
    """`Retry-After` in seconds (Slack sends whole seconds), within sense."""
    try:
        seconds = float(header) if header is not None else DEFAULT_RETRY_S
    except ValueError:
        seconds = DEFAULT_RETRY_S
    if seconds != seconds:  # NaN
        seconds = DEFAULT_RETRY_S
    return min(max(seconds, 0.0), MAX_RETRY_S)
