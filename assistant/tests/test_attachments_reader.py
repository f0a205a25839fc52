"""The attachment reader in process, at its boundary: whatever tg_bot's queue entry says a file
is, and whatever bytes it holds (or not), a turn is made or a `Refusal` says why; never another
exception, and never a file's bytes in what the history stores. Real Redis (the blob store)
and the LLM stand-in over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.assistants.attachments import AttachmentReader, Refusal
from assistant.src.clients.llm import LlmGateway
from assistant.src.settings import Settings
from common.blobs import BlobStore
from common.messages import Attachment, AttachmentKind, IncomingMessage
from common.wire import ConfigSnapshot, LLMModel, ModelCapability
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
    st.sampled_from(
        [
            speech_wav("hello", 0.1),
            picture(4, 4, (9, 9, 9)),
            picture(4, 4, (9, 9, 9), "JPEG"),
            pdf("words"),
            docx_file("words"),
            b"plain words",
        ]
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
