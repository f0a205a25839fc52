"""Pictures made on request over the provider's OpenAI-compatible `/images/generations`,
through `LlmGateway.request`: the same provider keys, clients, retries and circuit breaker as
chat calls. The picture comes back as base64 in the answer (`b64_json`), never as a link the
provider keeps."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Final, Literal

import openai

from assistant.src.clients.llm import LlmGateway, ModelRoute

ImageSize = Literal["1024x1024", "1024x1792", "1792x1024"]
#: The sizes the draw tool offers: square, portrait, landscape (DALL·E 3's and most others').
IMAGE_SIZES: Final[tuple[ImageSize, ...]] = ("1024x1024", "1024x1792", "1792x1024")
DEFAULT_SIZE: Final[ImageSize] = "1024x1024"


class NotDrawn(StrEnum):
    """Why no picture: each is a text of the catalogue (`assistant.draw.*`)."""

    NO_MODEL = "no_model"
    #: The provider refused the request (a content policy's 400).
    REFUSED = "refused"
    #: The provider failed after its retries, or its answer held no picture.
    FAILED = "failed"


class DrawRefused(Exception):
    """No picture, and why (the tool tells the model in the user's words)."""

    def __init__(self, reason: NotDrawn) -> None:
        super().__init__(reason.value)
        self.reason = reason


class NoPicture(Exception):
    """The endpoint answered 200 without a picture we can decode."""


async def generate_image(llm: LlmGateway, route: ModelRoute, prompt: str, size: ImageSize) -> bytes:
    """The picture `prompt` describes, as the image model made it (PNG bytes)."""

    async def call(client: openai.AsyncOpenAI) -> bytes:
        result = await client.images.generate(
            model=route.model, prompt=prompt, size=size, n=1, response_format="b64_json"
        )
        encoded = result.data[0].b64_json if result.data else None
        if not encoded:
            raise NoPicture("the answer holds no b64_json picture")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoPicture(f"the picture is not base64: {exc}") from exc

    return await llm.request(route, call)
