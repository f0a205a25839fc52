"""What one turn carries from step to step: each step reads what the steps before it filled
in and adds its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.src.assistants.base import TurnResult
from assistant.src.assistants.refusal import Refusal
from assistant.src.tools.base import Actor
from common.infrastructure.queue_messages import IncomingMessage, Usage
from common.infrastructure.wire import ConfigSnapshot, SnapshotAssistant, TurnBackground, User


@dataclass(frozen=True)
class Files:
    """What the message's files give the turn (`reading.py`)."""

    #: What the model reads instead of the text (image parts, a document's text); None: the
    #: text (a voice message's transcript).
    parts: list[dict[str, Any]] | None
    #: The turn has pictures: it needs a model that sees.
    vision: bool
    #: Shown before the answer: what was heard, or that a document was cut.
    prefix: str


@dataclass
class TurnState:
    """One message's turn. `message` is the message as the turn reads it: after `reading`,
    with its files' text in place of the caption."""

    message: IncomingMessage
    #: The live config the turn started with, and keeps.
    snapshot: ConfigSnapshot
    #: `reading`: what the files give; None when the message has none.
    files: Files | None = None
    #: `reading` or `model`: why the turn is answered without a model.
    refusal: Refusal | None = None
    #: `background`: the sender's profile with the secretary's thread, window and memory.
    context: TurnBackground | None = None
    #: `background`: the stored user (None: not registered).
    user: User | None = None
    #: `background`: who the tools act for and in what language the turn is answered.
    actor: Actor | None = None
    #: `model`: no secretary (or no assistant of the name the message gives) is configured to
    #: answer.
    not_configured: bool = False
    #: `model`: the secretary's answer.
    result: TurnResult | None = None
    #: `model`: the tokens of the secretary's model calls and its sub-assistants'; None when
    #: no assistant ran.
    usage: Usage | None = None
    #: `model`: the answer to a Yes (a held call run), when the message is one.
    confirmed: str | None = None

    @property
    def speaker(self) -> SnapshotAssistant | None:
        """The assistant that answers: the one the message names, its bot's, or the
        secretary."""
        return self.snapshot.speaker(self.message.bot_id, self.message.assistant)

    @property
    def blocked(self) -> bool:
        return self.user is not None and self.user.blocked

    def sender(self) -> Actor:
        """`actor`, for the steps after `background`."""
        if self.actor is None:
            raise RuntimeError("the turn's background was not learnt")
        return self.actor
