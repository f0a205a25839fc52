"""The web chat: a page served at `/chat`, a script any site embeds (`/chat/embed.js`), a
visitor known by a signed cookie, answers that stream in as the secretary writes them.

A visitor's conversation is a Redis stream of its own (`Names.web_chat`): what they said, the
drafts of an answer being written and the answers, each entry an event the page's
`EventSource` reads from `/chat/events` (from the last it saw, so a reload or a dropped
connection misses nothing). Sending is adding the answer to that stream, once per answer id.
The words a visitor sends go through the intake as every channel's do: one person across
linked channels, the same limits, a message queued once (its id is the page's own, so a
retried POST is the same message)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Body, Cookie, Header, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from itsdangerous import BadSignature, TimestampSigner
from markdown_it import MarkdownIt
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from channels.src.adapters.base import Adapter, AdapterContext
from channels.src.adapters.web_drafts import read_entries
from channels.src.intake import Inbound, Received
from common.features.blobs import BlobStore
from common.infrastructure.channels import Channel
from common.infrastructure.errors import RetryLater, UnauthorizedError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Button, DraftMessage, OutgoingMessage

log = get_logger(__name__)

COOKIE = "sa_chat"
#: A visitor stays the same person for a year of not clearing their cookies.
COOKIE_MAX_AGE_S = 365 * 24 * 3600
#: What one message may say (Telegram's limit, so a person writes the same everywhere).
TEXT_MAX = 4096
#: A conversation's stream keeps about this many events and lives this long after the last.
EVENTS_KEPT = 500
EVENTS_TTL_S = 30 * 24 * 3600
#: How long `/chat/events` waits for news before a keep-alive comment.
HEARTBEAT_S = 15.0
#: Where the page reads from when it saw nothing yet: the whole kept conversation.
FROM_START = "0-0"

#: Raw HTML off (shown as text), pictures off (a remote image in an answer would tell a
#: stranger the visitor read it), ~~strikethrough~~ on.
_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "breaks": True})
    .enable("strikethrough")
    .disable("image")
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_MARKDOWN.validateLink = lambda url: url.strip().lower().startswith(_SAFE_SCHEMES)  # type: ignore[method-assign]
_STATIC = files("channels.src.adapters").joinpath("web_static")


def to_html(markdown: str) -> str:
    """The model's Markdown as safe HTML: raw HTML is shown as text, and a link opens only
    http, https and mailto (any other scheme stays text)."""
    return str(_MARKDOWN.render(markdown))


class Said(BaseModel):
    """`POST /chat/messages`."""

    text: str = Field(min_length=1, max_length=TEXT_MAX)
    #: The page's own id of the message: a retried POST is the same message.
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=8, max_length=64)


class Pressed(BaseModel):
    """`POST /chat/press`: a button under an answer."""

    data: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=64)
    #: The press's own id (a retried POST is the same press).
    id: str = Field(min_length=8, max_length=64)


def _button(button: Button) -> dict[str, str]:
    return {"text": button.text, "url": button.url} if button.url else {
        "text": button.text, "data": button.data or ""
    }  # fmt: skip


class WebChatAdapter(Adapter):
    channel: ClassVar[Channel] = Channel.WEB
    shows_drafts: ClassVar[bool] = True

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        secret = context.settings.web_chat_secret.get_secret_value()
        self._signer = TimestampSigner(secret, salt="smart-assistant.web-chat")
        self._blobs = BlobStore(context.redis, context.names)

    # --- the visitor ----------------------------------------------------------------------

    def visitor_of(self, cookie: str | None) -> str | None:
        """The visitor a cookie names, if we signed it (and not over a year ago)."""
        if not cookie:
            return None
        try:
            return self._signer.unsign(cookie, max_age=COOKIE_MAX_AGE_S).decode()
        except BadSignature:
            return None

    def _keep_cookie(self, response: Response, visitor: str, request: Request) -> None:
        secure = request.url.scheme == "https"
        response.set_cookie(
            COOKIE,
            self._signer.sign(visitor).decode(),
            max_age=COOKIE_MAX_AGE_S,
            httponly=True,
            secure=secure,
            # Embedded in another site's page (an iframe) the cookie is a third party's.
            samesite="none" if secure else "lax",
            path="/chat",
        )

    def _events(self, visitor: str) -> str:
        return self.context.names.web_chat(visitor)

    async def _add(self, visitor: str, kind: str, body: dict[str, Any]) -> None:
        redis, key = self.context.redis, self._events(visitor)
        async with redis.pipeline(transaction=True) as pipe:
            body_json = json.dumps(body, ensure_ascii=False)
            pipe.xadd(key, {"kind": kind, "body": body_json}, maxlen=EVENTS_KEPT)
            pipe.expire(key, EVENTS_TTL_S)
            await pipe.execute()

    # --- routes ---------------------------------------------------------------------------

    @property
    def router(self) -> APIRouter:
        router = APIRouter(prefix="/chat", tags=["web chat"])
        router.add_api_route("", self.page, methods=["GET"], response_class=HTMLResponse)
        router.add_api_route("/embed.js", self.embed, methods=["GET"])
        router.add_api_route("/chat.js", self.script, methods=["GET"])
        router.add_api_route("/messages", self.said, methods=["POST"], status_code=202)
        router.add_api_route("/press", self.pressed, methods=["POST"], status_code=202)
        router.add_api_route("/events", self.events, methods=["GET"])
        return router

    async def page(
        self, request: Request, sa_chat: Annotated[str | None, Cookie()] = None
    ) -> HTMLResponse:
        """The chat page; a new visitor gets their cookie here."""
        response = HTMLResponse(_STATIC.joinpath("chat.html").read_text(encoding="utf-8"))
        self._keep_cookie(response, self.visitor_of(sa_chat) or uuid.uuid4().hex, request)
        return response

    async def embed(self, request: Request) -> Response:
        """A script a site includes to show the chat in a corner of its pages."""
        script = _STATIC.joinpath("embed.js").read_text(encoding="utf-8")
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return Response(
            script.replace("__CHAT_URL__", json.dumps(f"{origin}/chat")),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def script(self) -> Response:
        script = _STATIC.joinpath("chat.js").read_text(encoding="utf-8")
        return Response(script, media_type="text/javascript")

    def _visitor(self, cookie: str | None) -> str:
        visitor = self.visitor_of(cookie)
        if visitor is None:
            raise UnauthorizedError("no chat session: open /chat first")
        return visitor

    async def said(
        self, said: Annotated[Said, Body()], sa_chat: Annotated[str | None, Cookie()] = None
    ) -> dict[str, str]:
        """The visitor's words: shown in their conversation and queued for the secretary."""
        visitor = self._visitor(sa_chat)
        received = await self.context.intake.receive(self._inbound(visitor, said.id, said.text))
        if received in {Received.QUEUED, Received.ANSWERED}:
            await self._add(visitor, "you", {"id": said.id, "text": said.text})
        return {"status": received.value}

    async def pressed(
        self, press: Annotated[Pressed, Body()], sa_chat: Annotated[str | None, Cookie()] = None
    ) -> dict[str, str]:
        """A button: a Yes under a held tool call runs it; any other says its label."""
        visitor = self._visitor(sa_chat)
        received = await self.context.intake.press(
            self._inbound(visitor, press.id, ""), press.data, press.label
        )
        if received in {Received.QUEUED, Received.ANSWERED}:
            await self._add(visitor, "you", {"id": press.id, "text": press.label})
        return {"status": received.value}

    @staticmethod
    def _inbound(visitor: str, message_id: str, text: str) -> Inbound:
        return Inbound(
            channel=Channel.WEB,
            account="web",
            message_id=message_id,
            chat_id=visitor,
            sender_id=visitor,
            text=text,
        )

    async def events(
        self,
        request: Request,
        sa_chat: Annotated[str | None, Cookie()] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Server-sent events: the conversation from after the last event the page saw."""
        visitor = self._visitor(sa_chat)
        after = last_event_id if _is_entry_id(last_event_id) else FROM_START
        return StreamingResponse(
            self._stream(request, visitor, after or FROM_START),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request, visitor: str, after: str) -> AsyncIterator[str]:
        key = self._events(visitor)
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            try:
                found = await self.context.redis.xread(
                    {key: after}, count=100, block=int(HEARTBEAT_S * 1000)
                )
            except RedisError:
                log.warning("web_chat_events_unavailable")
                return  # the page reconnects (retry) from the last event it saw
            entries = read_entries(found)
            if not entries:
                yield ": still here\n\n"
                continue
            for entry_id, fields in entries:
                after = _text(entry_id)
                kind, body = _text(fields[b"kind"]), _text(fields[b"body"])
                yield f"id: {after}\nevent: {kind}\ndata: {body}\n\n"

    # --- answers --------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        """The answer into the visitor's conversation, once (the page drops a repeat by id)."""
        visitor = message.channel_chat_id or ""
        sent = self.context.names.web_chat_sent(str(message.message_id))
        try:
            if await self.context.redis.exists(sent):
                return
            body = {
                "id": str(message.message_id),
                "kind": message.kind.value,
                "html": to_html(message.text),
                "buttons": [[_button(b) for b in row] for row in message.buttons],
            }
            picture = await self._picture(message.photo_blob_key)
            if picture is not None:
                body["picture"] = picture
            await self._add(visitor, "answer", body)
            await self.context.redis.set(sent, "1", ex=EVENTS_TTL_S)
            if message.photo_blob_key is not None:
                await self._blobs.delete(message.photo_blob_key)
        except RedisError as exc:
            raise RetryLater(1.0, f"redis: {exc}") from exc

    async def _picture(self, key: str | None) -> str | None:
        """A picture drawn, as a data URL the page shows in an <img> (kept with the
        conversation, so a reload shows it again); None when there is none or it expired."""
        data = await self._blobs.get(key) if key is not None else None
        if not data:
            return None
        return f"data:image/png;base64,{base64.b64encode(data).decode()}"

    async def show_draft(self, draft: DraftMessage) -> None:
        """The answer so far (or what the secretary is doing), replacing the last draft."""
        body = {
            "id": str(draft.message_id),
            "seq": draft.seq,
            "html": to_html(draft.text) if draft.text else "",
            "status": draft.status,
        }
        await self._add(draft.channel_chat_id or "", "draft", body)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _is_entry_id(value: str | None) -> bool:
    if not value or len(value) > 40:
        return False
    head, _, tail = value.partition("-")
    return head.isdigit() and tail.isdigit()
