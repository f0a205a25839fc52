"""Run the model and its tools: the factory builds the secretary from the turn's snapshot,
with its drafts and, for pictures, models that see; it answers the turn. A Yes to a held tool
call runs that call instead (`confirmed.py`), without a model."""

from __future__ import annotations

from functools import partial

import redis.asyncio as aioredis

from assistant.src.assistants.base import Turn
from assistant.src.assistants.factory import AssistantFactory
from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.assistants.model_order import vision_routes
from assistant.src.assistants.recall import Recall
from assistant.src.assistants.refusal import Refusal
from assistant.src.assistants.secretary import Secretary
from assistant.src.confirmed import run_confirmed
from assistant.src.drafts import drafts_for
from assistant.src.settings import Settings
from assistant.src.tools.base import ToolServices
from assistant.src.turn.state import TurnState
from common.features.confirmations import Confirmations
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names

log = get_logger(__name__)


class ModelRun:
    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        names: Names,
        deps: AssistantDeps,
        services: ToolServices,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.names = names
        self.deps = deps
        self.services = services
        self.recall = Recall(deps)

    async def run(self, state: TurnState) -> None:
        """Fills the turn's `result` (or `confirmed`); nothing runs for a refused turn."""
        if state.message.confirmed is not None:
            state.confirmed = await self._confirmed(state, state.message.confirmed)
            return
        if state.refusal is not None:
            return
        secretary = await self._secretary(state)
        if secretary is None:
            return
        message = state.message
        parts = state.files.parts if state.files is not None else None
        turn = Turn(message.text, state.sender(), str(message.message_id), parts=parts)
        state.result = await secretary.answer(turn, state.context)
        state.usage = secretary.tokens.usage()
        if state.result.text is not None:
            log.info("message_answered", model=state.result.model, replayed=state.result.replayed)

    async def _secretary(self, state: TurnState) -> Secretary | None:
        """The secretary for this turn; None when none is configured or its pictures cannot
        be seen (the turn says why)."""
        user = state.user
        preferred = user.preferred_model if user else None
        factory = AssistantFactory(
            self.deps,
            self.services,
            state.snapshot,
            preferred_model=preferred,
            bot_id=state.message.bot_id,
            assistant=state.message.assistant,
            person=state.message.user_id,
        )
        await factory.prepare()
        # A document's text or a picture is outside content from the start of the turn.
        factory.outside.taken = state.files is not None and state.files.parts is not None
        secretary = factory.secretary()
        if secretary is None:
            named = state.message.assistant
            if named is not None:
                log.warning("named_assistant_not_found", assistant=named[:64])
            else:
                log.error("no_secretary_configured", config_version=state.snapshot.version)
            state.not_configured = True
            return None
        secretary.drafts = drafts_for(state.message, self.settings, self.redis, self.names)
        secretary.stored = partial(self.recall.remember, state.snapshot)
        if state.files is not None and state.files.vision:
            try:
                secretary.routes = vision_routes(
                    state.snapshot, self.settings, secretary.routes, preferred
                )
            except Refusal as refusal:
                state.refusal = refusal
                return None
        return secretary

    async def _confirmed(self, state: TurnState, token: str) -> str:
        """The user said Yes to a held tool call: it runs, and the answer says how it went."""
        message = state.message
        factory = AssistantFactory(
            self.deps,
            self.services,
            state.snapshot,
            bot_id=message.bot_id,
            assistant=message.assistant,
        )
        confirmations = Confirmations(self.redis, self.names)
        return await run_confirmed(token, state.sender(), factory, confirmations)
