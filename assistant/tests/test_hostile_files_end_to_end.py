"""Hostile files against the real assistant process: a DOCX bomb, a zip of zips, a PDF bomb,
pixel floods (a PNG and a JPEG declaring 60000×60000) and an album of ten 9 MB pictures, sent
at once by different people. Every sender gets an answer, and the assistant's peak memory
stays within 64 MB of what it held idle (the parsing happens in child processes). Files of
entries that are dropped (a duplicate) or dead-lettered are deleted with their budget."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from assistant.tests.support import Deployment
from assistant.tests.test_attachments import (  # noqa: F401 (`media`: the fixture)
    DOCX,
    answer,
    attachment,
    media,
    send_files,
)
from common.features.blobs import BlobBudget, BlobStore
from common.infrastructure.queue_messages import (
    Attachment,
    AttachmentKind,
    ChatType,
    IncomingMessage,
)
from common.infrastructure.redis_keys import TO_SECRETARY
from tests.media_files import (
    docx_bomb,
    docx_file,
    jpeg_declaring,
    nested_zip,
    noise_png,
    pdf_bomb,
    picture,
    png_declaring,
)
from tests.waiting import until

pytestmark = pytest.mark.usefixtures("media")

#: The figure of docs/benchmarks.md and docs/security.md "Files".
PEAK_OVER_IDLE_MB = 64


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status field in kB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def _reset_peak(pid: int) -> None:
    """VmHWM starts again from the current RSS (Linux' clear_refs "5")."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _document(deployment: Deployment, name: str, mime: str | None = None) -> Attachment:
    return attachment(deployment, AttachmentKind.DOCUMENT, file_name=name, mime_type=mime)


async def test_hostile_files_get_answers_and_leave_the_assistants_memory_alone(
    deployment: Deployment,
) -> None:
    process = await deployment.assistant()
    assert process.proc is not None
    pid = process.proc.pid
    warm = await deployment.user("Warm")
    # warm up the paths a file takes (a picture and a document), then call that idle
    first = await send_files(
        deployment, warm, "", (_document(deployment, "a.docx", DOCX), docx_file("hello"))
    )
    await answer(deployment, first)
    second = await send_files(
        deployment,
        warm,
        "",
        (attachment(deployment, AttachmentKind.PHOTO), picture(64, 48, (1, 2, 3), "JPEG")),
    )
    await answer(deployment, second)
    idle = _status(pid, "VmRSS")
    _reset_peak(pid)

    big = noise_png(9)
    corpus: list[tuple[str, list[tuple[Attachment, bytes]]]] = [
        ("docx bomb", [(_document(deployment, "report.docx", DOCX), docx_bomb(200))]),
        ("nested zips", [(_document(deployment, "archive.docx", DOCX), nested_zip())]),
        ("pdf bomb", [(_document(deployment, "paper.pdf", "application/pdf"), pdf_bomb())]),
        (
            "png flood",
            [(_document(deployment, "flood.png", "image/png"), png_declaring(60_000, 60_000))],
        ),
        (
            "jpeg flood",
            [(attachment(deployment, AttachmentKind.PHOTO), jpeg_declaring(60_000, 60_000))],
        ),
        (
            "album",
            [(_document(deployment, f"p{i}.png", "image/png"), big) for i in range(10)],
        ),
    ]
    senders = [await deployment.user(f"Sender{i}") for i in range(len(corpus))]
    started = time.perf_counter()
    sent = [
        await send_files(deployment, sender, "", *files)
        for sender, (_what, files) in zip(senders, corpus, strict=True)
    ]
    replies = await asyncio.gather(*(answer(deployment, message) for message in sent))
    peak = _status(pid, "VmHWM")
    took = time.perf_counter() - started

    for (what, _files), reply in zip(corpus, replies, strict=True):
        assert reply.text.strip(), f"{what}: no answer"
    texts = {what: reply.text for (what, _f), reply in zip(corpus, replies, strict=True)}
    assert "too heavy" in texts["docx bomb"] and "too heavy" in texts["pdf bomb"]
    assert "too many pixels" in texts["png flood"] and "too many pixels" in texts["jpeg flood"]
    over = (peak - idle) / 1024
    print(f"hostile files: idle {idle / 1024:.1f} MB, peak {peak / 1024:.1f} MB, "
          f"+{over:.1f} MB; all answered in {took:.1f} s")  # fmt: skip
    assert over < PEAK_OVER_IDLE_MB


async def test_a_duplicate_entrys_files_go_with_their_budget(deployment: Deployment) -> None:
    await deployment.assistant()
    blobs = BlobStore(deployment.redis, deployment.names, budget=BlobBudget(per_user=10**7))
    owner = f"dup-{uuid.uuid4().hex[:6]}"
    key = await blobs.put(docx_file("again"), owner=owner)
    message = IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=1,
        chat_type=ChatType.PRIVATE,
        user_id=uuid.uuid4(),
        text="",
        reply_stream=deployment.replies,
        attachments=[Attachment(kind=AttachmentKind.DOCUMENT, blob_key=key, file_name="a.docx")],
    )
    names = deployment.names
    await deployment.redis.set(names.done(TO_SECRETARY, str(message.message_id)), "1")
    await deployment.redis.xadd(names.to_secretary, {"data": message.to_json()})

    async def gone() -> bool:
        return not await deployment.redis.exists(key) and await blobs.usage(owner) == 0

    await until(gone, 10, "the duplicate's blob deleted and released")


async def test_a_dead_lettered_entrys_files_go_with_their_budget(deployment: Deployment) -> None:
    await deployment.assistant()
    blobs = BlobStore(deployment.redis, deployment.names, budget=BlobBudget(per_user=10**7))
    owner = f"dead-{uuid.uuid4().hex[:6]}"
    key = await blobs.put(b"%PDF-1.4 waiting", owner=owner)
    payload = {"chat_id": 1, "attachments": [{"kind": "document", "blob_key": key}], "v": "x"}
    await deployment.redis.xadd(deployment.names.to_secretary, {"data": json.dumps(payload)})

    async def gone() -> bool:
        return not await deployment.redis.exists(key) and await blobs.usage(owner) == 0

    await until(gone, 10, "the dead letter's blob deleted and released")
