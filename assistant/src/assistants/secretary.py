"""The secretary: the assistant users talk to. Its context adds the user's profile and
long-term memory (older messages of this conversation found by search)."""

from __future__ import annotations

from typing import Any

from assistant.src.assistants import memory
from assistant.src.assistants.base import Turn
from assistant.src.assistants.llm_chat import LlmChatAssistant
from assistant.src.settings import Settings
from common.infrastructure.logging import get_logger

log = get_logger(__name__)


class Secretary(LlmChatAssistant):
    def memory_query(self, text: str) -> str | None:
        return secretary_memory_query(self.settings, text)

    async def system_messages(
        self, turn: Turn, history: list[memory.StoredMessage]
    ) -> list[dict[str, Any]]:
        messages = await super().system_messages(turn, history)
        memory = self._long_term_memory(turn)
        return [*messages, memory] if memory else messages

    def _long_term_memory(self, turn: Turn) -> dict[str, Any] | None:
        """Hits older than the window, from this conversation only (a group and a private
        chat never see each other), fetched with the turn's context."""
        if self.memory_query(turn.text) is None:
            return None
        return memory.memory_message(
            self.memory_hits, self.settings.long_term_memory_length, group=turn.actor.is_group
        )


def secretary_memory_query(settings: Settings, text: str) -> str | None:
    """The secretary searches its long-term memory for the user's words, when enabled."""
    if not settings.long_term_memory_enabled or not settings.max_long_term_results:
        return None
    return memory.memory_query(text)
