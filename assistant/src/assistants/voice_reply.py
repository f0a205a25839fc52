"""Voice replies: the final answer spoken by the speech model (`/audio/speech`) when the user
turned them on (`/voice on`) or asks for one in the message. The audio goes to the blob store
and tg_bot sends it as a voice message with the text as its caption; any failure leaves the
text answer alone."""

from __future__ import annotations

import re

from assistant.src.assistants.model_order import route_for
from assistant.src.clients.audio import speak
from assistant.src.clients.llm import LlmGateway, LlmUnavailable
from assistant.src.settings import Settings
from common.features.blobs import BlobStore, RedisFull
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import ConfigSnapshot, ModelCapability, User

log = get_logger(__name__)

#: "answer by voice", "reply with a voice message", "say it out loud", "ответь голосом",
#: "пришли голосовое": the one rule for asking in the message, in English and Russian.
_ASKS_FOR_VOICE = re.compile(
    r"\b(?:answer|reply|respond|tell me|say it|talk)\b[\w\s,]{0,20}?\b(?:by|with|in|as)\s+"
    r"(?:a\s+)?(?:voice|audio)\b"
    r"|\b(?:voice|audio)\s+(?:reply|answer|response|message)\b"
    r"|\bout\s+loud\b|\baloud\b"
    r"|(?:ответь|ответьте|отвечай|скажи|скажите|расскажи|расскажите|пришли|пришлите|запиши|"
    r"запишите)\w*[\w\s,]{0,20}?голос\w*"
    r"|голосов\w+\s+(?:ответ|сообщени)\w*|вслух",
    re.IGNORECASE,
)
_MARKDOWN = (
    (re.compile(r"```.*?```", re.DOTALL), " "),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),
    (re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.MULTILINE), ""),
    (re.compile(r"^\s*>\s?", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__|~~|`)"), ""),
    (re.compile(r"(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)"), ""),
    (re.compile(r"https?://\S+"), ""),
)


def asks_for_voice(text: str) -> bool:
    return _ASKS_FOR_VOICE.search(text) is not None


def wants_voice(user: User | None, text: str) -> bool:
    return bool(user and user.voice_replies) or asks_for_voice(text)


def spoken_text(markdown: str) -> str:
    """What is read aloud: the answer without Markdown marks, code or links' addresses."""
    text = markdown
    for pattern, replacement in _MARKDOWN:
        text = pattern.sub(replacement, text)
    return re.sub(r"[ \t]+", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()


class VoiceReplies:
    def __init__(self, settings: Settings, blobs: BlobStore, llm: LlmGateway) -> None:
        self.settings = settings
        self.blobs = blobs
        self.llm = llm

    async def speak(self, answer: str, snapshot: ConfigSnapshot) -> str | None:
        """The blob key of `answer` spoken, or None (no speech model, too long, failed)."""
        model = snapshot.model_with(ModelCapability.speech)
        text = spoken_text(answer)
        if model is None or not text:
            log.info("voice_reply_skipped", reason="no speech model" if model is None else "empty")
            return None
        if len(text) > self.settings.speech_max_chars:
            log.info("voice_reply_skipped", reason="too long", chars=len(text))
            return None
        route = route_for(model.name, snapshot, self.settings)
        try:
            audio = await speak(self.llm, route, text)
        except LlmUnavailable as exc:
            log.error("voice_reply_failed", model=model.name, error=str(exc)[:500])
            return None
        try:
            return await self.blobs.put(audio)
        except RedisFull as exc:  # the text answer still goes out
            log.warning("voice_reply_not_stored", error=str(exc)[:200])
            return None
