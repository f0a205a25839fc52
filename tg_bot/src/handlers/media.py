"""Voice messages, audio, photos and documents for the assistant.

Limits are checked from what the message says about the file before anything is fetched
(a voice message longer than VOICE_MAX_SECONDS, a document over DOCUMENT_MAX_BYTES, any file
over FILE_MAX_BYTES, which is what a bot may download), and again from what getFile and the
download say. Within them the file is fetched (getFile, then the file URL) during routing,
before the offset moves, and kept in the blob store under an id derived from the bot, the
update and the file, so a redelivered update stores it once; the queued message carries only
the blob's key. A download that fails for a while is tried again with the whole batch (as
when Redis is down), up to `DOWNLOAD_ATTEMPTS`, then answered with an apology; a file
Telegram refuses is answered with an apology at once. Never silence. A fetch is bounded by
`FETCH_SECONDS`, so a hanging file server holds the batch (and the text in it) briefly.

Video, stickers and the rest keep their polite "I can't read this" answers. The parts of an
album go to `domain/albums.py` and become one turn there.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Protocol

from common.features.blobs import BlobBudget, BlobStore, OverBudget, RedisFull
from common.infrastructure.errors import DependencyUnavailableError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Attachment, AttachmentKind, OutgoingKind
from tg_bot.src.clients.errors import (
    TelegramError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from tg_bot.src.clients.types import TgFileRef, TgMessage
from tg_bot.src.domain.albums import AlbumStore
from tg_bot.src.handlers.base import Addressed, Outcome, Services
from tg_bot.src.handlers.flood import over_limit

log = get_logger(__name__)

#: What the assistant can take in.
READABLE: dict[str, AttachmentKind] = {
    "voice": AttachmentKind.VOICE,
    "audio": AttachmentKind.AUDIO,
    "photo": AttachmentKind.PHOTO,
    "document": AttachmentKind.DOCUMENT,
}
#: Media with a "can't read this" answer of their own; anything else gets the general one.
_NAMED_MEDIA = {"video", "video_note", "animation", "sticker"}
_MEDIA_ANSWER = {"video_note": "video", "animation": "video"}
#: Telegram sends photos as JPEG and says so nowhere.
_PHOTO_MIME = "image/jpeg"
#: Batches a failing download may hold back before its sender gets an apology instead.
DOWNLOAD_ATTEMPTS = 3
#: One fetch (getFile and the download, with the client's quick retries) at most: 20 MB from
#: Telegram's file servers takes a second or two.
FETCH_SECONDS = 30.0


class FileInfo(Protocol):
    """getFile's answer, as far as fetching goes."""

    @property
    def file_size(self) -> int | None: ...

    @property
    def file_path(self) -> str | None: ...


class FileSource(Protocol):
    """Where files come from: the Telegram client's getFile and file download."""

    async def get_file(self, file_id: str) -> FileInfo: ...

    async def download_file(self, file_path: str) -> bytes: ...


class TooBig(Exception):
    """The file turned out larger than `limit` bytes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


def file_of(message: TgMessage, field: str) -> TgFileRef | None:
    """The message's file of this kind (the largest size of a photo); None when unreadable."""
    return message.largest_photo if field == "photo" else message.file(field)


def size_limit(kind: AttachmentKind, services: Services) -> int:
    settings = services.settings
    if kind is AttachmentKind.DOCUMENT:
        return min(settings.document_max_bytes, settings.file_max_bytes)
    return settings.file_max_bytes


def why_refused(
    turn: Addressed, kind: AttachmentKind, ref: TgFileRef, services: Services
) -> str | None:
    """Why this file is not taken, from what the message says about it; None when it is."""
    longest = services.settings.voice_max_seconds
    if kind in (AttachmentKind.VOICE, AttachmentKind.AUDIO) and (ref.duration or 0) > longest:
        return turn.t(f"media.too_long.{kind.value}", limit=spoken_duration(turn, longest))
    limit = size_limit(kind, services)
    if (ref.file_size or 0) > limit:
        return turn.t("media.too_big", limit=megabytes(limit))
    if (ref.width or 0) * (ref.height or 0) > services.settings.image_max_pixels:
        return turn.t("media.too_many_pixels")
    return None


def spoken_duration(turn: Addressed, seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if minutes and not rest:
        return turn.t("media.minutes", n=minutes)
    if minutes:
        return turn.t("media.minutes_seconds", m=minutes, s=rest)
    return turn.t("media.seconds", n=rest)


def megabytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{max(1, size // 1024)} KB"


class MediaIntake:
    def __init__(
        self, services: Services, files: FileSource, albums: AlbumStore, bot_id: int
    ) -> None:
        self._services = services
        self._files = files
        self._albums = albums
        self._bot_id = bot_id
        settings = services.settings
        budget = BlobBudget(settings.blob_max_bytes_per_user, settings.blob_max_bytes_total)
        self._blobs = BlobStore(services.redis, services.names, budget=budget)
        self._failures: dict[str, int] = {}
        #: Files a full Redis refused: their update, tried again because the batch's commit
        #: failed too (the refused write's buffer still counts a moment), is answered
        #: without sending the bytes once more.
        self._refused_full: set[str] = set()

    async def receive(self, turn: Addressed, field: str) -> Outcome:
        """A message whose content is `field` (voice, photo, sticker, ...)."""
        kind = READABLE.get(field)
        if kind is None:
            key = _MEDIA_ANSWER.get(field, field) if field in _NAMED_MEDIA else "other"
            return _answer(turn, "nontext", turn.t(f"nontext.{key}"))
        ref = file_of(turn.message, field)
        if ref is None or not ref.file_id.strip():
            log.info("media_unreadable", field=field, chat_id=turn.chat_id)
            return _answer(turn, "media_refused", turn.t("media.unreadable"))
        refused = why_refused(turn, kind, ref, self._services)
        if refused is not None:
            return _answer(turn, "media_refused", refused)
        group = turn.message.media_group_id
        member = self._services.names.album(turn.chat_id, group) if group else None
        limited = await over_limit(turn, self._services, member)
        if limited is not None:
            return limited
        return await self._fetched(turn, kind, ref)

    async def _fetched(self, turn: Addressed, kind: AttachmentKind, ref: TgFileRef) -> Outcome:
        blob_id = self._blob_id(turn, ref)
        if blob_id in self._refused_full:
            return _answer(turn, "media_refused", turn.t("media.storage_full"))
        owner = str(turn.sender.id)
        try:
            async with asyncio.timeout(FETCH_SECONDS):
                key, size = await self._stored(
                    blob_id, ref, size_limit(kind, self._services), owner
                )
        except TimeoutError:
            slow = TelegramNetworkError("download", f"no file within {FETCH_SECONDS:g} s")
            return self._download_failed(turn, blob_id, slow)
        except TooBig as exc:
            return _answer(
                turn, "media_refused", turn.t("media.too_big", limit=megabytes(exc.limit))
            )
        except TelegramError as exc:
            return self._download_failed(turn, blob_id, exc)
        except OverBudget as exc:
            log.info("media_over_budget", scope=exc.scope, chat_id=turn.chat_id)
            if exc.scope == "user":
                text = turn.t("media.over_budget", limit=megabytes(exc.limit))
            else:
                text = turn.t("media.storage_full")
            return _answer(turn, "media_refused", text)
        except RedisFull as exc:
            log.warning("media_redis_full", error=str(exc)[:200], chat_id=turn.chat_id)
            if len(self._refused_full) > 1000:
                self._refused_full.clear()
            self._refused_full.add(blob_id)
            return _answer(turn, "media_refused", turn.t("media.storage_full"))
        self._failures.pop(blob_id, None)
        attachment = Attachment(
            kind=kind,
            blob_key=key,
            mime_type=ref.mime_type or (_PHOTO_MIME if kind is AttachmentKind.PHOTO else None),
            file_name=ref.file_name,
            size=size,
            duration=ref.duration if kind in (AttachmentKind.VOICE, AttachmentKind.AUDIO) else None,
        )
        message = turn.incoming().model_copy(update={"attachments": [attachment]})
        group = turn.message.media_group_id
        if group is None:
            return Outcome(turn.update_id, "queued", incoming=message)
        await self._albums.add(message, group)
        return Outcome(turn.update_id, "album_part")

    def _blob_id(self, turn: Addressed, ref: TgFileRef) -> str:
        unique = ref.file_unique_id or hashlib.sha256(ref.file_id.encode()).hexdigest()[:32]
        return f"tg:{self._bot_id}:{turn.update_id}:{unique}"

    async def _stored(
        self, blob_id: str, ref: TgFileRef, limit: int, owner: str
    ) -> tuple[str, int]:
        """The blob's key and size: fetched now, or kept from an earlier delivery. The
        sender's budget is checked by the store (`OverBudget`), Redis' memory by Redis
        (`RedisFull`); either way nothing is stored."""
        key = self._services.names.blob(blob_id)
        size = await self._services.redis.strlen(key)
        if size:
            return key, int(size)
        found = await self._files.get_file(ref.file_id)
        if (found.file_size or 0) > limit:
            raise TooBig(limit)
        if not found.file_path:
            raise TelegramError("getFile", "no file_path: the file cannot be downloaded", 400)
        data = await self._files.download_file(found.file_path)
        if len(data) > limit:
            raise TooBig(limit)
        if not data:
            raise TelegramError("download", "the file is empty", 400)
        return await self._blobs.put(data, blob_id, owner=owner), len(data)

    def _download_failed(self, turn: Addressed, blob_id: str, exc: TelegramError) -> Outcome:
        """Transient failures hold the batch back (it is tried again) a few times; after
        that, or for a refused file, the sender hears an apology."""
        transient = isinstance(exc, TelegramNetworkError | TelegramServerError | TelegramRetryAfter)
        failures = self._failures.get(blob_id, 0) + 1
        log.warning("media_download_failed", error=str(exc)[:300], attempt=failures,
                    transient=transient, chat_id=turn.chat_id)  # fmt: skip
        if transient and failures < DOWNLOAD_ATTEMPTS:
            if len(self._failures) > 1000:  # batches another process went on to handle
                self._failures.clear()
            self._failures[blob_id] = failures
            raise DependencyUnavailableError(f"telegram file download: {exc}")
        self._failures.pop(blob_id, None)
        text = turn.t("media.download_failed")
        return Outcome(
            turn.update_id, "media_failed", replies=[turn.reply(text, OutgoingKind.ERROR)]
        )


def _answer(turn: Addressed, kind: str, text: str) -> Outcome:
    return Outcome(turn.update_id, kind, replies=[turn.reply(text)])
