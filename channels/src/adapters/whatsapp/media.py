"""A file a person sent in WhatsApp, for the assistant: its URL asked of the Graph API by the
media id, its bytes fetched with the same token, kept in the blob store under an id of the
number and the media (a redelivered webhook stores it once) within the senders' budget.

A failure WhatsApp may get over (no answer, a 5xx, a limit) raises, so the webhook answers
500 and WhatsApp delivers the message again; a file that can never be taken (too big, over
the budget, gone) is `Refused`, with the text the person is answered with."""

from __future__ import annotations

import redis.asyncio as aioredis

from channels.src.adapters.whatsapp.client import GraphClient, GraphError
from channels.src.adapters.whatsapp.webhook import Media, WaMessage
from common.features.blobs import BlobBudget, BlobStore, OverBudget, RedisFull
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Attachment, AttachmentKind
from common.infrastructure.redis_keys import Names

log = get_logger(__name__)

#: What the assistant takes in (WhatsApp's own limits are larger: 100 MB for a document).
FILE_MAX_BYTES = 20 * 1024 * 1024
#: A sender's files waiting for their turns, and everyone's (as tg_bot's defaults).
BUDGET = BlobBudget(64 * 1024 * 1024, 256 * 1024 * 1024)
_KINDS = {"image": AttachmentKind.PHOTO, "document": AttachmentKind.DOCUMENT}


class Refused(Exception):
    """The file is not taken; `text_key` (with `values`) tells the person why."""

    def __init__(self, text_key: str, **values: object) -> None:
        super().__init__(text_key)
        self.text_key = text_key
        self.values = values


def kind_of(message: WaMessage, media: Media) -> AttachmentKind:
    if message.type == "audio":
        return AttachmentKind.VOICE if media.voice else AttachmentKind.AUDIO
    return _KINDS[message.type]


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MB"


class MediaIntake:
    def __init__(
        self, graph: GraphClient, redis: aioredis.Redis, names: Names, budget: BlobBudget = BUDGET
    ) -> None:
        self._graph = graph
        self._redis = redis
        self._names = names
        self._blobs = BlobStore(redis, names, budget=budget)

    async def stored(self, message: WaMessage) -> Attachment:
        media = message.media
        assert media is not None
        blob_id = f"wa:{message.account}:{media.id}"
        key = self._names.blob(blob_id)
        size = int(await self._redis.strlen(key))
        mime_type = media.mime_type
        if not size:
            key, size, mime_type = await self._fetched(message, media, blob_id)
        return Attachment(
            kind=kind_of(message, media),
            blob_key=key,
            mime_type=(mime_type or "").split(";")[0].strip() or None,
            file_name=media.file_name,
            size=size,
        )

    async def _fetched(
        self, message: WaMessage, media: Media, blob_id: str
    ) -> tuple[str, int, str | None]:
        try:
            info = await self._graph.media_info(media.id)
            if (info.file_size or 0) > FILE_MAX_BYTES:
                raise Refused("media.too_big", limit=megabytes(FILE_MAX_BYTES))
            data = await self._graph.download(info.url, FILE_MAX_BYTES)
            if not data:
                raise Refused("media.unreadable")
            key = await self._blobs.put(data, blob_id, owner=f"whatsapp:{message.sender}")
        except GraphError as exc:
            if exc.token_refused:  # the file waits for WhatsApp's next delivery of it
                log.error("whatsapp_token_refused", call="media", error=str(exc)[:300])
                raise
            log.warning("whatsapp_media_failed", error=str(exc)[:300], transient=exc.transient)
            if exc.transient:
                raise
            if exc.status == 413:
                raise Refused("media.too_big", limit=megabytes(FILE_MAX_BYTES)) from exc
            raise Refused("media.download_failed") from exc
        except (OverBudget, RedisFull) as exc:
            if isinstance(exc, OverBudget) and exc.scope == "user":
                raise Refused("media.over_budget", limit=megabytes(exc.limit)) from exc
            raise Refused("media.storage_full") from exc  # everyone's budget, or Redis, is full
        return key, len(data), media.mime_type or info.mime_type
