"""Decide the reply's form: the model's answer as text, spoken too when the user wants a voice
reply, with what was heard or cut shown before it; or the words for a turn no model answered
(a refused file, no secretary configured, every model down, a failed turn)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import Counter

from assistant.src.assistants.base import TurnResult
from assistant.src.assistants.phrases import CATALOGUE
from assistant.src.assistants.voice_reply import VoiceReplies, wants_voice
from assistant.src.turn.state import TurnState
from common.features.feedback import RatedAnswer, answer_key, prompt_hash
from common.infrastructure.logging import get_logger
from common.infrastructure.metrics import zeroed
from common.infrastructure.queue_messages import IncomingMessage, OutgoingKind, Source, Usage
from common.infrastructure.text import escape_markdown

log = get_logger(__name__)

#: Why a turn was answered with an apology: no model answered (after retries and the
#: fallbacks), rest_service refused the turn, the message was dead-lettered, a dead entry
#: had no sender to answer, or no assistant is configured to answer it (no active
#: secretary, or the assistant the message names).
TURN_FAILURE_REASONS = (
    "llm_unavailable",
    "refused",
    "dead_letter",
    "unanswerable",
    "not_configured",
)
TURN_FAILURES = zeroed(
    Counter(
        "smart_assistant_assistant_turn_failures_total",
        "Turns that failed for good and were answered with an apology",
        ["reason"],
    ),
    *TURN_FAILURE_REASONS,
)


@dataclass(frozen=True)
class Answer:
    text: str
    kind: OutgoingKind
    #: The answer spoken (`voice_reply.py`), sent as a voice message with `text`.
    voice_blob_key: str | None = None
    #: Whether tools may have left notes for its buttons (False: none ran, nothing to read).
    noted: bool = True
    #: What its 👍 / 👎 rate, when its assistant asks for feedback (decision 0051).
    rated: RatedAnswer | None = None
    #: The tokens of the model calls it was made of; None: no assistant ran.
    usage: Usage | None = None


class ReplyForm:
    def __init__(self, voice: VoiceReplies) -> None:
        self.voice = voice

    async def choose(self, state: TurnState) -> Answer:
        language = state.sender().language
        if state.refusal is not None:
            return Answer(state.refusal.text(language), OutgoingKind.REPLY)
        if state.not_configured:
            TURN_FAILURES.labels("not_configured").inc()
            return Answer(unconfigured(state.message, language), OutgoingKind.ERROR)
        if state.confirmed is not None:
            return Answer(state.confirmed, OutgoingKind.REPLY, noted=False)
        result = state.result
        if result is None or result.text is None:
            # No model answered (after retries and the fallbacks): a failed turn too.
            TURN_FAILURES.labels("llm_unavailable").inc()
            apology = CATALOGUE.text(language, "apology")
            return Answer(apology, OutgoingKind.ERROR, usage=state.usage)
        voice = None
        if wants_voice(state.user, state.message.text):
            voice = await self.voice.speak(result.text, state.snapshot)
        shown = (state.files.prefix if state.files is not None else "") + result.text
        rated = rated_answer(state, result)
        noted = result.tools_ran
        return Answer(shown, OutgoingKind.REPLY, voice, noted, rated, usage=state.usage)


def unconfigured(message: IncomingMessage, language: str | None) -> str:
    """Nobody is configured to answer: the assistant the message names, or the secretary."""
    if message.assistant is not None:
        name = escape_markdown(message.assistant)
        return CATALOGUE.text(language, "no_such_assistant", name=name)
    return CATALOGUE.text(language, "not_configured")


def rated_answer(state: TurnState, result: TurnResult) -> RatedAnswer | None:
    """What the answer's 👍 / 👎 rate: only a model's answer (not a refusal the turn made
    itself) in Telegram, from an assistant whose `feedback_buttons` is on."""
    message = state.message
    speaker = state.speaker
    if speaker is None or not speaker.feedback_buttons or result.model is None:
        return None
    if message.source != Source.TELEGRAM:
        return None
    return RatedAnswer(
        message_key=answer_key(str(message.message_id)),
        assistant_id=str(speaker.id),
        chat_id=message.chat_id,
        bot_id=str(message.bot_id) if message.bot_id else None,
        model=result.model,
        prompt_hash=prompt_hash(speaker.instructions),
    )


def failed(reason: str, exc: BaseException, language: str | None) -> Answer:
    """The apology for a turn that failed for good, logged and counted."""
    log.error("turn_failed_apologised", reason=reason, error=str(exc)[:500])
    TURN_FAILURES.labels(reason).inc()
    return Answer(CATALOGUE.text(language, "turn_failed"), OutgoingKind.ERROR)
