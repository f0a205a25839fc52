"""Files for the public API's messages: uploaded first (`POST /api/v1/files`, the raw bytes as
the body) and named by id, or fetched from a URL the message gives. Either way the bytes go to
the blob store for the turn, as every channel's files do (`common/features/blobs.py`), within
API_ATTACHMENT_MAX_BYTES; a URL is fetched only from public addresses unless
API_ATTACHMENT_ALLOW_PRIVATE_ADDRESSES says otherwise (the SSRF rule of every outgoing call)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import aiohttp
from fastapi import Request
from yarl import URL

from channels.src.adapters.api.schemas import FileOut, FileRef
from channels.src.adapters.base import AdapterContext
from channels.src.adapters.files import attachment_kind
from common.features.blobs import DEFAULT_TTL_SECONDS, BlobStore
from common.infrastructure.address_guard import guarded_session
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import FieldError, ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Attachment
from common.infrastructure.wire import ApiClient

log = get_logger(__name__)

DEFAULT_TYPE = "application/octet-stream"
READ_CHUNK = 64 * 1024
MAX_REDIRECTS = 3


def refused(field: str, reason: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])


class ApiFiles:
    def __init__(self, context: AdapterContext) -> None:
        self.context = context
        self.blobs = BlobStore(context.redis, context.names)
        self.max_bytes = context.settings.api_attachment_max_bytes

    async def upload(self, client: ApiClient, request: Request, name: str | None) -> FileOut:
        """The request's body as a file of the client's, kept for a message to name it."""
        data = bytearray()
        async for piece in request.stream():
            data += piece  # the body limit (main.py) stops a body over the maximum
        if not data:
            raise refused("body", "an empty file")
        file_id = f"file-{uuid.uuid4().hex}"
        mime = (request.headers.get("content-type") or DEFAULT_TYPE).split(";")[0].strip()
        key = await self._store(client, bytes(data), f"api:{client.id}:{file_id}")
        meta = {"client": str(client.id), "blob": key, "mime": mime, "name": name}
        names, redis = self.context.names, self.context.redis
        await redis.set(names.api_file(file_id), json.dumps(meta), ex=DEFAULT_TTL_SECONDS)
        expires = utcnow() + timedelta(seconds=DEFAULT_TTL_SECONDS)
        return FileOut(
            id=file_id, bytes=len(data), mime_type=mime, file_name=name, expires_at=expires
        )

    async def attachments(
        self, client: ApiClient, message_id: str, refs: list[FileRef]
    ) -> list[Attachment]:
        """The message's files as the queue carries them; a 422 naming the one that is not
        this client's, gone, unreachable or too large."""
        found = []
        for index, ref in enumerate(refs):
            field = f"attachments.{index}"
            if ref.file_id is not None:
                found.append(await self._uploaded(client, ref, field))
            else:
                found.append(await self._fetched(client, ref, f"{message_id}:{index}", field))
        return found

    async def _uploaded(self, client: ApiClient, ref: FileRef, field: str) -> Attachment:
        raw = await self.context.redis.get(self.context.names.api_file(ref.file_id or ""))
        meta = json.loads(raw) if raw else None
        if meta is None or meta["client"] != str(client.id):
            raise refused(f"{field}.file_id", "no such file (a file is kept 30 minutes)")
        mime = ref.mime_type or meta["mime"]
        size = await self.blobs.size(meta["blob"])
        name = ref.file_name or meta["name"]
        blob = meta["blob"]
        kind = attachment_kind(mime)
        return Attachment(kind=kind, blob_key=blob, mime_type=mime, file_name=name, size=size)

    async def _fetched(
        self, client: ApiClient, ref: FileRef, blob_id: str, field: str
    ) -> Attachment:
        url = ref.url or ""
        data, served_type = await self._download(url, f"{field}.url")
        mime = ref.mime_type or served_type or DEFAULT_TYPE
        key = await self._store(client, data, f"api:{blob_id}")
        name = ref.file_name or URL(url).name or None
        kind = attachment_kind(mime)
        return Attachment(kind=kind, blob_key=key, mime_type=mime, file_name=name, size=len(data))

    async def _download(self, url: str, field: str) -> tuple[bytes, str | None]:
        settings = self.context.settings
        session = guarded_session(
            settings.api_attachment_timeout_seconds,
            allow_private=settings.api_attachment_allow_private_addresses,
        )
        try:
            async with session, session.get(url, max_redirects=MAX_REDIRECTS) as response:
                if response.status != 200:
                    raise refused(field, f"the URL answered HTTP {response.status}")
                data = bytearray()
                async for piece in response.content.iter_chunked(READ_CHUNK):
                    data += piece
                    if len(data) > self.max_bytes:
                        raise refused(field, f"the file is over {self.max_bytes} bytes")
                return bytes(data), response.content_type if response.content_type else None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("api_attachment_unreachable", error=type(exc).__name__)
            raise refused(field, f"the URL cannot be fetched ({str(exc)[:200]})") from exc

    async def _store(self, client: ApiClient, data: bytes, blob_id: str) -> str:
        """In the blob store (a full Redis is the app's 503, as any Redis outage)."""
        return await self.blobs.put(data, blob_id, owner=f"api:{client.id}")
