"""Files are parsed in a child process with memory and time limits, never in the assistant.

A document's text (`common/features/documents.py`) and a picture's scaled JPEG
(`pictures.py`) come from a fresh `python -m assistant.src.file_child` with an address-space
limit of `DOCUMENT_PARSE_MAX_MB` and a CPU limit, killed after `DOCUMENT_PARSE_SECONDS` of
wall time.
Whatever a hostile file makes a parser do (a zip or PDF bomb, a pixel flood, a parser's own
bug), it does there: the child fails, the user gets a short refusal, and the assistant's
memory is what it was. The child starts with an empty environment (no secrets to read) and
reads one job from stdin: a JSON header line, then the file's bytes; it answers on stdout
with a JSON header line, then the result's bytes.

At most `DOCUMENT_PARSE_CONCURRENCY` jobs run at once, and a turn holds a file's bytes only
while its job holds a slot (`slot()`), so a burst of albums holds a bounded number of files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

from assistant.src.file_child import OUT_OF_MEMORY
from assistant.src.pictures import PictureProblem, PictureUnreadable
from assistant.src.settings import Settings
from common.features.documents import (
    DocumentKind,
    DocumentProblem,
    DocumentText,
    DocumentUnreadable,
)
from common.infrastructure.logging import get_logger

log = get_logger(__name__)

_ROOT = Path(__file__).resolve().parents[2]
#: A file: its bytes, or its chunks as they are read (from the blob store).
Bytes = bytes | AsyncIterable[bytes]
#: What the child's stderr may add to a log line.
_STDERR_CHARS = 300
#: coverage.py's configuration for a measured run (`ops/processes.py` passes it on likewise).
_COVERAGE_VARIABLE = "COVERAGE_PROCESS_CONFIG"


class FileWorker:
    """The parent side: runs jobs in children, one slot each."""

    def __init__(self, settings: Settings) -> None:
        self._max_mb = settings.document_parse_max_mb
        self._seconds = settings.document_parse_seconds
        self._slots = asyncio.Semaphore(settings.document_parse_concurrency)
        #: Jobs waiting for a slot now.
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold while a file goes to its child and is parsed there."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def document(
        self, data: Bytes, mime_type: str | None, file_name: str | None, max_chars: int
    ) -> DocumentText:
        job = {"job": "document", "mime": mime_type, "name": file_name, "max_chars": max_chars}
        header, payload = await self._run(job, data, DocumentProblem.TOO_HEAVY)
        if "problem" in header:
            raise DocumentUnreadable(DocumentProblem(header["problem"]), header.get("detail", ""))
        return DocumentText(payload.decode(), DocumentKind(header["kind"]), bool(header["cut"]))

    async def picture(self, data: Bytes, max_pixels: int, max_side: int) -> bytes:
        """A JPEG of the picture no side of which exceeds `max_side`."""
        job = {"job": "picture", "max_pixels": max_pixels, "max_side": max_side}
        header, payload = await self._run(job, data, PictureProblem.TOO_MANY_PIXELS)
        if "problem" in header:
            raise PictureUnreadable(PictureProblem(header["problem"]), header.get("detail", ""))
        return payload

    async def _run(
        self, job: dict[str, Any], data: Bytes, heavy: str
    ) -> tuple[dict[str, Any], bytes]:
        """The child's answer; a child killed or failing for its limits answers `heavy`."""
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "assistant.src.file_child",
            str(self._max_mb), str(self._seconds),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=_child_env(), cwd=_ROOT,
        )  # fmt: skip
        try:
            async with asyncio.timeout(self._seconds):
                out, err = await _exchange(child, json.dumps(job).encode() + b"\n", data)
        except TimeoutError:
            log.warning("file_job_timed_out", job=job["job"], seconds=self._seconds)
            return {"problem": heavy, "detail": f"over {self._seconds:g} s"}, b""
        finally:  # timed out, or the turn cancelled: no child outlives its job
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await asyncio.shield(child.wait())
        header_line, _, payload = out.partition(b"\n")
        if child.returncode != 0 or not header_line:
            error = err.decode(errors="replace")[-_STDERR_CHARS:]
            log.warning("file_job_failed", job=job["job"], returncode=child.returncode,
                        error=error)  # fmt: skip
            killed = child.returncode in (-signal.SIGKILL, -signal.SIGXCPU, OUT_OF_MEMORY)
            return {"problem": heavy if killed or "MemoryError" in error else "unreadable"}, b""
        header: dict[str, Any] = json.loads(header_line)
        return header, payload


async def _exchange(
    child: asyncio.subprocess.Process, header: bytes, data: Bytes
) -> tuple[bytes, bytes]:
    """Feed the job to the child a chunk at a time while its answer is read; its output."""
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    stdin = child.stdin

    async def feed() -> None:
        try:
            stdin.write(header)
            async for chunk in _chunks(data):
                stdin.write(chunk)
                await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died (its limits): its exit status says why
        finally:
            stdin.close()

    _fed, out, err = await asyncio.gather(feed(), child.stdout.read(), child.stderr.read())
    await child.wait()
    return out, err


async def _chunks(data: Bytes) -> AsyncIterator[bytes]:
    if isinstance(data, bytes):
        yield data
        return
    async for chunk in data:
        yield chunk


def _child_env() -> dict[str, str]:
    """Nothing of the assistant's environment (its tokens and keys) reaches a parser; only
    coverage.py's configuration, in a measured test run, so the child is measured too."""
    env = {"PYTHONPATH": str(_ROOT), "PATH": os.defpath, "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip
    if _COVERAGE_VARIABLE in os.environ:
        env[_COVERAGE_VARIABLE] = os.environ[_COVERAGE_VARIABLE]
    return env
