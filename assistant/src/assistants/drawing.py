"""Drawing: the `draw` tool's picture made by the model with capability `image`, kept in the
blob store for the answer (tg_bot sends it as a photo) and counted as `IMAGE_TOKEN_COST`
completion tokens in the answer's usage and against the user's daily token budget
(rest_service's usage counts the pictures themselves: the draw calls that made one).

A redelivered message finds the picture its first delivery stored under the same call's key
and neither asks the provider again nor counts it twice."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.src.assistants.base import TurnTokens
from assistant.src.assistants.model_order import route_for
from assistant.src.clients.images import (
    DrawRefused,
    ImageSize,
    NoPicture,
    NotDrawn,
    generate_image,
)
from assistant.src.clients.llm import LlmGateway, LlmUnavailable
from assistant.src.settings import Settings
from common.features.blobs import BlobStore, RedisFull
from common.features.limits import TokenBudget
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from common.infrastructure.wire import ConfigSnapshot, ModelCapability

log = get_logger(__name__)


@dataclass(frozen=True)
class Painter:
    """One turn's painter: the snapshot's image model, the turn's tokens."""

    settings: Settings
    snapshot: ConfigSnapshot
    llm: LlmGateway
    blobs: BlobStore
    names: Names
    tokens: TurnTokens
    budget: TokenBudget | None = None

    async def draw(self, prompt: str, size: ImageSize, *, user_id: str, blob_id: str) -> str:
        """The blob key of the picture; `DrawRefused` says why there is none."""
        model = self.snapshot.model_with(ModelCapability.image)
        if model is None:
            raise DrawRefused(NotDrawn.NO_MODEL)
        key = self.names.blob(blob_id)
        if await self.blobs.size(key):
            return key  # drawn and counted by this message's first delivery
        route = route_for(model.name, self.snapshot, self.settings)
        try:
            picture = await generate_image(self.llm, route, prompt, size)
            stored = await self.blobs.put(picture, blob_id)
        except LlmUnavailable as exc:
            log.warning("draw_failed", model=model.name, error=str(exc)[:500])
            raise DrawRefused(NotDrawn.REFUSED if exc.request_refused else NotDrawn.FAILED) from exc
        except (NoPicture, RedisFull) as exc:
            log.warning("draw_failed", model=model.name, error=str(exc)[:500])
            raise DrawRefused(NotDrawn.FAILED) from exc
        await self._count(user_id)
        return stored

    async def _count(self, user_id: str) -> None:
        cost = self.settings.image_token_cost
        self.tokens.add(0, cost)
        if self.budget is not None:
            await self.budget.add(user_id, cost)
