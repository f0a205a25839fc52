"""The child process of `file_worker.py`: limits itself, reads one job (a JSON header line,
then the file's bytes) from stdin, and answers on stdout (a JSON header line, then the
result's bytes). Only what parsing needs is imported: it starts fast and small."""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

from assistant.src.pictures import scaled_picture
from common.features.documents import FileUnreadable, read_document

#: The exit status when the child ran out of its memory.
OUT_OF_MEMORY = 3


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


def main(argv: list[str]) -> int:
    _limit(int(argv[0]), float(argv[1]))
    raw = sys.stdin.buffer.read()
    header_line, _, data = raw.partition(b"\n")
    del raw
    try:
        header, payload = _work(json.loads(header_line), data)
    except MemoryError:
        return OUT_OF_MEMORY
    sys.stdout.buffer.write(json.dumps(header).encode() + b"\n" + payload)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
