"""What kind of attachment a file is, by its MIME type, for the channels that receive files
with a type and nothing else (a mail's part, a file given to the public API)."""

from __future__ import annotations

from common.infrastructure.queue_messages import AttachmentKind

#: Audio a phone records as a voice note.
_VOICE_TYPES = frozenset({"audio/ogg", "audio/opus", "audio/webm", "audio/amr"})
_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})


def attachment_kind(mime_type: str) -> AttachmentKind:
    if mime_type in _VOICE_TYPES:
        return AttachmentKind.VOICE
    if mime_type.startswith("audio/"):
        return AttachmentKind.AUDIO
    if mime_type in _PHOTO_TYPES:
        return AttachmentKind.PHOTO
    return AttachmentKind.DOCUMENT
