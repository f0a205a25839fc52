"""Read the message's files, in one call: the text the turn stores, what the model reads
instead, whether it needs a model that sees, and what is shown before the answer; or the
`Refusal` the turn is answered with."""

from __future__ import annotations

from assistant.src.assistants.attachments import AttachmentReader, Refusal
from assistant.src.turn.state import Files, TurnState
from common.infrastructure.logging import get_logger

log = get_logger(__name__)


class Reading:
    def __init__(self, reader: AttachmentReader) -> None:
        self.reader = reader

    async def read(self, state: TurnState) -> None:
        """A Yes to a held call carries no files to read."""
        message = state.message
        if not message.attachments or message.confirmed is not None:
            return
        try:
            taken = await self.reader.read(message, state.snapshot, message.language_code)
        except Refusal as refusal:
            log.info("attachment_refused", reason=refusal.key)
            state.refusal = refusal
            return
        state.message = message.model_copy(update={"text": taken.text})
        state.files = Files(taken.parts, taken.vision, taken.prefix())
