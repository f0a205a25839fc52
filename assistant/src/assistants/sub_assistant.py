"""A sub-assistant: answers the secretary's query with its own instructions, model, tools
and thread for this conversation. The query comes from another assistant, not the user."""

from __future__ import annotations

from assistant.src.assistants.base import Turn
from assistant.src.assistants.llm_chat import LlmChatAssistant


class SubAssistant(LlmChatAssistant):
    def user_author(self, turn: Turn) -> str | None:
        return None
