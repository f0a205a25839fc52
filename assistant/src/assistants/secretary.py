"""The secretary: the assistant users talk to. Its context adds the user's profile and
long-term memory (older messages of this conversation found by search)."""

from __future__ import annotations

from typing import Any

from assistant.src.assistants import context
from assistant.src.assistants.base import Turn
from assistant.src.assistants.llm_chat import LlmChatAssistant
from common.logging import get_logger

log = get_logger(__name__)


class Secretary(LlmChatAssistant):
    async def system_messages(
        self, turn: Turn, history: list[context.StoredMessage]
    ) -> list[dict[str, Any]]:
        messages = await super().system_messages(turn, history)
        memory = await self._long_term_memory(turn, history)
        return [*messages, memory] if memory else messages

    async def _long_term_memory(
        self, turn: Turn, history: list[context.StoredMessage]
    ) -> dict[str, Any] | None:
        """Hits older than the window, from this conversation only (a group and a private
        chat never see each other)."""
        settings = self.settings
        if not settings.long_term_memory_enabled or not settings.max_long_term_results:
            return None
        if not turn.text.strip():
            return None
        oldest = min((m["id"] for m in history if isinstance(m.get("id"), int)), default=None)
        hits = await self.deps.rest.search_messages(
            turn.actor.conversation_key,
            turn.text,
            limit=settings.max_long_term_results,
            before_id=oldest,
            match="any",
        )
        return context.memory_message(
            hits, settings.long_term_memory_length, group=turn.actor.is_group
        )
