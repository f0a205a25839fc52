"""`draw`: a picture the user asks for, made by the model with capability `image`
(`assistants/drawing.py`) and noted for the answer, which carries it as a photo. One picture
per answer: a second call in the same turn is refused to the model, and so is a call in a
channel that shows no pictures. A refusal (no image model, the provider's content policy, a
failure after retries) reaches the model as the catalogue's words in the user's language, to
pass on."""

from __future__ import annotations

from typing import Any

from assistant.src.clients.images import (
    DEFAULT_SIZE,
    IMAGE_SIZES,
    DrawRefused,
    ImageSize,
    NotDrawn,
)
from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from common.features.texts import TEXTS
from common.infrastructure.channels import PICTURE_CHANNELS

#: The longest description sent to the image model (DALL·E 3 takes 4000 characters).
MAX_PROMPT_CHARS = 1000
#: How long the answer's note outlives the call: the answer is published within the turn.
NOTED_TTL_S = 3600
SENT = (
    "The picture is drawn and goes to the user as a photo with your answer as its caption: "
    "answer in one short sentence, without a link or a description of the picture."
)
ONE_PER_ANSWER = "one picture per answer: this one was not drawn; say so if the user asked for more"
PASS_ON = "Tell the user exactly this, in their language: "
#: The assistant's sentences (`assistant.draw.*`), in the turn's language.
CATALOGUE = TEXTS.section("assistant")


class DrawTool(BaseTool, tool_type="draw"):
    @property
    def timeout(self) -> float:
        """Every attempt of the image model, which takes tens of seconds to draw."""
        settings = self.services.settings
        return settings.llm_timeout_seconds * settings.llm_max_attempts + 5

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        prompt = " ".join(str(arguments.get("prompt") or "").split())[:MAX_PROMPT_CHARS]
        if not prompt:
            raise ToolError("'prompt' is empty: describe the picture to draw")
        size = arguments.get("size")
        chosen: ImageSize = size if size in IMAGE_SIZES else DEFAULT_SIZE
        if call.actor.answer_channel not in PICTURE_CHANNELS:
            raise ToolError(PASS_ON + CATALOGUE.text(call.actor.language, "draw.not_here"))
        services = self.services
        blob_id = f"drawn:{call.idempotency_key}"
        key = services.names.blob(blob_id)
        noted = services.names.picture_drawn(call.message_id)
        # The turn's calls run at once: the first to claim the answer's photo draws it (a
        # redelivered message claims it again with the same key).
        claimed = await services.redis.set(noted, key, nx=True, ex=NOTED_TTL_S)
        if not claimed and _text(await services.redis.get(noted) or b"") != key:
            raise ToolError(ONE_PER_ANSWER)
        try:
            if services.painter is None:
                raise DrawRefused(NotDrawn.NO_MODEL)
            await services.painter.draw(prompt, chosen, user_id=call.actor.user_id, blob_id=blob_id)
        except DrawRefused as exc:
            await services.redis.delete(noted)
            said = CATALOGUE.text(call.actor.language, f"draw.{exc.reason.value}")
            raise ToolError(PASS_ON + said) from exc
        return {"drawn": True, "size": chosen, "note": SENT}


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
