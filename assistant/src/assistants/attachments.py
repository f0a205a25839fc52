"""What a message's files become in its turn: a voice message its transcript, pictures image
content parts for a model that sees (`vision`), documents their text with the user's question.

The bytes come from the blob store (tg_bot put them there); what is stored in the history is
text only: the transcript, or the caption with a short note ("[photo]", "[document: a.pdf]"),
never the file. A file that cannot be used is a `Refusal`: the turn is answered with its
reason, without asking a model.
"""

from __future__ import annotations

import base64
import contextlib
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from assistant.src.assistants.model_order import route_for
from assistant.src.assistants.model_order import vision_routes as vision_routes
from assistant.src.assistants.refusal import PHRASES
from assistant.src.assistants.refusal import Refusal as Refusal
from assistant.src.clients.audio import audio_file_name, transcribe
from assistant.src.clients.llm import LlmGateway, LlmUnavailable
from assistant.src.file_worker import FileWorker
from assistant.src.pictures import PictureProblem, PictureUnreadable
from assistant.src.settings import Settings
from assistant.src.tools.outside import data_block
from common.features.blobs import BlobStore
from common.features.documents import DocumentProblem, DocumentText, DocumentUnreadable
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Attachment, AttachmentKind, IncomingMessage
from common.infrastructure.text import trim
from common.infrastructure.wire import ConfigSnapshot, ModelCapability

log = get_logger(__name__)

ATTACHMENT_TURNS = Counter(
    "smart_assistant_assistant_attachment_turns_total",
    "Messages with files, by the first file's kind and outcome (read, or the refusal)",
    ["kind", "outcome"],
)

#: Audio up to this size (a voice note of a few minutes) is read whole without waiting for a
#: file slot; a bigger upload holds one, so many of them cannot fill the assistant's memory.
_SMALL_AUDIO_BYTES = 2 * 1024 * 1024
#: The quote of what was heard, at the start of the answer.
QUOTE_CHARS = 200
#: What the model is asked when a picture or a document comes without a caption.
DEFAULT_PICTURE_QUESTION = "What is in this picture?"
DEFAULT_DOCUMENT_QUESTION = "Summarise this document."
_DOCUMENT_REFUSALS = {
    DocumentProblem.UNSUPPORTED: "document_unsupported",
    DocumentProblem.UNREADABLE: "document_unreadable",
    DocumentProblem.ENCRYPTED: "document_encrypted",
    DocumentProblem.EMPTY: "document_empty",
    DocumentProblem.TOO_HEAVY: "document_too_heavy",
}
_PICTURE_REFUSALS = {
    PictureProblem.UNREADABLE: "picture_unreadable",
    PictureProblem.TOO_MANY_PIXELS: "picture_too_many_pixels",
}


@dataclass
class TurnInput:
    """The turn a message with files makes."""

    #: The user's message as stored (and searched, and read for its language).
    text: str
    #: What the model reads instead of `text` (image parts, a document's text); None: `text`.
    parts: list[dict[str, Any]] | None = None
    #: Shown before the answer: what was heard, or that a document was cut.
    notes: list[str] = field(default_factory=list)
    #: The turn needs a model with `vision`.
    vision: bool = False

    def prefix(self) -> str:
        return "".join(f"{note}\n\n" for note in self.notes)


class AttachmentReader:
    def __init__(self, settings: Settings, blobs: BlobStore, llm: LlmGateway) -> None:
        self.settings = settings
        self.blobs = blobs
        self.llm = llm
        self.worker = FileWorker(settings)

    async def read(
        self, message: IncomingMessage, snapshot: ConfigSnapshot, language: str | None
    ) -> TurnInput:
        """`language`: the quote's and the notes' (the message's own, as far as known)."""
        kind = message.attachments[0].kind.value if message.attachments else "none"
        try:
            turn = await self._read(message, snapshot, language)
        except Refusal as refusal:
            ATTACHMENT_TURNS.labels(kind, refusal.key).inc()
            raise
        ATTACHMENT_TURNS.labels(kind, "read").inc()
        return turn

    async def _read(
        self, message: IncomingMessage, snapshot: ConfigSnapshot, language: str | None
    ) -> TurnInput:
        caption = message.text.strip()
        audio = [a for a in message.attachments if a.kind in _AUDIO]
        if audio:
            return await self._voice(audio[0], snapshot, caption, language)
        pictures: list[dict[str, Any]] = []
        documents: list[tuple[Attachment, DocumentText]] = []
        budget = self.settings.image_turn_max_bytes
        for attachment in message.attachments:
            if _is_picture(attachment):
                jpeg = await self._picture(attachment)
                budget -= len(jpeg)
                if budget < 0:
                    megabytes = round(self.settings.image_turn_max_bytes / 1024 / 1024, 1)
                    raise Refusal("pictures_too_big", megabytes=megabytes)
                pictures.append(_image_part(jpeg))
            else:
                documents.append((attachment, await self._document(attachment)))
        return self._combined(caption, pictures, documents, language)

    async def _picture(self, attachment: Attachment) -> bytes:
        """The picture scaled down, as a JPEG: read in a child process, its pixels counted
        before they are decoded."""
        settings = self.settings
        async with self.worker.slot():
            await self._size(attachment)
            data = self.blobs.chunks(attachment.blob_key)
            try:
                return await self.worker.picture(
                    data, settings.image_max_pixels, settings.image_max_side
                )
            except PictureUnreadable as exc:
                log.info("picture_unreadable", problem=exc.problem, error=str(exc)[:300])
                raise Refusal(_PICTURE_REFUSALS[exc.problem]) from exc

    async def _bytes(self, attachment: Attachment) -> bytes:
        data = await self.blobs.get(attachment.blob_key)
        if data is None:
            log.warning("attachment_blob_missing", kind=attachment.kind)
            raise Refusal("file_expired")
        return data

    async def _size(self, attachment: Attachment) -> int:
        """The file's size in the blob store (its bytes are read as they go to a child)."""
        size = await self.blobs.size(attachment.blob_key)
        if not size:
            log.warning("attachment_blob_missing", kind=attachment.kind)
            raise Refusal("file_expired")
        return size

    async def _voice(
        self, attachment: Attachment, snapshot: ConfigSnapshot, caption: str, language: str | None
    ) -> TurnInput:
        limit = self.settings.voice_max_seconds
        if attachment.duration is not None and attachment.duration > limit:
            raise Refusal("voice_too_long", seconds=limit)
        model = snapshot.model_with(ModelCapability.transcription)
        if model is None:
            log.warning("no_transcription_model")
            raise Refusal("no_transcription")
        route = route_for(model.name, snapshot, self.settings)
        name = audio_file_name(attachment.file_name, attachment.mime_type)
        try:
            # the upload needs the whole file: a big one waits for a slot, as parsed files do
            big = await self._size(attachment) > _SMALL_AUDIO_BYTES
            async with self.worker.slot() if big else contextlib.nullcontext():
                data = await self._bytes(attachment)
                heard = await transcribe(self.llm, route, data, name, attachment.mime_type)
        except LlmUnavailable as exc:
            log.error("transcription_failed", model=model.name, error=str(exc)[:500])
            raise Refusal("transcription_failed") from exc
        if not heard:
            raise Refusal("nothing_heard")
        log.info("voice_transcribed", model=model.name, chars=len(heard))
        text = f"{caption}\n\n{heard}" if caption else heard
        quote = PHRASES.text(language, "voice_quote", text=_short(heard))
        return TurnInput(text=text, notes=[quote])

    async def _document(self, attachment: Attachment) -> DocumentText:
        """Its size is checked as declared and as found (tg_bot checked it first too)."""
        limit = self.settings.document_max_bytes
        too_big = Refusal("document_too_big", megabytes=round(limit / 1024 / 1024, 1))
        if (attachment.size or 0) > limit:
            raise too_big
        try:
            async with self.worker.slot():
                if await self._size(attachment) > limit:
                    raise too_big
                return await self.worker.document(
                    self.blobs.chunks(attachment.blob_key),
                    attachment.mime_type,
                    attachment.file_name,
                    self.settings.document_max_chars,
                )
        except DocumentUnreadable as exc:
            log.info("document_unreadable", problem=exc.problem, error=str(exc)[:300])
            raise Refusal(_DOCUMENT_REFUSALS[exc.problem]) from exc

    def _combined(
        self,
        caption: str,
        pictures: list[dict[str, Any]],
        documents: list[tuple[Attachment, DocumentText]],
        language: str | None,
    ) -> TurnInput:
        notes = [_picture_note(len(pictures))] if pictures else []
        notes += [f"[document: {_name(a)}]" for a, _text in documents]
        stored = "\n".join([caption, *notes]).strip()
        question = caption or (DEFAULT_DOCUMENT_QUESTION if documents else DEFAULT_PICTURE_QUESTION)
        text = "\n\n".join([question, *(_document_block(a, d) for a, d in documents)])
        shown = [
            PHRASES.text(
                language, "document_cut", name=_name(a), chars=self.settings.document_max_chars
            )
            for a, d in documents
            if d.cut
        ]
        parts = [{"type": "text", "text": text}, *pictures]
        return TurnInput(text=stored, parts=parts, notes=shown, vision=bool(pictures))


_AUDIO = (AttachmentKind.VOICE, AttachmentKind.AUDIO)


def _is_picture(attachment: Attachment) -> bool:
    """A photo, or a picture sent as a file (which keeps its full size)."""
    if attachment.kind == AttachmentKind.PHOTO:
        return True
    mime = (attachment.mime_type or "").lower()
    return attachment.kind == AttachmentKind.DOCUMENT and mime.startswith("image/")


def _image_part(jpeg: bytes) -> dict[str, Any]:
    """An OpenAI image content part: the scaled JPEG as a data URL."""
    url = f"data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}"
    return {"type": "image_url", "image_url": {"url": url}}


def _picture_note(count: int) -> str:
    return "[photo]" if count == 1 else f"[{count} photos]"


def _name(attachment: Attachment) -> str:
    return attachment.file_name or attachment.kind.value


def _document_block(attachment: Attachment, document: DocumentText) -> str:
    """The document's text marked as data: whoever wrote it, it gives no instructions."""
    cut = " (cut: only its beginning)" if document.cut else ""
    return data_block(f"document {_name(attachment)}{cut}", document.text)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    short = trim(flat, QUOTE_CHARS)
    return short if short == flat else short.rstrip(" ,.;:") + "…"
