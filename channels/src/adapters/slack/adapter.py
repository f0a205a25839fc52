"""Slack (docs/channels.md "Slack"): the Events API and interactivity requests in, signed
with the app's signing secret, and answers out with `chat.postMessage`.

A request is answered within Slack's three seconds: the message is handed to the intake in
the request (it only finds the sender and queues), and a failure there is a 500, so Slack
delivers again (`X-Slack-Retry-Num`) and nothing is lost; a retried event that was taken in
already is answered 200 at once. Posts to one channel are spaced `PACE_MS` apart across all
of the service's processes (a slot reserved in Redis), as Slack allows about one a second."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from channels.src.adapters.base import Adapter
from channels.src.adapters.slack.events import (
    Press,
    SlackFile,
    event_files,
    event_inbound,
    pressed,
    slack_channel,
    slack_id,
    slack_ts,
)
from channels.src.adapters.slack.mrkdwn import messages
from channels.src.adapters.slack.signing import BadSignature, verify
from channels.src.adapters.slack.web_api import SlackWebApi
from channels.src.intake import Inbound
from common.features.blobs import BlobStore
from common.infrastructure.channels import Channel
from common.infrastructure.errors import Undeliverable
from common.infrastructure.http_client import client_session, per_step
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Attachment, OutgoingMessage

log = get_logger(__name__)

#: Time the intake may take before Slack is told to deliver again (Slack waits 3 s).
INTAKE_TIMEOUT_S = 2.5
#: The part of it a message's files may take; past it the request fails and Slack tries again,
#: except on Slack's last try, which goes without the files that did not come.
FILES_TIMEOUT_S = 1.5
#: Slack's last retry of an event (`X-Slack-Retry-Num`).
LAST_RETRY = 3
#: How long a taken event id and a posted part are remembered: past Slack's retries (which
#: end within the hour) and the queue's redeliveries.
SEEN_TTL_S = 24 * 3600
#: Between two posts to one channel.
PACE_MS = 1000
#: A file larger than this is not fetched (the message's text still goes), as Telegram's
#: bots may fetch 20 MB.
FILE_MAX_BYTES = 20 * 1024 * 1024
#: Where a file may be fetched from with the bot token: Slack's file host (or the API's own
#: host, the stand-in's).
FILE_HOSTS = ("https://files.slack.com/",)

#: Reserves the next post slot of a channel: returns how many ms to wait for it.
_RESERVE_SLOT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < ms then slot = ms end
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + 60000)
return slot - ms
"""


class SlackAdapter(Adapter):
    channel = Channel.SLACK

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http: aiohttp.ClientSession | None = None
        self._router = APIRouter(tags=["slack"])
        self._router.add_api_route("/slack/events", self.events, methods=["POST"])
        self._router.add_api_route("/slack/interactivity", self.interactivity, methods=["POST"])
        self._reserve = self.context.redis.register_script(_RESERVE_SLOT)

    @property
    def router(self) -> APIRouter:
        return self._router

    async def start(self) -> None:
        self._http = client_session()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()

    # -- in ----------------------------------------------------------------------------------

    async def _signed_body(self, request: Request) -> bytes:
        body = await request.body()
        verify(
            self.context.settings.slack_signing_secret.get_secret_value(),
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            body,
            time.time(),
        )
        return body

    async def events(self, request: Request) -> Response:
        """Events API: the URL check, and the events of the app's subscriptions."""
        try:
            body = await self._signed_body(request)
        except BadSignature as exc:
            log.warning("slack_request_refused", reason=str(exc))
            return Response(status_code=401)
        envelope = _json(body)
        if envelope is None:
            return Response(status_code=400)
        if envelope.get("type") == "url_verification":
            return JSONResponse({"challenge": str(envelope.get("challenge", ""))})
        if envelope.get("type") != "event_callback":
            return Response(status_code=200)
        team, event_id = slack_id(envelope.get("team_id")), envelope.get("event_id")
        seen = None
        if team is not None and isinstance(event_id, str) and slack_id(event_id.upper()):
            seen = self.context.names.slack_event_seen(team, event_id)
            if await self.context.redis.exists(seen):
                log.info("slack_event_repeated", retry=request.headers.get("X-Slack-Retry-Num"))
                return Response(status_code=200)
        inbound = event_inbound(envelope)
        last = request.headers.get("X-Slack-Retry-Num", "") == str(LAST_RETRY)
        files = event_files(envelope)
        if inbound is not None and not await self._taken(inbound, files, last_try=last):
            return Response(status_code=500)
        if seen is not None:
            await self.context.redis.set(seen, "1", ex=SEEN_TTL_S)
        return Response(status_code=200)

    async def interactivity(self, request: Request) -> Response:
        """A press on one of our buttons (`payload`, form-encoded)."""
        try:
            body = await self._signed_body(request)
        except BadSignature as exc:
            log.warning("slack_request_refused", reason=str(exc))
            return Response(status_code=401)
        form = parse_qs(body.decode("utf-8", "replace"))
        payload = _json(form.get("payload", [""])[0].encode())
        if payload is None:
            return Response(status_code=400)
        press = pressed(payload)
        if press is not None and not await self._pressed(press):
            return Response(status_code=500)
        return Response(status_code=200)

    async def _pressed(self, press: Press) -> bool:
        """Hands the press to the intake (`Intake.press`: Yes, No and Cancel act there, any
        other button says its label); False when it could not take it in time."""
        try:
            async with asyncio.timeout(INTAKE_TIMEOUT_S):
                outcome = await self.context.intake.press(press.inbound, press.data, press.label)
        except Exception as exc:  # Slack delivers again: the intake's dedup keeps it once
            log.warning("slack_intake_failed", error=type(exc).__name__, exc_info=True)
            return False
        log.info("slack_press_in", outcome=outcome.value)
        return True

    async def _taken(
        self, inbound: Inbound, files: list[SlackFile] | None = None, *, last_try: bool = False
    ) -> bool:
        """Hands the message (with its files, fetched) to the intake; False when it could not
        take it in time."""
        try:
            async with asyncio.timeout(INTAKE_TIMEOUT_S):
                if files:
                    attachments = await self._attachments(files, inbound, last_try=last_try)
                    inbound = replace(inbound, attachments=attachments)
                    if not inbound.text and not attachments:
                        return True  # nothing it could read: Slack need not try again
                outcome = await self.context.intake.receive(inbound)
        except Exception as exc:  # Slack delivers again: the intake's dedup keeps it once
            log.warning("slack_intake_failed", error=type(exc).__name__, exc_info=True)
            return False
        log.info("slack_message_in", outcome=outcome.value, group=inbound.group)
        return True

    async def _attachments(
        self, files: list[SlackFile], inbound: Inbound, *, last_try: bool
    ) -> list[Attachment]:
        """The files that could be fetched within `FILES_TIMEOUT_S`; a fetch that fails or
        is too slow raises, unless Slack will not try again: then the message goes without."""
        found: list[Attachment] = []
        try:
            async with asyncio.timeout(FILES_TIMEOUT_S):
                for file in files:
                    attachment = await self._fetched(file, inbound)
                    if attachment is not None:
                        found.append(attachment)
        except (TimeoutError, OSError, aiohttp.ClientError):
            if not last_try:
                raise
            log.warning("slack_files_left_out", taken=len(found), shared=len(files))
        return found

    async def _fetched(self, file: SlackFile, inbound: Inbound) -> Attachment | None:
        """The file in the blob store (kept from an earlier delivery, or fetched now with the
        bot token); None for one that is too big, not on Slack's file host, or refused (the
        message goes without it). A fetch that fails for a while raises: Slack tries again."""
        base = self.context.settings.slack_api_base.rstrip("/")
        origin = base.rsplit("/api", 1)[0] + "/"
        if file.size > FILE_MAX_BYTES or not file.url.startswith((*FILE_HOSTS, origin)):
            log.info("slack_file_skipped", size=file.size, kind=file.kind.value)
            return None
        blob_id = f"slack:{inbound.account}:{file.id}"
        key = self.context.names.blob(blob_id)
        if not await self.context.redis.strlen(key):
            data = await self._download(file)
            if data is None:
                return None
            await BlobStore(self.context.redis, self.context.names).put(data, blob_id)
        return Attachment(
            kind=file.kind, blob_key=key, mime_type=file.mime_type, file_name=file.name,
            size=file.size,
        )  # fmt: skip

    async def _download(self, file: SlackFile) -> bytes | None:
        assert self._http is not None
        token = self.context.settings.slack_bot_token.get_secret_value()
        async with self._http.get(
            file.url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False,
            timeout=per_step(INTAKE_TIMEOUT_S),
        ) as response:  # fmt: skip
            if response.status >= 500:
                raise ConnectionError(f"slack file host: HTTP {response.status}")
            html = response.content_type == "text/html" and file.mime_type != "text/html"
            if response.status != 200 or html:  # a login page: the token lacks files:read
                log.warning("slack_file_refused", status=response.status, login_page=html)
                return None
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > FILE_MAX_BYTES:
                    return None
                chunks.append(chunk)
        return b"".join(chunks) or None

    # -- out ---------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        if not message.channel_chat_id or ":" not in message.channel_chat_id:
            raise Undeliverable("a Slack answer needs its channel_chat_id (team:channel)")
        assert self._http is not None  # the registry sends through started adapters only
        settings = self.context.settings
        api = SlackWebApi(
            self._http, settings.slack_api_base, settings.slack_bot_token.get_secret_value()
        )
        channel = slack_channel(message.channel_chat_id)
        thread = slack_ts(message.channel_thread_id)
        names, redis = self.context.names, self.context.redis
        for part, post in enumerate(messages(message.text, message.buttons)):
            posted = names.slack_posted(str(message.message_id), part)
            if await redis.exists(posted):
                continue  # sent before a later part failed: the retry goes on from there
            await self._paced(message.channel_chat_id)
            body: dict[str, Any] = {"channel": channel, "text": post.text, "blocks": post.blocks}
            if thread is not None:
                body["thread_ts"] = thread
            await api.call("chat.postMessage", body)
            await redis.set(posted, "1", ex=SEEN_TTL_S)

    async def _paced(self, channel_chat_id: str) -> None:
        """Waits for the channel's next post slot."""
        key = self.context.names.slack_pace(channel_chat_id)
        wait_ms = int(await self._reserve(keys=[key], args=[PACE_MS]))
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        found = json.loads(body)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
