"""The attachment reader in process, at its boundary: whatever tg_bot's queue entry says a file
is, and whatever bytes it holds (or not), a turn is made or a `Refusal` says why; never another
exception, and never a file's bytes in what the history stores. Real Redis (the blob store)
and the LLM stand-in over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.assistants.attachments import AttachmentReader, Refusal, vision_routes
from assistant.src.clients.llm import LlmGateway, ModelRoute
from assistant.src.settings import Settings
from common.features.blobs import BlobStore
from common.infrastructure.queue_messages import Attachment, AttachmentKind, IncomingMessage
from common.infrastructure.wire import ConfigSnapshot, LLMModel, ModelCapability
from sandbox.llm_server import LlmStandIn
from tests.media_files import docx_file, pdf, picture, speech_wav

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_MIMES = st.sampled_from(
    [None, "", "audio/ogg", "audio/wav", "image/jpeg", "image/png", "application/pdf",
     "text/plain", "application/octet-stream", "video/mp4", "text/csv; charset=utf-8"]
)  # fmt: skip
_NAMES = st.sampled_from([None, "", "a.pdf", "b.docx", "c.txt", "voice.oga", "x.png", "noext"])
_BYTES = st.one_of(
    st.binary(max_size=300),
    # Made when the test first draws one, not at import (fpdf2 and python-docx in every
    # xdist worker's collection).
    st.deferred(
        lambda: st.sampled_from(
            [
                speech_wav("hello", 0.1),
                picture(4, 4, (9, 9, 9)),
                picture(4, 4, (9, 9, 9), "JPEG"),
                pdf("words"),
                docx_file("words"),
                b"plain words",
            ]
        )
    ),
    st.none(),  # expired
)
_FILES = st.lists(
    st.tuples(
        st.sampled_from(list(AttachmentKind)),
        _MIMES,
        _NAMES,
        st.one_of(st.none(), st.integers(min_value=-5, max_value=10**9)),
        _BYTES,
    ),
    min_size=1,
    max_size=3,
)


def snapshot(llm: LlmStandIn) -> ConfigSnapshot:
    now = datetime.now(UTC)
    provider = {"id": uuid.uuid4(), "name": "sandbox", "base_url": llm.base_url}
    whisper = LLMModel.model_validate(
        {
            "id": uuid.uuid4(),
            "name": "whisper-1",
            "provider_model_name": "whisper-1",
            "display_name": None,
            "provider_id": provider["id"],
            "provider": provider,
            "is_default": False,
            "is_fallback": False,
            "is_active": True,
            "capabilities": [ModelCapability.transcription],
            "created_at": now,
            "updated_at": now,
        }
    )
    return ConfigSnapshot(version=1, secretary=None, assistants=(), models=(whisper,))


async def _keys(_provider_id: str) -> str:
    return "sk-test"


@pytest.mark.e2e  # starts processes in its body
@PROPERTY
@given(files=_FILES, caption=st.text(max_size=40))
async def test_any_files_make_a_turn_or_a_refusal(
    settings: Settings,
    redis,
    names,
    llm: LlmStandIn,
    files: list[tuple[AttachmentKind, str | None, str | None, int | None, bytes | None]],
    caption: str,
) -> None:
    blobs = BlobStore(redis, names)
    gateway = LlmGateway(settings, _keys)
    attachments = []
    for kind, mime, name, number, data in files:
        key = await blobs.put(data) if data is not None else names.blob(uuid.uuid4().hex)
        attachments.append(
            Attachment(
                kind=kind,
                blob_key=key,
                mime_type=mime,
                file_name=name,
                size=number,
                duration=number,
            )
        )
    message = IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=1,
        user_id=uuid.uuid4(),
        text=caption,
        attachments=attachments,
    )
    reader = AttachmentReader(settings, blobs, gateway)
    try:
        turn = await reader.read(message, snapshot(llm), "en")
    except Refusal as refusal:
        assert refusal.text("ru") and refusal.text("en")
        return
    finally:
        await gateway.aclose()
    assert "base64" not in turn.text and len(turn.text) <= len(caption) + 200
    if turn.vision:
        assert turn.parts is not None and turn.parts[1]["type"] == "image_url"


CASES: dict[str, tuple[AttachmentKind, bytes | None, dict[str, Any], str]] = {
    # name: (kind, bytes (None: expired), extra attachment fields, expected refusal)
    "voice too long": (AttachmentKind.VOICE, speech_wav("hi", 0.1), {"duration": 301},
                       "voice_too_long"),
    "no transcription model": (AttachmentKind.VOICE, speech_wav("hi", 0.1), {},
                               "no_transcription"),
    "transcription down": (AttachmentKind.VOICE, speech_wav("hi", 0.1), {},
                           "transcription_failed"),
    "nothing heard": (AttachmentKind.VOICE, speech_wav("", 0.1), {}, "nothing_heard"),
    "voice expired": (AttachmentKind.VOICE, None, {}, "file_expired"),
    "picture unreadable": (AttachmentKind.PHOTO, b"not a picture", {}, "picture_unreadable"),
    "document declared too big": (AttachmentKind.DOCUMENT, b"words", {"size": 10**9},
                                  "document_too_big"),
    "document found too big": (AttachmentKind.DOCUMENT, b"w" * 2_000, {"size": 10},
                               "document_too_big"),
}  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        # a picture is read in the file worker's child process
        pytest.param(c, marks=pytest.mark.e2e) if CASES[c][0] is AttachmentKind.PHOTO else c
        for c in CASES
    ],
)
async def test_a_file_that_cannot_make_a_turn_is_refused_saying_why(
    settings: Settings, redis, names, llm: LlmStandIn, case: str
) -> None:
    kind, data, extra, expected = CASES[case]
    blobs = BlobStore(redis, names)
    key = await blobs.put(data) if data is not None else names.blob(uuid.uuid4().hex)
    name = {AttachmentKind.DOCUMENT: "notes.txt"}.get(kind)
    attachment = Attachment(kind=kind, blob_key=key, file_name=name, **extra)
    message = IncomingMessage(
        message_id=uuid.uuid4(), chat_id=1, user_id=uuid.uuid4(), text="", attachments=[attachment]
    )
    config = snapshot(llm)
    if case == "no transcription model":
        config = config.model_copy(update={"models": ()})
    if case == "transcription down":
        llm.media.fail(503, times=100)
    small = settings.model_copy(update={"document_max_bytes": 1_000})
    gateway = LlmGateway(settings, _keys)
    try:
        with pytest.raises(Refusal) as refused:
            await AttachmentReader(small, blobs, gateway).read(message, config, "en")
    finally:
        await gateway.aclose()
    assert refused.value.key == expected
    assert refused.value.text("en") and refused.value.text("ru")


def with_models(llm: LlmStandIn, *models: tuple[str, list[ModelCapability]]) -> ConfigSnapshot:
    whisper = snapshot(llm).models[0]
    listed = tuple(
        whisper.model_copy(update={"name": n, "provider_model_name": n, "capabilities": c})
        for n, c in models
    )
    return ConfigSnapshot(version=1, secretary=None, assistants=(), models=listed)


def test_a_turn_with_pictures_goes_to_a_model_that_sees(settings: Settings, llm) -> None:
    config = with_models(
        llm, ("eyes", [ModelCapability.vision]), ("eyes-2", [ModelCapability.vision]), ("text", [])
    )
    own = [ModelRoute(m, llm.base_url) for m in ("eyes", "text", "eyes-2")]
    # the turn's own models that see, in their order
    assert [r.model for r in vision_routes(config, settings, own, None)] == ["eyes", "eyes-2"]
    # a turn on a model that cannot see goes to one that does
    text_first = [ModelRoute("text", llm.base_url)]
    assert [r.model for r in vision_routes(config, settings, text_first, None)] == ["eyes"]


def test_without_a_model_that_sees_or_with_the_users_own_choice_a_picture_is_refused(
    settings: Settings, llm
) -> None:
    blind = with_models(llm, ("text", []))
    routes = [ModelRoute("text", llm.base_url)]
    with pytest.raises(Refusal) as refused:
        vision_routes(blind, settings, routes, None)
    assert refused.value.key == "no_vision"
    seeing = with_models(llm, ("text", []), ("eyes", [ModelCapability.vision]))
    with pytest.raises(Refusal) as refused:
        vision_routes(seeing, settings, routes, "text")  # the user chose "text" themselves
    assert refused.value.key == "vision_other_model"
    assert refused.value.values == {"model": "text", "vision": "eyes"}
