"""Speech to text and text to speech over the provider's OpenAI-compatible `/audio`
endpoints, through `LlmGateway.request`: the same provider keys, clients, retries and circuit
breaker as chat calls. Failures come back as `LlmUnavailable`."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Final

import openai

from assistant.src.clients.llm import LlmGateway, ModelRoute

#: The extensions the transcription endpoint accepts: it reads the format from the name.
AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
_BY_MIME = {
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/x-m4a": "m4a",
    "audio/m4a": "m4a",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
}
#: The voice replies are spoken in; Telegram plays Ogg Opus as a voice message.
SPEECH_VOICE = "alloy"
SPEECH_FORMAT: Final = "opus"


def audio_file_name(file_name: str | None, mime_type: str | None) -> str:
    """A name whose extension tells the endpoint the format (Telegram voice notes: Ogg)."""
    suffix = PurePosixPath(file_name or "").suffix.lower().lstrip(".")
    if suffix in AUDIO_EXTENSIONS:
        return str(file_name)
    mime = (mime_type or "").split(";")[0].strip().lower()
    return f"voice.{_BY_MIME.get(mime, 'ogg')}"


async def transcribe(
    llm: LlmGateway,
    route: ModelRoute,
    audio: bytes,
    file_name: str,
    mime_type: str | None = None,
) -> str:
    """What was said in `audio`, as the transcription model heard it."""

    async def call(client: openai.AsyncOpenAI) -> str:
        file = (file_name, audio, mime_type) if mime_type else (file_name, audio)
        result = await client.audio.transcriptions.create(model=route.model, file=file)
        return result.text

    return (await llm.request(route, call)).strip()


async def speak(llm: LlmGateway, route: ModelRoute, text: str) -> bytes:
    """`text` spoken by the speech model, as Ogg Opus."""

    async def call(client: openai.AsyncOpenAI) -> bytes:
        response = await client.audio.speech.create(
            model=route.model, input=text, voice=SPEECH_VOICE, response_format=SPEECH_FORMAT
        )
        return response.content

    return await llm.request(route, call)
