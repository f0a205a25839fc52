"""The child process of `file_worker.py`: limits itself, reads one job (a JSON header line,
then the file's bytes) from stdin, and answers on stdout (a JSON header line, then the
result's bytes). Only what parsing needs is imported: it starts fast and small.

Out of its address space, a parser does not always say MemoryError: pypdf catches `Exception`
(MemoryError is one) and goes on or raises an error of its own, and CPython, unable to
allocate while unwinding, may lose the MemoryError and raise a SystemError instead (a
random-order run saw a PDF bomb answered "unreadable" so, about one read in four). So a failed
job is out of memory when the child's peak address space came near its limit, whatever the
parser raised."""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

from assistant.src.pictures import scaled_picture
from common.features.documents import FileUnreadable, read_document

#: The exit status when the child ran out of its memory.
OUT_OF_MEMORY = 3
#: A failed job whose peak address space came within this share of its limit ran out of
#: memory. A lost MemoryError peaked at the limit (191 of 192 MB: a small allocation failed);
#: an eighth leaves a larger one room. Reading an ordinary file peaks at 55-72 MB (a PDF, a
#: 3-megapixel picture), far under seven eighths of the smallest limit (112 of 128 MB).
NEAR_THE_LIMIT = 1 / 8


def _limit(max_mb: int, seconds: float) -> None:
    memory = max_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _work(job: dict[str, Any], data: bytes) -> tuple[dict[str, Any], bytes]:
    try:
        if job["job"] == "picture":
            return {}, scaled_picture(data, int(job["max_pixels"]), int(job["max_side"]))
        read = read_document(data, job.get("mime"), job.get("name"), int(job["max_chars"]))
        return {"kind": read.kind.value, "cut": read.cut}, read.text.encode()
    except FileUnreadable as exc:
        return {"problem": exc.problem.value, "detail": exc.detail[:300]}, b""


def _peak_status() -> int | None:
    """/proc/self/status, opened before parsing (opening it may need memory then gone)."""
    try:
        return os.open("/proc/self/status", os.O_RDONLY)
    except OSError:  # pragma: no cover: not Linux, where only a MemoryError tells
        return None


def _ran_out(status: int | None, max_mb: int) -> bool:
    """Whether the child's peak address space (VmPeak) came near its limit. (A MemoryError
    reading it ends the child with it on stderr, which `file_worker.py` reads as heavy.)"""
    if status is None:  # pragma: no cover: no /proc off Linux
        return False
    lines = os.pread(status, 4096, 0).splitlines()
    peaks = [int(line.split()[1]) for line in lines if line.startswith(b"VmPeak:")]
    return bool(peaks) and peaks[0] * 1024 >= max_mb * 1024 * 1024 * (1 - NEAR_THE_LIMIT)


def main(argv: list[str]) -> int:
    max_mb = int(argv[0])
    _limit(max_mb, float(argv[1]))
    status = _peak_status()
    raw = sys.stdin.buffer.read()
    header_line, _, data = raw.partition(b"\n")
    del raw
    try:
        header, payload = _work(json.loads(header_line), data)
    except MemoryError:
        return OUT_OF_MEMORY
    except Exception:
        if _ran_out(status, max_mb):
            return OUT_OF_MEMORY
        raise
    if "problem" in header and _ran_out(status, max_mb):
        return OUT_OF_MEMORY  # the parser's answer is what it made of running out
    sys.stdout.buffer.write(json.dumps(header).encode() + b"\n" + payload)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
