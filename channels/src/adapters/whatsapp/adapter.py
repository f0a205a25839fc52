"""The WhatsApp channel (Cloud API): its webhook in, the secretary's answers out.

In: `GET /whatsapp/webhook` answers Meta's verification handshake; `POST /whatsapp/webhook`
takes only bodies signed with the app secret (401 otherwise), hands each message to the
intake (a file fetched into the blob store first) and notes the delivery statuses of what we
sent. It answers 200 once everything is queued and 500 when it could not be (rest_service or
Redis down), so WhatsApp delivers again; the intake makes a second delivery queue nothing.
Each message is marked read afterwards, best effort.

Out: `send` turns an answer into WhatsApp messages (`layout.py`). A reminder outside the
24-hour customer-service window, which WhatsApp refuses as free text, goes out as the approved
template `WHATSAPP_REMINDER_TEMPLATE`: the window is known from the person's last message
here, and WhatsApp's own refusal (131047) is taken as the last word too."""

from __future__ import annotations

import asyncio
import hmac
import json
from datetime import timedelta

import aiohttp
from fastapi import APIRouter, Request, Response

from channels.src.adapters.base import Adapter, AdapterContext
from channels.src.adapters.whatsapp import layout
from channels.src.adapters.whatsapp.client import (
    CALL_SECONDS,
    OUTSIDE_WINDOW,
    GraphClient,
    GraphError,
    Json,
)
from channels.src.adapters.whatsapp.media import MediaIntake, Refused
from channels.src.adapters.whatsapp.webhook import WaMessage, WaStatus, parse, signature_valid
from channels.src.intake import Inbound
from common.features.blobs import BlobStore
from common.features.texts import TEXTS
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.http_client import client_session
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import OutgoingKind, OutgoingMessage

log = get_logger(__name__)

#: WhatsApp's customer-service window after a person's last message, less a margin for the
#: time an answer spends on its way.
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=5)
#: How long what we sent is remembered for its statuses, and a part as sent.
SENT_TTL_SECONDS = 8 * 24 * 3600
PART_TTL_SECONDS = 24 * 3600
#: The part numbers of an answer's speech and of its template, beside its text parts' 0, 1, ...:
#: a text part keeps its number whether or not the speech is still there to go before it.
VOICE_PART = -2
TEMPLATE_PART = -1
#: When WhatsApp limits us without saying for how long.
DEFAULT_RETRY_SECONDS = 5.0
#: Message types answered here rather than queued, and the text that answers them.
_NOT_READ = {"video": "nontext.video", "sticker": "nontext.sticker"}
#: Message types that need no answer at all (a reaction, a message WhatsApp says it deleted).
_SILENT = {"reaction", "system", "request_welcome", "ephemeral"}


class WhatsAppAdapter(Adapter):
    channel = Channel.WHATSAPP

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        settings = context.settings
        self._account = settings.whatsapp_phone_number_id.strip()
        self._secret = settings.whatsapp_app_secret.get_secret_value().encode()
        self._verify = settings.whatsapp_verify_token.get_secret_value()
        self._http: aiohttp.ClientSession | None = None
        #: The Graph API, from `start` on (the route is served only after it).
        self.graph: GraphClient
        self._blobs = BlobStore(context.redis, context.names)
        self._reading: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        settings = self.context.settings
        self._http = client_session(CALL_SECONDS)
        self.graph = GraphClient(
            self._http,
            settings.whatsapp_api_base,
            settings.whatsapp_token.get_secret_value(),
            self._account,
        )

    async def stop(self) -> None:
        for task in list(self._reading):
            task.cancel()
        await asyncio.gather(*self._reading, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    # -- the webhook -------------------------------------------------------------------------

    @property
    def router(self) -> APIRouter:
        router = APIRouter(prefix="/whatsapp", tags=["whatsapp"])
        router.add_api_route("/webhook", self.verify, methods=["GET"], include_in_schema=False)
        router.add_api_route("/webhook", self.webhook, methods=["POST"], include_in_schema=False)
        return router

    async def verify(self, request: Request) -> Response:
        """Meta's handshake when the webhook URL is set: the challenge back for our token."""
        query = request.query_params
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and _same(token, self._verify):
            return Response(query.get("hub.challenge", ""), media_type="text/plain")
        log.warning("whatsapp_verification_refused")
        return Response("forbidden", status_code=403, media_type="text/plain")

    async def webhook(self, request: Request) -> Response:
        body = await request.body()
        if not signature_valid(self._secret, body, request.headers.get("X-Hub-Signature-256")):
            log.warning("whatsapp_signature_refused", size=len(body))
            return Response("bad signature", status_code=401, media_type="text/plain")
        try:
            payload = json.loads(body)
        except ValueError:
            log.warning("whatsapp_webhook_unreadable", size=len(body))
            return Response("not JSON", status_code=400, media_type="text/plain")
        parsed = parse(payload)
        if parsed.skipped:
            log.info("whatsapp_webhook_items_skipped", skipped=parsed.skipped)
        try:
            for status in parsed.statuses:
                await self._noted(status)
            for message in parsed.messages:
                await self._received(message)
        except Exception:  # WhatsApp delivers again: nothing is lost, nothing queued twice
            log.exception("whatsapp_webhook_failed")
            return Response("try again", status_code=500, media_type="text/plain")
        return Response("ok", media_type="text/plain")

    async def _received(self, message: WaMessage) -> None:
        if message.account != self._account:
            log.warning("whatsapp_other_number", account=message.account[:40])
            return
        await self._window_opened(message)
        if message.type in _SILENT:
            return
        inbound = await self._inbound(message)
        if inbound is not None and message.button_id is not None:
            label = message.button_title or message.button_id
            await self.context.intake.press(inbound, message.button_id, label)
        elif inbound is not None:
            await self.context.intake.receive(inbound)
        self._mark_read(message.wamid)

    async def _inbound(self, message: WaMessage) -> Inbound | None:
        """The message for the intake; None when it was answered here instead."""
        attachments, text = [], message.text
        if message.media is not None:
            intake = MediaIntake(self.graph, self.context.redis, self.context.names)
            try:
                attachments = [await intake.stored(message)]
            except Refused as refused:
                await self._answer_here(message, refused.text_key, **refused.values)
                return None
        elif message.button_id is not None or message.button_title:
            # A press (`Intake.press` acts on Yes, No and Cancel; others say the title).
            text = message.button_title or message.button_id or ""
        elif message.type != "text":
            await self._answer_here(message, _NOT_READ.get(message.type, "nontext.other"))
            return None
        return Inbound(
            channel=Channel.WHATSAPP,
            account=message.account,
            message_id=message.wamid,
            chat_id=message.sender,
            sender_id=message.sender,
            text=text,
            first_name=message.name,
            sent_at=message.sent_at,
            attachments=attachments,
        )

    async def _answer_here(self, message: WaMessage, text_key: str, **values: object) -> None:
        """A short answer to what is not queued (a sticker, a file too big), once; one that
        cannot go for now raises, so the webhook's 500 brings the message again."""
        names = self.context.names
        first = await self.context.redis.set(
            names.whatsapp_answered(message.wamid), "1", nx=True, ex=SENT_TTL_SECONDS
        )
        if not first:
            return
        text = TEXTS.text(None, text_key, **values)
        try:
            await self.graph.send_message({"to": message.sender, **layout.messages(text, [])[0]})
        except GraphError as exc:
            if exc.transient or exc.token_refused:  # 500: WhatsApp's next delivery answers it
                await self.context.redis.delete(names.whatsapp_answered(message.wamid))
                raise
            log.warning("whatsapp_answer_failed", error=str(exc)[:300])

    async def _window_opened(self, message: WaMessage) -> None:
        """The person wrote: free text may go to them for 24 hours from their message."""
        sent_at = message.sent_at or utcnow()
        left = sent_at + WINDOW - WINDOW_MARGIN - utcnow()
        if left.total_seconds() >= 1:
            key = self.context.names.whatsapp_window(message.account, message.sender)
            await self.context.redis.set(key, sent_at.isoformat(), ex=int(left.total_seconds()))

    def _mark_read(self, wamid: str) -> None:
        task = asyncio.create_task(self._read(wamid), name="whatsapp-mark-read")
        self._reading.add(task)
        task.add_done_callback(self._reading.discard)

    async def _read(self, wamid: str) -> None:
        try:
            await self.graph.mark_read(wamid)
        except GraphError as exc:  # best effort: the blue ticks are a courtesy
            log.info("whatsapp_mark_read_failed", error=str(exc)[:200])

    async def _noted(self, status: WaStatus) -> None:
        """A status of something we sent: kept beside our answer's id, and logged."""
        redis, key = self.context.redis, self.context.names.whatsapp_sent(status.wamid)
        answer = await redis.hget(key, "message_id")
        if answer is not None:
            errors = "; ".join(status.errors)
            await redis.hset(key, mapping={"status": status.status, "errors": errors})
        shown = answer.decode() if isinstance(answer, bytes) else answer
        if status.status != "failed":
            log.info("whatsapp_status", message_id=shown, status=status.status)
            return
        log.warning("whatsapp_message_failed", message_id=shown, wamid=status.wamid[:120],
                    errors=list(status.errors))  # fmt: skip
        if any(e.startswith(f"{OUTSIDE_WINDOW}:") for e in status.errors):
            await self._reminder_refused_late(key, status)

    async def _reminder_refused_late(self, key: str, status: WaStatus) -> None:
        """WhatsApp took a reminder and then reported it outside the window (131047 as a
        status): our note of the window was wrong; the reminder goes again as the template."""
        redis = self.context.redis
        found = await redis.hmget(key, ["message_id", "to", "reminder", "templated"])
        message_id, to, text, templated = (_text(v) for v in found)
        if to:
            await redis.delete(self.context.names.whatsapp_window(self._account, to))
        if not (message_id and to and text) or templated:
            return
        try:
            await self._send_template(message_id, text, to)
        except Undeliverable as exc:
            log.warning("whatsapp_template_refused", message_id=message_id, reason=str(exc))
        await redis.hset(key, "templated", "1")

    # -- sending -----------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        to = message.channel_chat_id
        assert to, "OutgoingMessage requires channel_chat_id for every channel but Telegram"
        reminder = message.kind is OutgoingKind.NOTIFICATION
        if reminder and not await self._in_window(to):
            await self._send_template(str(message.message_id), message.text, to)
            return
        try:
            await self._send_free(message, to)
        except GraphError as exc:
            if exc.code == OUTSIDE_WINDOW and reminder:
                await self._send_template(str(message.message_id), message.text, to)
                return
            raise _failure(exc) from exc

    async def _in_window(self, to: str) -> bool:
        return bool(
            await self.context.redis.exists(self.context.names.whatsapp_window(self._account, to))
        )

    async def _send_free(self, message: OutgoingMessage, to: str) -> None:
        text = layout.messages(message.text, message.buttons) if message.text.strip() else []
        parts = list(enumerate(text))
        audio = None
        if message.voice_blob_key is not None:
            audio = await self._blobs.get(message.voice_blob_key)
            if audio is not None:
                parts.insert(0, (VOICE_PART, {"type": "audio"}))
            else:  # expired (kept for BlobStore's TTL) while the answer waited for a retry
                log.warning("voice_missing_sent_as_text", blob_key=message.voice_blob_key)
        if not parts:
            log.info("whatsapp_nothing_to_send", message_id=str(message.message_id))
            return
        reply_to = message.reply_to_channel_message_id
        for position, (index, body) in enumerate(parts):
            if reply_to and position == 0:
                body = {**body, "context": {"message_id": reply_to}}
            await self._send_part(message, index, to, body, audio)
        if message.voice_blob_key is not None:
            await self._blobs.delete(message.voice_blob_key)

    async def _send_part(
        self, message: OutgoingMessage, index: int, to: str, body: Json, audio: bytes | None
    ) -> None:
        """One message of an answer, once: a retried answer sends only what did not go. An
        audio part uploads the speech (`audio`) first."""
        names, redis = self.context.names, self.context.redis
        done = names.whatsapp_part(str(message.message_id), index)
        if await redis.exists(done):
            return
        if body["type"] == "audio" and audio is not None:
            media_id = await self.graph.upload(audio, "audio/ogg", "answer.ogg")
            body = {**body, "audio": {"id": media_id}}
        wamid = await self.graph.send_message({"to": to, **body})
        await redis.set(done, wamid, ex=PART_TTL_SECONDS)
        # A reminder's first message keeps its text: should WhatsApp report it outside the
        # window later, it goes again as the template.
        reminder = index == 0 and message.kind is OutgoingKind.NOTIFICATION
        remembered = {"to": to, "reminder": message.text[:4096]} if reminder else {}
        await self._sent(wamid, str(message.message_id), remembered)

    async def _sent(self, wamid: str, message_id: str, more: dict[str, str] | None = None) -> None:
        key = self.context.names.whatsapp_sent(wamid)
        fields = {"message_id": message_id, "status": "accepted", "errors": "", **(more or {})}
        await self.context.redis.hset(key, mapping=fields)  # type: ignore[arg-type]
        await self.context.redis.expire(key, SENT_TTL_SECONDS)

    async def _send_template(self, message_id: str, text: str, to: str) -> None:
        """The reminder as the approved template: WhatsApp sends nothing else outside the
        window."""
        setting = self.context.settings.whatsapp_reminder_template.strip()
        if not setting:
            raise Undeliverable(
                "outside WhatsApp's 24-hour window, and WHATSAPP_REMINDER_TEMPLATE is not set"
            )
        body = layout.template(setting, layout.template_parameter(text))
        names, redis = self.context.names, self.context.redis
        done = names.whatsapp_part(message_id, TEMPLATE_PART)
        if await redis.exists(done):
            return
        try:
            wamid = await self.graph.send_message({"to": to, **body})
        except GraphError as exc:
            raise _failure(exc) from exc
        await redis.set(done, wamid, ex=PART_TTL_SECONDS)
        await self._sent(wamid, message_id)
        log.info("whatsapp_template_sent", message_id=message_id)


def _failure(exc: GraphError) -> Exception:
    """What the queue does with a refused send: wait and try again, or give up saying why."""
    if exc.transient:
        return RetryLater(exc.retry_after or DEFAULT_RETRY_SECONDS, f"WhatsApp: {exc}")
    if exc.code == OUTSIDE_WINDOW:
        return Undeliverable(f"outside WhatsApp's 24-hour window: {exc.message}")
    return Undeliverable(f"WhatsApp refused the message: {exc}")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
