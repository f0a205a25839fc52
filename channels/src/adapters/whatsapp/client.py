"""The WhatsApp Cloud API (Graph API) calls the adapter makes: send a message, mark one read,
upload and fetch media. Errors are types: `GraphError` carries WhatsApp's code and message,
and `retry_after` when the API asks to wait."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from common.infrastructure.http_client import UNANSWERED, failure_name, send
from common.infrastructure.retry import parse_retry_after

Json = dict[str, Any]

#: One call's bound on connecting and on each read.
CALL_SECONDS = 20.0
#: WhatsApp's code for a free-form message outside the 24-hour customer-service window.
OUTSIDE_WINDOW = 131047
#: Graph's code for an access token that has expired or been revoked (OAuthException).
TOKEN_REFUSED = 190
#: Codes that mean "too many, slow down", whatever the HTTP status they come with.
THROTTLED = frozenset({4, 80007, 130429, 131048, 131056})


class GraphError(Exception):
    """The API answered with an error (or did not answer: `status` 0)."""

    def __init__(
        self, status: int, message: str, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code if code is not None else ''} {message}".strip())
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, a 429 or 5xx, or a throughput limit."""
        return self.status in (0, 429) or self.status >= 500 or self.code in THROTTLED

    @property
    def token_refused(self) -> bool:
        """Our access token was refused (expired, revoked): nothing we call works until an
        operator renews `WHATSAPP_TOKEN`."""
        return self.status == 401 or self.code == TOKEN_REFUSED


@dataclass(frozen=True)
class MediaInfo:
    url: str
    mime_type: str | None
    file_size: int | None


class GraphClient:
    def __init__(
        self, http: aiohttp.ClientSession, base: str, token: str, phone_number_id: str
    ) -> None:
        self._http = http
        self._base = base.rstrip("/")
        self._auth = {"Authorization": f"Bearer {token}"}
        self.phone_number_id = phone_number_id

    async def send_message(self, body: Json) -> str:
        """Sends one message; the `wamid` WhatsApp gave it (an answer without one is a
        `GraphError` 502, as any other answer the API does not give)."""
        answer = await self._call(
            "POST", f"{self._base}/{self.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "recipient_type": "individual", **body},
        )  # fmt: skip
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise GraphError(502, "no message id in the answer")
        return wamid

    async def mark_read(self, wamid: str) -> None:
        await self._call(
            "POST", f"{self._base}/{self.phone_number_id}/messages",
            json={"messaging_product": "whatsapp", "status": "read", "message_id": wamid},
        )  # fmt: skip

    async def upload(self, data: bytes, mime_type: str, file_name: str) -> str:
        """Uploads a file for a message; its media id."""
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, filename=file_name, content_type=mime_type)
        answer = await self._call("POST", f"{self._base}/{self.phone_number_id}/media", data=form)
        return str(answer.get("id", ""))

    async def media_info(self, media_id: str) -> MediaInfo:
        answer = await self._call("GET", f"{self._base}/{media_id}")
        url = answer.get("url")
        if not isinstance(url, str) or not url:
            raise GraphError(502, "no url for the media")
        size = answer.get("file_size")
        mime = answer.get("mime_type")
        return MediaInfo(
            url,
            mime if isinstance(mime, str) else None,
            int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        )

    async def download(self, url: str, limit: int) -> bytes:
        """The media's bytes (the URL wants the same bearer token); `GraphError` 413 when it
        is over `limit` bytes."""
        try:
            async with self._http.get(
                url, headers=self._auth, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, connect=CALL_SECONDS,
                                              sock_read=CALL_SECONDS),
            ) as response:  # fmt: skip
                if response.status != 200:
                    raise GraphError(response.status, f"media download: {response.reason}")
                data = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    data += chunk
                    if len(data) > limit:
                        raise GraphError(413, f"media over {limit} bytes")
                return bytes(data)
        except UNANSWERED as exc:
            raise GraphError(0, f"media download: {failure_name(exc)}") from exc

    async def _call(self, method: str, url: str, **kwargs: Any) -> Json:
        try:
            answer = await send(
                self._http, method, url, timeout=CALL_SECONDS, headers=self._auth, **kwargs
            )
        except UNANSWERED as exc:
            raise GraphError(0, failure_name(exc)) from exc
        try:
            body = answer.json()
        except ValueError:
            body = None
        if 200 <= answer.status < 300 and isinstance(body, dict):
            return body
        raise _error(answer.status, body, answer.headers.get("Retry-After"))


def _error(status: int, body: Any, retry_after: str | None) -> GraphError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(
            status or 502, "no readable answer", retry_after=parse_retry_after(retry_after)
        )
    code = error.get("code")
    details = (
        error.get("error_data", {}).get("details")
        if isinstance(error.get("error_data"), dict)
        else None
    )
    message = str(error.get("message") or error.get("error_user_msg") or "")[:300]
    if isinstance(details, str) and details and details not in message:
        message = f"{message} ({details[:300]})"
    return GraphError(
        status, message, code if isinstance(code, int) else None, parse_retry_after(retry_after)
    )
