"""A local WhatsApp Cloud API (Graph API) for tests and the demo.

Graph API, under `/{version}` with the bearer token (401, OAuthException 190, otherwise):
`POST /{phone_number_id}/messages` (text, interactive reply buttons, audio, template, and
`status: read`), checked against WhatsApp's limits (a body over 4096 characters, more than
three buttons or a title over 20, a template parameter with a line break: 400 with WhatsApp's
error code) and its 24-hour customer-service window (free text to someone whose last message
is older, or who never wrote: 400, code 131047); `POST /{phone_number_id}/media` (multipart
upload); `GET /{media_id}` (the media's URL) and the URL itself (the bytes, with the same
token).

As WhatsApp, it delivers webhooks: `deliver(payload)` POSTs a `whatsapp_business_account`
body signed with the app secret (`X-Hub-Signature-256`) to `webhook_url`, and delivers again
while the receiver does not answer 200. `message(...)` and the builders below make the
payloads; a message delivered opens its sender's window, `close_window` ages it.

Control (`/control/...`, JSON) and the same in-process: what was sent and marked read, forced
errors (`fail`: any status, WhatsApp's code, `Retry-After`, for the next N calls of a kind),
windows, and webhook delivery.

    python -m sandbox.whatsapp_api --port 8086 --webhook http://127.0.0.1:8005/whatsapp/webhook
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from sandbox.server import StandInServer

Json = dict[str, Any]

VERSION = "v21.0"
TEXT_LIMIT = 4096
BODY_LIMIT = 1024
TITLE_LIMIT = 20
ID_LIMIT = 256
PARAMETER_LIMIT = 1024
WINDOW_SECONDS = 24 * 3600
OUTSIDE_WINDOW = 131047
#: The business account's id in the webhooks.
WABA_ID = "102290129340398"
_TOO_MANY_SPACES = re.compile(r" {5,}")


@dataclass
class SentWa:
    """A message the business sent."""

    wamid: str
    to: str
    type: str
    body: Json
    at: float  # time.monotonic() of acceptance
    #: The audio's bytes, for an audio message.
    audio: bytes | None = None

    @property
    def text(self) -> str:
        """What the person reads: the text, an interactive message's body, the template's
        parameters."""
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.type == "template":
            parameters = self.body["template"]["components"][0]["parameters"]
            return " ".join(str(p.get("text", "")) for p in parameters)
        return ""

    @property
    def buttons(self) -> list[Json]:
        """An interactive message's reply buttons (`{"id", "title"}` each)."""
        if self.type != "interactive":
            return []
        return [b["reply"] for b in self.body["interactive"]["action"]["buttons"]]

    @property
    def template(self) -> str | None:
        return str(self.body["template"]["name"]) if self.type == "template" else None

    @property
    def reply_to(self) -> str | None:
        context = self.body.get("context")
        return str(context["message_id"]) if isinstance(context, dict) else None

    def as_record(self) -> Json:
        record = asdict(self)
        record["audio"] = None if self.audio is None else len(self.audio)
        return record


@dataclass
class ForcedError:
    """The next `times` calls of `kind` (`messages`, `read` (a message marked read), `media`,
    `media_info`, `download`; to `to`, if set), after the first `after`, fail with `status` and
    WhatsApp's `code`; or, with `stall`, get no answer at all while the stand-in runs."""

    kind: str
    status: int = 500
    code: int = 131000
    message: str = "Something went wrong"
    retry_after: float | None = None
    to: str | None = None
    times: int = 1
    #: Matching calls let through before the failures start.
    after: int = 0
    stall: bool = False

    def matches(self, kind: str, to: str | None) -> bool:
        if not (self.times > 0 and self.kind == kind and (self.to is None or self.to == to)):
            return False
        if self.after > 0:
            self.after -= 1
            return False
        return True


@dataclass
class StoredMedia:
    data: bytes
    mime_type: str
    uploaded: bool = False
    #: Whether `GET /{media_id}` says the file's size (WhatsApp's answer may leave it out).
    size_told: bool = True


@dataclass
class Delivery:
    """A webhook POST and what the receiver answered (0: no answer)."""

    payload: Json
    status: int
    attempt: int


class GraphApiError(Exception):
    def __init__(self, status: int, code: int, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self, retry_after: float | None = None) -> web.Response:
        error: Json = {"message": self.message, "type": "OAuthException", "code": self.code,
                       "fbtrace_id": secrets.token_hex(8)}  # fmt: skip
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        return web.json_response({"error": error}, status=self.status, headers=headers)


@dataclass
class WhatsAppStandIn(StandInServer):
    token: str = "wa-sandbox-token"
    phone_number_id: str = "106540352242922"
    app_secret: str = "wa-sandbox-app-secret"
    templates: set[str] = field(default_factory=lambda: {"reminder"})
    #: Where webhooks go (the channels service's `/whatsapp/webhook`).
    webhook_url: str | None = None
    #: Deliveries of one webhook before giving up, and the wait between them.
    attempts: int = 5
    retry_seconds: float = 0.2
    sent: list[SentWa] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    forced: list[ForcedError] = field(default_factory=list)
    #: When each person last wrote (time.monotonic()).
    windows: dict[str, float] = field(default_factory=dict)
    media: dict[str, StoredMedia] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1)

    thread_name = "whatsapp-stand-in"

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """`WHATSAPP_API_BASE`."""
        return f"{self.url}/{VERSION}"

    def settings(self, verify_token: str = "wa-verify", template: str = "reminder") -> Json:
        """The channels service's settings for this stand-in."""
        return {
            "WHATSAPP_TOKEN": self.token,
            "WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
            "WHATSAPP_APP_SECRET": self.app_secret,
            "WHATSAPP_VERIFY_TOKEN": verify_token,
            "WHATSAPP_API_BASE": self.api_base,
            "WHATSAPP_REMINDER_TEMPLATE": template,
        }

    # -- in-process control ------------------------------------------------------------------

    def sent_to(self, wa_id: str) -> list[SentWa]:
        return [m for m in list(self.sent) if m.to == wa_id]

    def fail(self, kind: str, **options: Any) -> ForcedError:
        forced = ForcedError(kind, **options)
        self.forced.append(forced)
        return forced

    def add_media(self, data: bytes, mime_type: str, *, size_told: bool = True) -> str:
        """A file a person sends: its media id."""
        media_id = str(10**15 + next(self._ids))
        self.media[media_id] = StoredMedia(data, mime_type, size_told=size_told)
        return media_id

    def close_window(self, wa_id: str) -> None:
        """As if `wa_id` last wrote more than 24 hours ago."""
        self.windows[wa_id] = time.monotonic() - WINDOW_SECONDS - 1

    def in_window(self, wa_id: str) -> bool:
        last = self.windows.get(wa_id)
        return last is not None and time.monotonic() - last < WINDOW_SECONDS

    def new_wamid(self) -> str:
        return "wamid.HBgL" + secrets.token_hex(12).upper()

    def message(self, wa_id: str, name: str, content: Json, *, wamid: str | None = None) -> Json:
        """The webhook body of one message from `wa_id` (`content`: `text(...)`, `button(...)`,
        `audio(...)`, `document(...)`, `image(...)`)."""
        raw = {"from": wa_id, "id": wamid or self.new_wamid(), "timestamp": str(int(time.time())),
               **content}  # fmt: skip
        value = {"contacts": [{"profile": {"name": name}, "wa_id": wa_id}], "messages": [raw]}
        return self.envelope(value)

    def status(self, wamid: str, status: str, to: str, errors: list[Json] | None = None) -> Json:
        """The webhook body of a delivery status of a message we were sent."""
        raw: Json = {"id": wamid, "status": status, "timestamp": str(int(time.time())),
                     "recipient_id": to}  # fmt: skip
        if errors:
            raw["errors"] = errors
        return self.envelope({"statuses": [raw]})

    def envelope(self, value: Json) -> Json:
        metadata = {"display_phone_number": "15550783881", "phone_number_id": self.phone_number_id}
        value = {"messaging_product": "whatsapp", "metadata": metadata, **value}
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}
            ],
        }

    def sign(self, body: bytes, secret: str | None = None) -> str:
        return "sha256=" + hmac_hex(secret if secret is not None else self.app_secret, body)

    async def deliver(
        self, payload: Json, *, signature: str | None = None, url: str | None = None
    ) -> list[Delivery]:
        """POST the webhook as WhatsApp does (again while the answer is not 200, up to
        `attempts`); a message's sender's window opens. The deliveries made."""
        target = url or self.webhook_url
        if target is None:
            raise RuntimeError("no webhook_url")
        for value in _values(payload):
            for message in value.get("messages", []):
                self.windows[str(message.get("from"))] = time.monotonic()
        body = json.dumps(payload, ensure_ascii=True).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": signature or self.sign(body)}  # fmt: skip
        made: list[Delivery] = []
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for attempt in range(1, self.attempts + 1):
                try:
                    async with http.post(target, data=body, headers=headers) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                made.append(Delivery(payload, status, attempt))
                if status == 200:
                    break
                await asyncio.sleep(self.retry_seconds)
        self.deliveries.extend(made)
        return made

    # -- the Graph API -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=128 * 1024 * 1024)
        app.router.add_get("/control/sent", self._control_sent)
        app.router.add_post("/control/fail", self._control_fail)
        app.router.add_post("/control/deliver", self._control_deliver)
        app.router.add_post("/control/window", self._control_window)
        app.router.add_get("/media-download/{media_id}", self._download)
        app.router.add_post(f"/{VERSION}/{{phone}}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{{phone}}/media", self._upload)
        app.router.add_get(f"/{VERSION}/{{media_id}}", self._media_info)
        return app

    async def _check(self, request: web.Request, kind: str, to: str | None = None) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise GraphApiError(401, 190, "Invalid OAuth access token - Cannot parse access token")
        phone = request.match_info.get("phone")
        if phone is not None and phone != self.phone_number_id:
            raise GraphApiError(400, 100, f"Unsupported post request: no object {phone!r}")
        for forced in self.forced:
            if forced.matches(kind, to):
                forced.times -= 1
                if forced.stall:  # until the stand-in stops (its leftover requests are cancelled)
                    await asyncio.Event().wait()
                raise _Forced(forced)

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        to = str(body.get("to")) if isinstance(body, dict) and body.get("to") else None
        reading = isinstance(body, dict) and body.get("status") == "read"
        try:
            await self._check(request, "read" if reading else "messages", to)
            if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
                raise GraphApiError(400, 100, "The parameter messaging_product is required.")
            if body.get("status") == "read":
                self.read.append(str(body.get("message_id")))
                return web.json_response({"success": True})
            sent = self._accepted(body, to)
        except GraphApiError as exc:
            return exc.response()
        except _Forced as forced:
            return forced.response()
        self.sent.append(sent)
        return web.json_response({
            "messaging_product": "whatsapp",
            "contacts": [{"input": sent.to, "wa_id": sent.to}],
            "messages": [{"id": sent.wamid}],
        })  # fmt: skip

    def _accepted(self, body: Json, to: str | None) -> SentWa:
        kind = body.get("type", "text")
        if not to:
            raise GraphApiError(400, 100, "The parameter to is required.")
        content = body.get(kind)
        if not isinstance(content, dict):
            raise GraphApiError(400, 100, f"The parameter {kind} is required.")
        audio = None
        if kind == "text":
            _text_body(content)
        elif kind == "interactive":
            _interactive(content)
        elif kind == "audio":
            media = self.media.get(str(content.get("id")))
            if media is None:
                raise GraphApiError(400, 131053, "Media upload error", "unknown media id")
            audio = media.data
        elif kind == "template":
            self._template(content)
        else:
            raise GraphApiError(400, 100, f"Invalid parameter: type {kind!r}")
        if kind != "template" and not self.in_window(to):
            raise GraphApiError(
                400, OUTSIDE_WINDOW, "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the "
                "customer last replied to this number.",
            )  # fmt: skip
        return SentWa(self.new_wamid(), to, kind, body, time.monotonic(), audio)

    def _template(self, content: Json) -> None:
        if content.get("name") not in self.templates:
            raise GraphApiError(404, 132001, "Template name does not exist in the translation")
        for component in content.get("components") or []:
            for parameter in component.get("parameters") or []:
                text = str(parameter.get("text", ""))
                if "\n" in text or "\t" in text or _TOO_MANY_SPACES.search(text):
                    raise GraphApiError(
                        400, 132018, "There was an issue with the parameters in your template.",
                        "Param text cannot have new-line/tab characters or more than 4 "
                        "consecutive spaces",
                    )  # fmt: skip
                if not text or len(text) > PARAMETER_LIMIT:
                    raise GraphApiError(400, 132005, "Translated text too long")

    async def _upload(self, request: web.Request) -> web.Response:
        try:
            await self._check(request, "media")
            form = await request.post()
            upload = form.get("file")
            if form.get("messaging_product") != "whatsapp" or not isinstance(upload, web.FileField):
                raise GraphApiError(400, 100, "The parameter file is required.")
            data = upload.file.read()
            mime = str(form.get("type") or upload.content_type)
        except GraphApiError as exc:
            return exc.response()
        except _Forced as forced:
            return forced.response()
        media_id = str(10**15 + next(self._ids))
        self.media[media_id] = StoredMedia(data, mime, uploaded=True)
        return web.json_response({"id": media_id})

    async def _media_info(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        try:
            await self._check(request, "media_info")
            media = self.media.get(media_id)
            if media is None:
                raise GraphApiError(400, 100, f"Unsupported get request: no object {media_id!r}")
        except GraphApiError as exc:
            return exc.response()
        except _Forced as forced:
            return forced.response()
        return web.json_response({
            "messaging_product": "whatsapp",
            "url": f"{self.url}/media-download/{media_id}",
            "mime_type": media.mime_type,
            "sha256": hashlib_hex(media.data),
            **({"file_size": len(media.data)} if media.size_told else {}),
            "id": media_id,
        })  # fmt: skip

    async def _download(self, request: web.Request) -> web.Response:
        try:
            await self._check(request, "download")
        except GraphApiError as exc:
            return exc.response()
        except _Forced as forced:
            return forced.response()
        media = self.media.get(request.match_info["media_id"])
        if media is None:
            return web.Response(status=404)
        return web.Response(body=media.data, content_type=media.mime_type.split(";")[0])

    # -- control API -------------------------------------------------------------------------

    async def _control_sent(self, _request: web.Request) -> web.Response:
        return web.json_response({
            "sent": [m.as_record() for m in self.sent], "read": self.read,
            "deliveries": [{"status": d.status, "attempt": d.attempt} for d in self.deliveries],
        })  # fmt: skip

    async def _control_fail(self, request: web.Request) -> web.Response:
        options = await request.json()
        self.fail(str(options.pop("kind")), **options)
        return web.json_response({"ok": True})

    async def _control_window(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("open", True):
            self.windows[str(body["wa_id"])] = time.monotonic()
        else:
            self.close_window(str(body["wa_id"]))
        return web.json_response({"ok": True})

    async def _control_deliver(self, request: web.Request) -> web.Response:
        made = await self.deliver(await request.json())
        return web.json_response([{"status": d.status, "attempt": d.attempt} for d in made])


class _Forced(Exception):
    def __init__(self, forced: ForcedError) -> None:
        super().__init__(forced.message)
        self.forced = forced

    def response(self) -> web.Response:
        f = self.forced
        return GraphApiError(f.status, f.code, f.message).response(f.retry_after)


def _text_body(content: Json) -> None:
    text = content.get("body")
    if not isinstance(text, str) or not text.strip():
        raise GraphApiError(400, 100, "The parameter text['body'] is required.")
    if len(text) > TEXT_LIMIT:
        raise GraphApiError(400, 100, f"Param text['body'] must be at most {TEXT_LIMIT} long.")


def _interactive(content: Json) -> None:
    if content.get("type") != "button":
        raise GraphApiError(400, 100, "Only reply buttons are served by the stand-in")
    body = (content.get("body") or {}).get("text")
    if not isinstance(body, str) or not body.strip() or len(body) > BODY_LIMIT:
        raise GraphApiError(400, 131009, f"Parameter value is not valid: body 1..{BODY_LIMIT}")
    buttons = (content.get("action") or {}).get("buttons") or []
    if not 1 <= len(buttons) <= 3:
        raise GraphApiError(400, 131009, "Parameter value is not valid: 1 to 3 buttons")
    replies = [b.get("reply") or {} for b in buttons]
    ids = [str(r.get("id", "")) for r in replies]
    titles = [str(r.get("title", "")) for r in replies]
    if any(not 0 < len(i) <= ID_LIMIT for i in ids) or len(set(ids)) != len(ids):
        raise GraphApiError(400, 131009, "Parameter value is not valid: button ids")
    if any(not 0 < len(t) <= TITLE_LIMIT for t in titles) or len(set(titles)) != len(titles):
        raise GraphApiError(400, 131009, "Parameter value is not valid: button titles")


def _values(payload: Json) -> list[Json]:
    return [
        change.get("value") or {}
        for entry in payload.get("entry", [])
        for change in entry.get("changes", [])
    ]


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hashlib_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- message contents, for `WhatsAppStandIn.message` -------------------------------------------


def text(body: str) -> Json:
    return {"type": "text", "text": {"body": body}}


def button(button_id: str, title: str, *, reply_to: str | None = None) -> Json:
    reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    content: Json = {"type": "interactive", "interactive": reply}
    if reply_to:
        content["context"] = {"from": "15550783881", "id": reply_to}
    return content


def audio(media_id: str, *, voice: bool = True, mime_type: str = "audio/ogg; codecs=opus") -> Json:
    return {"type": "audio", "audio": {"id": media_id, "mime_type": mime_type, "voice": voice}}


def document(media_id: str, filename: str, mime_type: str, caption: str | None = None) -> Json:
    content: Json = {"id": media_id, "filename": filename, "mime_type": mime_type}
    if caption:
        content["caption"] = caption
    return {"type": "document", "document": content}


def image(media_id: str, mime_type: str = "image/jpeg", caption: str | None = None) -> Json:
    content: Json = {"id": media_id, "mime_type": mime_type}
    if caption:
        content["caption"] = caption
    return {"type": "image", "image": content}


async def _serve(args: argparse.Namespace) -> None:
    api = WhatsAppStandIn(token=args.token, phone_number_id=args.phone_number_id,
                          app_secret=args.app_secret, webhook_url=args.webhook)  # fmt: skip
    await api.start(args.host, args.port)
    print(f"WhatsApp stand-in on {api.api_base}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8086)
    parser.add_argument("--token", default="wa-sandbox-token")
    parser.add_argument("--phone-number-id", default="106540352242922")
    parser.add_argument("--app-secret", default="wa-sandbox-app-secret")
    parser.add_argument("--webhook", default=None, help="the channels service's webhook URL")
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
