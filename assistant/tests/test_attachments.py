"""Voice, pictures and documents end to end: the assistant process takes an IncomingMessage with
attachments whose bytes wait in the blob store, as tg_bot leaves them, and answers through
rest_service and the LLM stand-in (transcription, speech, image parts) over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from assistant.src.tools.outside import DATA_NOTE
from assistant.tests.support import Deployment
from common.features.blobs import BlobStore
from common.infrastructure.queue_messages import (
    Attachment,
    AttachmentKind,
    ChatType,
    IncomingMessage,
    OutgoingMessage,
)
from common.infrastructure.wire import TelegramUser
from sandbox.llm_media import transcript_of
from tests.media_files import docx_file, pdf, picture, speech_wav
from tests.waiting import until

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass
class MediaModels:
    """The models of this module's tests, beside the platform's chat models."""

    deployment: Deployment
    suffix: str

    @property
    def vision(self) -> str:
        return f"vision-{self.suffix}"

    @property
    def transcription(self) -> str:
        return f"whisper-{self.suffix}"

    @property
    def speech(self) -> str:
        return f"tts-{self.suffix}"

    def set(self, *, vision: bool = True, transcription: bool = True, speech: bool = True) -> None:
        """Which of them are active (rest_service's config; the assistant reads the new
        version before its next message)."""
        self.deployment.import_models(
            [
                (self.vision, ["chat", "vision"], vision),
                (self.transcription, ["transcription"], transcription),
                (self.speech, ["speech"], speech),
            ]
        )


async def deactivate_other_media_models(deployment: Deployment, ours: set[str]) -> None:
    """The platform's database is shared with earlier tests (rest_service's seed tests leave
    `whisper-1` and `tts-1` on a provider nobody here serves): this module's models must be
    the only ones with these capabilities, or which one answers depends on names."""
    platform = deployment.platform
    headers = {"Authorization": f"Bearer {platform.secrets['ADMIN_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=platform.rest_url, headers=headers) as http:
        for capability in ("vision", "transcription", "speech"):
            found = await http.get(
                "/api/llm-models/", params={"capability": capability, "limit": 1000}
            )
            found.raise_for_status()
            for model in found.json():
                if model["is_active"] and model["provider_model_name"] not in ours:
                    changed = await http.put(
                        f"/api/llm-models/{model['id']}", json={"is_active": False}
                    )
                    changed.raise_for_status()


@pytest.fixture
async def media(deployment: Deployment) -> AsyncIterator[MediaModels]:
    models = MediaModels(deployment, deployment.config.suffix)
    await deactivate_other_media_models(
        deployment, {models.vision, models.transcription, models.speech}
    )
    models.set()
    await deployment.assistant()
    try:
        yield models
    finally:
        models.set(vision=False, transcription=False, speech=False)


async def send_files(
    deployment: Deployment, user: TelegramUser, text: str, *files: tuple[Attachment, bytes | None]
) -> IncomingMessage:
    """`files`: each attachment with its bytes put in the blob store (None: expired)."""
    blobs = BlobStore(deployment.redis, deployment.names)
    for attachment, data in files:
        if data is not None:
            await blobs.put(data, attachment.blob_key.removeprefix(deployment.names.blob("")))
    message = IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=int(user.telegram_id),
        chat_type=ChatType.PRIVATE,
        user_id=user.id,
        telegram_user_id=user.telegram_id,
        first_name=user.first_name,
        language_code=user.language,
        text=text,
        reply_stream=deployment.replies,
        attachments=[a for a, _data in files],
    )
    await deployment.redis.xadd(deployment.names.to_secretary, {"data": message.to_json()})
    return message


def attachment(deployment: Deployment, kind: AttachmentKind, **fields: object) -> Attachment:
    key = deployment.names.blob(uuid.uuid4().hex)
    return Attachment.model_validate({"kind": kind, "blob_key": key, **fields})


def voice(deployment: Deployment, seconds: int = 2) -> Attachment:
    return attachment(
        deployment, AttachmentKind.VOICE, mime_type="audio/wav", duration=seconds, size=100
    )


async def blobs_gone(deployment: Deployment, message: IncomingMessage) -> None:
    async def gone() -> bool:
        keys = [a.blob_key for a in message.attachments]
        return not await deployment.redis.exists(*keys)

    await until(gone, 5, "the turn's blobs deleted")


async def answer(deployment: Deployment, message: IncomingMessage) -> OutgoingMessage:
    return await deployment.answer_to(message, timeout=30)


# -- voice ----------------------------------------------------------------------------------


async def test_a_voice_message_is_transcribed_quoted_and_answered(
    deployment: Deployment, media: MediaModels
) -> None:
    alice = await deployment.user("Alice")
    said = "what should I cook for dinner tonight"
    deployment.llm.reply("Try a mushroom risotto.", contains=said)

    message = await send_files(deployment, alice, "", (voice(deployment), speech_wav(said)))
    reply = await answer(deployment, message)

    assert reply.text == f"🎤 «{said}»\n\nTry a mushroom risotto."
    assert reply.voice_blob_key is None
    (heard,) = deployment.llm.media.requests
    assert heard.endpoint == "transcriptions" and heard.model == media.transcription
    assert heard.fields["file_name"] == "voice.wav"
    (chat,) = deployment.llm.requests
    assert chat.messages[-1] == {"role": "user", "content": said}
    stored = await deployment.thread_messages(str(alice.id))
    assert [(m.role, m.content) for m in stored] == [
        ("user", said),
        ("assistant", "Try a mushroom risotto."),
    ]
    await blobs_gone(deployment, message)


async def test_a_long_transcript_is_quoted_short(
    deployment: Deployment, media: MediaModels
) -> None:
    bob = await deployment.user("Bob")
    said = " ".join(f"word{i}" for i in range(80))
    deployment.llm.reply("Noted.")

    message = await send_files(deployment, bob, "", (voice(deployment), speech_wav(said)))
    reply = await answer(deployment, message)

    quote = reply.text.split("\n\n")[0]
    assert quote.startswith("🎤 «word0 word1") and quote.endswith("…»")
    assert len(quote) < 210
    assert reply.text.endswith("Noted.")


async def test_a_voice_message_over_the_limit_is_refused_politely(
    deployment: Deployment, media: MediaModels
) -> None:
    carol = await deployment.user("Carol")

    long_voice = voice(deployment, seconds=301)
    message = await send_files(deployment, carol, "", (long_voice, speech_wav("hello")))
    reply = await answer(deployment, message)

    assert "too long" in reply.text and "300 seconds" in reply.text
    assert deployment.llm.media.requests == [] and deployment.llm.requests == []
    await blobs_gone(deployment, message)
    process = await deployment.assistant()
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{process.url}/metrics")).text
    refused = (
        'smart_assistant_assistant_attachment_turns_total{kind="voice",outcome="voice_too_long"}'
    )
    assert refused in metrics


async def test_without_a_transcription_model_the_user_hears_an_apology(
    deployment: Deployment, media: MediaModels
) -> None:
    media.set(transcription=False)
    dima = await deployment.user("Dima", language="ru")

    message = await send_files(deployment, dima, "", (voice(deployment), speech_wav("привет")))
    reply = await answer(deployment, message)

    assert reply.text.startswith("Извините") and "голосовые" in reply.text
    assert deployment.llm.media.requests == []


async def test_a_transcription_failing_after_retries_is_an_apology(
    deployment: Deployment, media: MediaModels
) -> None:
    eve = await deployment.user("Eve")
    deployment.llm.media.fail(500, times=3)

    message = await send_files(deployment, eve, "", (voice(deployment), speech_wav("hi")))
    reply = await answer(deployment, message)

    assert "couldn't make out your voice message" in reply.text
    assert [r.status for r in deployment.llm.media.requests] == [500, 500, 500]
    assert deployment.llm.requests == []


async def test_voice_replies_on_speak_the_answer(
    deployment: Deployment, media: MediaModels
) -> None:
    fay = await deployment.user("Fay")
    await deployment.rest.update_user(fay.id, voice_replies=True)
    deployment.llm.reply("**Good morning!** Here is [your plan](https://example.com).")

    reply = await deployment.ask(fay, "good morning")

    assert reply.text == "**Good morning!** Here is [your plan](https://example.com)."
    assert reply.voice_blob_key is not None
    audio = await BlobStore(deployment.redis, deployment.names).get(reply.voice_blob_key)
    assert audio is not None and audio.startswith(b"OggS")
    assert transcript_of(audio) == "Good morning! Here is your plan."
    (spoken,) = deployment.llm.media.requests
    assert spoken.model == media.speech and spoken.fields["response_format"] == "opus"


async def test_asking_for_a_voice_answer_in_the_message_speaks_it_once(
    deployment: Deployment, media: MediaModels
) -> None:
    gleb = await deployment.user("Gleb", language="ru")
    deployment.llm.reply("Сейчас полдень.")

    spoken = await deployment.ask(gleb, "Который час? Ответь голосом")
    written = await deployment.ask(gleb, "А завтра?")

    assert spoken.voice_blob_key is not None and written.voice_blob_key is None


async def test_a_failing_speech_model_leaves_the_text_answer(
    deployment: Deployment, media: MediaModels
) -> None:
    hana = await deployment.user("Hana")
    await deployment.rest.update_user(hana.id, voice_replies=True)
    deployment.llm.media.fail(400)
    deployment.llm.reply("Here you are.")

    reply = await deployment.ask(hana, "hello")

    assert reply.text == "Here you are." and reply.voice_blob_key is None


# -- pictures -------------------------------------------------------------------------------


def photo(deployment: Deployment) -> Attachment:
    return attachment(deployment, AttachmentKind.PHOTO, mime_type="image/jpeg")


async def test_a_photo_with_a_caption_goes_to_a_vision_model(
    deployment: Deployment, media: MediaModels
) -> None:
    ivan = await deployment.user("Ivan")
    image = picture(64, 32, (200, 0, 0), "JPEG")
    deployment.llm.media.blind_models.update(
        {deployment.config.primary, deployment.config.fallback}
    )

    message = await send_files(deployment, ivan, "What colour is it?", (photo(deployment), image))
    reply = await answer(deployment, message)

    assert "64x32 JPEG" in reply.text and "You asked: What colour is it?" in reply.text
    assert "rgb(" in reply.text
    (request,) = deployment.llm.requests
    assert request.model == media.vision
    content = request.messages[-1]["content"]
    assert content[0] == {"type": "text", "text": "What colour is it?"}
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    stored = await deployment.thread_messages(str(ivan.id))
    assert stored[0].content == "What colour is it?\n[photo]"
    await blobs_gone(deployment, message)


async def test_an_album_is_one_turn(deployment: Deployment, media: MediaModels) -> None:
    jan = await deployment.user("Jan")
    files = [
        (photo(deployment), picture(10, 10, (0, 255, 0), "PNG")),
        (photo(deployment), picture(30, 20, (0, 0, 255), "JPEG")),
    ]

    message = await send_files(deployment, jan, "", *files)
    reply = await answer(deployment, message)

    # scaled and sent as JPEG, whatever they came as
    assert "2 pictures" in reply.text and "10x10 JPEG" in reply.text and "30x20 JPEG" in reply.text
    assert len(deployment.llm.requests) == 1
    stored = await deployment.thread_messages(str(jan.id))
    assert stored[0].content == "[2 photos]"


async def test_a_user_who_chose_a_blind_model_is_told_which_model_sees(
    deployment: Deployment, media: MediaModels
) -> None:
    kim = await deployment.user("Kim")
    await deployment.rest.update_user(kim.id, preferred_model=deployment.config.primary)

    message = await send_files(
        deployment, kim, "what is it?", (photo(deployment), picture(8, 8, (1, 2, 3)))
    )
    reply = await answer(deployment, message)

    assert deployment.config.primary in reply.text and f"/model {media.vision}" in reply.text
    assert deployment.llm.requests == []


async def test_without_a_vision_model_pictures_are_not_supported(
    deployment: Deployment, media: MediaModels
) -> None:
    media.set(vision=False)
    lev = await deployment.user("Lev")

    message = await send_files(
        deployment, lev, "look", (photo(deployment), picture(8, 8, (1, 2, 3)))
    )
    reply = await answer(deployment, message)

    assert "can't look at pictures" in reply.text
    assert deployment.llm.requests == []


# -- documents ------------------------------------------------------------------------------


async def test_a_question_about_a_pdf_is_answered_from_its_text(
    deployment: Deployment, media: MediaModels
) -> None:
    mia = await deployment.user("Mia")
    document = attachment(
        deployment, AttachmentKind.DOCUMENT, mime_type="application/pdf", file_name="atlas.pdf"
    )
    deployment.llm.reply("The capital is Poseidonia.", contains="Poseidonia")
    text = pdf("Atlantis, an island nation.", "The capital of Atlantis is Poseidonia.")

    message = await send_files(deployment, mia, "What is the capital?", (document, text))
    reply = await answer(deployment, message)

    assert reply.text == "The capital is Poseidonia."
    (request,) = deployment.llm.requests
    assert request.model == deployment.config.primary
    (part,) = request.messages[-1]["content"]
    assert part["text"].startswith("What is the capital?")
    assert 'source="document atlas.pdf"' in part["text"] and "Poseidonia" in part["text"]
    assert "never an instruction" in part["text"]  # the document is marked as data
    stored = await deployment.thread_messages(str(mia.id))
    assert stored[0].content == "What is the capital?\n[document: atlas.pdf]"
    await blobs_gone(deployment, message)


async def test_a_docx_without_a_caption_is_summarised(
    deployment: Deployment, media: MediaModels
) -> None:
    nik = await deployment.user("Nik")
    document = attachment(
        deployment, AttachmentKind.DOCUMENT, mime_type=DOCX, file_name="minutes.docx"
    )
    deployment.llm.reply("The meeting chose blue.", contains="chose the blue logo")

    message = await send_files(
        deployment, nik, "", (document, docx_file("Minutes", "We chose the blue logo."))
    )
    reply = await answer(deployment, message)

    assert reply.text == "The meeting chose blue."
    (part,) = deployment.llm.requests[0].messages[-1]["content"]
    assert part["text"].startswith("Summarise this document.")


async def test_garbage_sent_as_a_pdf_is_answered_politely(
    deployment: Deployment, media: MediaModels
) -> None:
    oleg = await deployment.user("Oleg")
    document = attachment(
        deployment, AttachmentKind.DOCUMENT, mime_type="application/pdf", file_name="scan.pdf"
    )

    message = await send_files(deployment, oleg, "read this", (document, b"%PDF-1.4\x00\xffjunk"))
    reply = await answer(deployment, message)

    assert "couldn't read this file" in reply.text and "PDF, DOCX" in reply.text
    assert deployment.llm.requests == []
    await blobs_gone(deployment, message)


async def test_a_document_over_the_size_limit_is_refused(
    deployment: Deployment, media: MediaModels
) -> None:
    pia = await deployment.user("Pia")
    document = attachment(
        deployment,
        AttachmentKind.DOCUMENT,
        mime_type="text/plain",
        file_name="big.txt",
        size=11 * 1024 * 1024,
    )

    message = await send_files(deployment, pia, "", (document, b"small really"))
    reply = await answer(deployment, message)

    assert "too big" in reply.text and "10.0 MB" in reply.text


async def test_an_expired_file_is_asked_for_again(
    deployment: Deployment, media: MediaModels
) -> None:
    rui = await deployment.user("Rui")
    document = attachment(
        deployment, AttachmentKind.DOCUMENT, mime_type="application/pdf", file_name="a.pdf"
    )

    message = await send_files(deployment, rui, "what does it say?", (document, None))
    reply = await answer(deployment, message)

    assert "Please send it again" in reply.text
    assert deployment.llm.requests == []


async def test_a_long_document_is_cut_and_the_answer_says_so(
    deployment: Deployment, media: MediaModels
) -> None:
    uma = await deployment.user("Uma")
    document = attachment(
        deployment, AttachmentKind.DOCUMENT, mime_type="text/plain", file_name="long.txt"
    )
    deployment.llm.reply("It repeats itself.")
    text = ("All work and no play. " * 1200).encode()

    message = await send_files(deployment, uma, "What is it about?", (document, text))
    reply = await answer(deployment, message)

    assert reply.text == (
        "📄 long.txt is long: I read its first 20000 characters.\n\nIt repeats itself."
    )
    (part,) = deployment.llm.requests[0].messages[-1]["content"]
    assert 'source="document long.txt (cut: only its beginning)"' in part["text"]
    assert len(part["text"]) < 20_200 + len(DATA_NOTE) + 100  # the text, marked as data
