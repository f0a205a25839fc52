"""Where a process's CPU goes, by area: a py-spy raw profile (`py-spy record -f raw`) read
as two tables, each sample counted once.

- **self**: the library (or our package) whose code was running: the innermost frame's file.
- **inside**: the service whose code the sample ran under: the outermost frame in one of the
  services' packages; when none is on the stack ("outside every service"), the area of the
  outermost frame below the interpreter's, the event loop's and the launcher's (a server's
  parsing before a route is reached, the queue's reading before a handler is called).

    .venv/bin/python -m bench.profile_areas PROFILE.txt [--messages N --cpu-seconds S]

With the messages the profile covered and the CPU seconds the process used meanwhile, each
row also says its milliseconds per message.
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ops.services import NAMES, ROOT

#: Our packages: the services (a stack is attributed to the outermost of these), then the rest.
SERVICES = NAMES
OURS = (*SERVICES, "common", "ops", "sandbox", "bench")

#: Third-party distributions that are one area between them (the first part of the module).
LIBRARIES = {
    "fastapi": "FastAPI + Starlette",
    "starlette": "FastAPI + Starlette",
    "uvicorn": "uvicorn + httptools (HTTP server)",
    "httptools": "uvicorn + httptools (HTTP server)",
    "h11": "uvicorn + httptools (HTTP server)",
    "sqlalchemy": "SQLAlchemy",
    "sqlmodel": "SQLAlchemy",
    "asyncpg": "asyncpg",
    "redis": "redis-py + hiredis",
    "hiredis": "redis-py + hiredis",
    "aiohttp": "aiohttp + yarl + multidict",
    "yarl": "aiohttp + yarl + multidict",
    "multidict": "aiohttp + yarl + multidict",
    "openai": "OpenAI SDK + httpx",
    "httpx2": "OpenAI SDK + httpx",
    "prometheus_client": "Prometheus metrics",
    "prometheus_fastapi_instrumentator": "Prometheus metrics",
    "httpx": "OpenAI SDK + httpx",
    "httpcore": "OpenAI SDK + httpx",
    "telegram": "python-telegram-bot",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "structlog": "structlog + logging",
    "logging": "structlog + logging",
    "tenacity": "tenacity",
    "asyncio": "asyncio (event loop, transports)",
    "selectors": "asyncio (event loop, transports)",
    "uvloop": "asyncio (event loop, transports)",
    "json": "json",
    "orjson": "json",
}

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")
OUTSIDE = "outside every service"


@dataclass(frozen=True)
class Areas:
    samples: int
    self_time: Counter[str]
    inside: Counter[str]


def module_of(path: str) -> tuple[str, ...]:
    """The dotted parts of the module a frame's file holds. py-spy names a file by its path
    below the `sys.path` entry it was found on (`asyncio/base_events.py`,
    `common/infrastructure/queue.py`), by a bare file name when that entry is the file's own
    folder, by an absolute path, or in brackets (`<frozen runpy>`, `<sqlalchemy generated …>`);
    () for a frame it could not name."""
    if path.startswith("<"):
        words = path.strip("<>").split()
        return tuple(words[1:2] if words[:1] == ["frozen"] else words[:1])
    if not Path(path).name:
        return ()
    parts = Path(path).with_suffix("").parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return tuple(parts[parts.index(marker) + 1 :])
    for index, part in enumerate(parts):
        if part in OURS:
            return tuple(parts[index:])
        if re.fullmatch(r"python3\.\d+", part) and index + 1 < len(parts):
            return tuple(parts[index + 1 :])
    if len(parts) == 1 and parts[0] not in sys.stdlib_module_names:
        return _our_files().get(parts[0], parts)
    return tuple(part for part in parts if part != "/")


@functools.cache
def _our_files() -> dict[str, tuple[str, ...]]:
    """Our modules by their file's bare name (the first found, in the order of OURS)."""
    found: dict[str, tuple[str, ...]] = {}
    for package in OURS:
        for file in sorted((ROOT / package).rglob("*.py")):
            module = file.relative_to(ROOT).with_suffix("").parts
            found.setdefault(module[-1], module)
    return found


def area_of(path: str) -> str:
    module = module_of(path)
    if not module:
        return "other (native, no file)"
    top = module[0]
    if top in OURS:
        return f"ours: {top}"
    if top in LIBRARIES:
        return LIBRARIES[top]
    return f"stdlib: {top}" if top in sys.stdlib_module_names else f"other: {top}"


def _frames(stack: str) -> list[str]:
    """A raw line's frames' file paths, outermost first (py-spy writes them that way)."""
    paths = []
    for frame in stack.split(";"):
        match = _FRAME.match(frame.strip())
        paths.append(match["path"] if match else "")
    return paths


def read(lines: Iterable[str]) -> Areas:
    self_time: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        paths = _frames(stack)
        total += n
        self_time[area_of(paths[-1])] += n
        inside[_inside(paths)] += n
    return Areas(total, self_time, inside)


#: Frames every stack starts with: the interpreter's, the event loop's, the launcher's.
_RUNNERS = {"runpy", "asyncio", "ops", "selectors", "contextlib"}


def _inside(paths: list[str]) -> str:
    """The outermost service on the stack; else, outside every service, the area of the
    outermost frame below the runners (a server's parsing, a queue's reading)."""
    modules = [module_of(p) for p in paths]
    service = next((m[0] for m in modules if m and m[0] in SERVICES), None)
    if service is not None:
        return service
    below = next((p for p, m in zip(paths, modules, strict=True) if m and m[0] not in _RUNNERS), "")
    return f"{OUTSIDE}: {area_of(below)}" if below else OUTSIDE


def table(counted: Counter[str], samples: int, ms_per_sample: float | None) -> str:
    head = "| area | share | ms/msg |" if ms_per_sample else "| area | share |"
    lines = [head, "|---|---|---|" if ms_per_sample else "|---|---|"]
    for area, n in counted.most_common():
        row = f"| {area} | {100 * n / samples:.1f} % |"
        if ms_per_sample:
            row += f" {n * ms_per_sample:.2f} |"
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--messages", type=int, help="messages answered while recording")
    parser.add_argument("--cpu-seconds", type=float, help="the process's CPU meanwhile")
    args = parser.parse_args()
    areas = read(args.profile.read_text().splitlines())
    if not areas.samples:
        raise SystemExit(f"no samples in {args.profile}")
    per_sample = None
    if args.messages and args.cpu_seconds:
        per_sample = 1000 * args.cpu_seconds / args.messages / areas.samples
    print(f"{areas.samples} samples\n\nself time, by area:\n")
    print(table(areas.self_time, areas.samples, per_sample))
    print("\ninside which service:\n")
    print(table(areas.inside, areas.samples, per_sample))


if __name__ == "__main__":
    main()
