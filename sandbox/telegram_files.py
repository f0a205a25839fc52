"""Files in the Telegram stand-in: `getFile`, downloads from `/file/bot<token>/<file_path>`,
`sendVoice` and `sendPhoto` (multipart uploads, as PTB and every client send them).

A test registers the bytes a person "sent" with `register(...)` and puts the returned
file_id into the update it injects; the bot then fetches them the way it fetches from
Telegram. As on Telegram, getFile refuses a file over 20 MB (a bot cannot download it), and
an unknown file_id is a 400. A voice or a photo the bot sends is kept with its caption in
`sent`; a photo that is not a picture is refused as Telegram refuses it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sandbox.telegram_errors import BotApiError, int_or_none
from sandbox.telegram_html import utf16_len

if TYPE_CHECKING:
    from sandbox.telegram_api import TelegramStandIn

Json = dict[str, Any]

#: What a bot may download through the Bot API.
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_CAPTION = 1024
_FOLDERS = {"voice": "voice", "audio": "music", "photo": "photos", "document": "documents"}


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None

    def as_file(self) -> Json:
        """The Bot API File object (what getFile answers)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class Files:
    api: TelegramStandIn
    stored: dict[str, StoredFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)

    def methods(self) -> dict[str, Any]:
        return {
            "getfile": self._get_file,
            "sendvoice": self._send_voice,
            "sendphoto": self._send_photo,
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)

    def register(
        self,
        data: bytes,
        *,
        kind: str = "document",
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> Json:
        """Keep `data` as a file Telegram holds; returns its File object (file_id,
        file_unique_id, file_size, file_path) to put into a message of that kind."""
        unique = uuid.uuid4().hex[:16]
        suffix = (file_name or "").rsplit(".", 1)[-1] if file_name and "." in file_name else "bin"
        path = f"{_FOLDERS.get(kind, 'documents')}/file_{len(self.stored)}.{suffix}"
        stored = StoredFile(f"{kind}-{unique}", unique, path, bytes(data), mime_type)
        self.stored[stored.file_id] = stored
        return stored.as_file()

    def reset(self) -> None:
        self.stored.clear()
        self.downloads.clear()

    # -- Bot API -------------------------------------------------------------------------------

    async def _get_file(self, params: Json) -> Json:
        found = self.stored.get(str(params.get("file_id") or ""))
        if found is None:
            raise BotApiError(400, "Bad Request: invalid file_id")
        if len(found.data) > MAX_DOWNLOAD:
            raise BotApiError(400, "Bad Request: file is too big")
        return found.as_file()

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.api.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        path = request.match_info["file_path"]
        found = next((f for f in self.stored.values() if f.file_path == path), None)
        if found is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        self.downloads.append(path)
        return web.Response(
            body=found.data, content_type=found.mime_type or "application/octet-stream"
        )

    async def _send_voice(self, params: Json) -> Json:
        data = await self._upload(params.get("voice"))
        voice_file = self.register(data, kind="voice", mime_type="audio/ogg")
        return self._sent(params, voice=data, voice_file_id=voice_file["file_id"])

    async def _send_photo(self, params: Json) -> Json:
        data = await self._upload(params.get("photo"))
        if not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"GIF8", b"RIFF")):
            raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        photo_file = self.register(data, kind="photo", mime_type="image/png")
        return self._sent(params, photo=data, photo_file_id=photo_file["file_id"])

    def _sent(self, params: Json, **media: Any) -> Json:
        """A media message with its caption, kept in `sent`."""
        from sandbox.telegram_api import SentMessage  # that module imports this one

        api = self.api
        chat_id = api._chat_id(params)
        caption_source = str(params.get("caption") or "")
        caption, entities = api._parse(caption_source, params.get("parse_mode"))
        if utf16_len(caption) > MAX_CAPTION:
            raise BotApiError(400, "Bad Request: message caption is too long")
        sent = SentMessage(
            api._next_message_id(chat_id), chat_id, caption, caption_source,
            params.get("parse_mode"), entities, api._reply_to(params),
            time.monotonic(), time.time(), int_or_none(params.get("message_thread_id")),
            reply_markup=api._markup(params), **media,
        )  # fmt: skip
        api.sent.append(sent)
        return sent.as_message(api.bot)

    async def _upload(self, value: Any) -> bytes:
        """The file as uploaded (a multipart file part), or a file_id Telegram holds."""
        if isinstance(value, web.FileField):
            data = value.file.read()
        elif isinstance(value, (bytes, bytearray)):
            data = bytes(value)
        elif isinstance(value, str) and value in self.stored:
            data = self.stored[value].data
        else:
            raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not data:
            raise BotApiError(400, "Bad Request: file must be non-empty")
        return data
