"""What every assistant is: something that answers one turn of a conversation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from assistant.src.tools.base import Actor
from common.infrastructure.queue_messages import Usage


@dataclass(frozen=True)
class Turn:
    """One request to an assistant: the user's message, or a sub-assistant's query."""

    text: str
    actor: Actor
    message_id: str
    depth: int = 0
    #: The calling tool call's position ("" for the secretary), so keys stay unique and
    #: repeat exactly on a redelivery.
    position: str = ""
    #: What the model reads instead of `text` (image parts, a document's text); `text` is
    #: what the history stores (`attachments.py`).
    parts: list[dict[str, Any]] | None = None

    @property
    def key(self) -> str:
        """The prefix of this turn's history `dedup_key`s."""
        return f"{self.message_id}/{self.position}" if self.position else self.message_id

    def call_position(self, index: int) -> str:
        return f"{self.position}/{index}" if self.position else str(index)


@dataclass(frozen=True)
class TurnResult:
    #: None when no model answered (after retries and the fallback).
    text: str | None
    model: str | None = None
    #: True when a redelivered message found its answer already in the history.
    replayed: bool = False
    #: False only when this turn surely called no tool, so no tool left notes for the
    #: answer's buttons (a replayed turn may have called some on its first try).
    tools_ran: bool = True


@dataclass
class TurnTokens:
    """The tokens of one message's model calls as the providers report them, summed as they
    are made: the assistant answering it and the sub-assistants it asks add to one
    (`AssistantFactory`), for the answer's `usage`."""

    prompt: int = 0
    completion: int = 0

    def add(self, tokens_in: int | None, tokens_out: int | None) -> None:
        self.prompt += tokens_in or 0
        self.completion += tokens_out or 0

    def usage(self) -> Usage:
        return Usage(prompt_tokens=self.prompt, completion_tokens=self.completion)


class BaseAssistant(ABC):
    @abstractmethod
    async def answer(self, turn: Turn) -> TurnResult:
        """Answer `turn`, storing it in the history; never raises for an LLM outage."""
