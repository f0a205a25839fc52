"""Telegram HTML cut into messages of at most `limit` UTF-16 units, each valid on its own.

Cuts fall on the best boundary that keeps a part reasonably full: a blank line, then a line
end, then a sentence end, then a space, and only as a last resort anywhere else. Tags and
entities are never cut through: tags open at a cut are closed at the end of the part and
opened again at the start of the next one, so every part parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT = re.compile(r"<[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|[^<&]|&")
_TAG_NAME = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)")
_EMPTY_PAIR = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^>]*)?>\s*</\1>")
_SENTENCE_END = set(".!?…;:")
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}

#: Boundary strength: a part is cut at the strongest boundary that leaves it at least half full.
PARAGRAPH, LINE, SENTENCE, WORD, ANYWHERE = 4, 3, 2, 1, 0


@dataclass(frozen=True)
class _Unit:
    raw: str
    kind: str  # "open", "close" or "char"
    char: str = ""  # the character a "char" unit stands for
    tag: str = ""

    @property
    def size(self) -> int:
        return utf16_len(self.raw)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_html(markup: str, limit: int = 4096) -> list[str]:
    """Parts of `markup` in order, each at most `limit` UTF-16 units of HTML."""
    if utf16_len(markup) <= limit:
        return [markup] if markup.strip() else []
    units = [_unit(match.group()) for match in _UNIT.finditer(markup)]
    parts: list[str] = []
    stack: list[_Unit] = []
    start = 0
    while start < len(units):
        start = _skip_leading_space(units, start, stack)
        if start >= len(units):
            break
        end, stack_at_end = _cut(units, start, stack, limit)
        part = _assemble(units, start, end, stack, stack_at_end)
        if _visible(part):
            parts.append(part)
        start, stack = end, stack_at_end
    return parts


def _unit(raw: str) -> _Unit:
    if raw.startswith("</"):
        return _Unit(raw, "close", tag=_tag(raw))
    if raw.startswith("<") and len(raw) > 1:
        return _Unit(raw, "open", tag=_tag(raw))
    return _Unit(raw, "char", char=_ENTITIES.get(raw, raw if len(raw) == 1 else "&"))


def _tag(raw: str) -> str:
    found = _TAG_NAME.match(raw)
    return found.group(1).lower() if found else ""


def _cut(units: list[_Unit], start: int, stack: list[_Unit], limit: int) -> tuple[int, list[_Unit]]:
    """The end index of the part starting at `start`, and the tags open there."""
    opened = list(stack)
    size = sum(u.size for u in opened)
    closers = sum(len(u.tag) + 3 for u in opened)
    best: dict[int, tuple[int, list[_Unit], int]] = {}
    tail = ["", ""]  # the last two characters seen, for boundary strength
    i = start
    while i < len(units):
        unit = units[i]
        if size + unit.size + (closers if unit.kind != "close" else 0) > limit and i > start:
            break
        size += unit.size
        if unit.kind == "open":
            opened.append(unit)
            closers += len(unit.tag) + 3
        elif unit.kind == "close" and opened:
            opened.pop()
            closers -= len(unit.tag) + 3
        else:
            tail = [tail[1], unit.char]
        i += 1
        if size + closers <= limit:
            best[_strength(tail, units, i)] = (i, list(opened), size)
    if i >= len(units):
        return i, opened
    return _choose(best, start, i, opened, limit)


def _strength(tail: list[str], units: list[_Unit], i: int) -> int:
    before, last = tail
    upcoming = units[i] if i < len(units) else None
    starts_something = upcoming is not None and (
        upcoming.kind == "open" or (upcoming.kind == "char" and not upcoming.char.isspace())
    )
    if starts_something:
        if last == "\n":
            return PARAGRAPH if before == "\n" else LINE
        if last.isspace():
            return SENTENCE if before in _SENTENCE_END else WORD
    return ANYWHERE


def _choose(
    best: dict[int, tuple[int, list[_Unit], int]],
    start: int,
    reached: int,
    opened: list[_Unit],
    limit: int,
) -> tuple[int, list[_Unit]]:
    for strength in (PARAGRAPH, LINE, SENTENCE, WORD, ANYWHERE):
        found = best.get(strength)
        if found and found[2] >= limit // 2:
            return found[0], found[1]
    fullest = max(best.values(), key=lambda b: b[0], default=None)
    if fullest is None:
        return max(reached, start + 1), opened
    return fullest[0], fullest[1]


def _skip_leading_space(units: list[_Unit], start: int, stack: list[_Unit]) -> int:
    in_code = any(u.tag in ("pre", "code") for u in stack)
    while start < len(units) and units[start].kind == "char":
        char = units[start].char
        if not (char == "\n" or (char.isspace() and not in_code)):
            break
        start += 1
    return start


def _assemble(
    units: list[_Unit], start: int, end: int, stack: list[_Unit], stack_at_end: list[_Unit]
) -> str:
    last = end
    while last > start and units[last - 1].kind == "char" and units[last - 1].char.isspace():
        last -= 1
    body = "".join(u.raw for u in units[start:last])
    head = "".join(u.raw for u in stack)
    tail = "".join(f"</{u.tag}>" for u in reversed(stack_at_end))
    part = head + body + tail
    while True:
        cleaned = _EMPTY_PAIR.sub("", part)
        if cleaned == part:
            return part.strip()
        part = cleaned


def _visible(part: str) -> bool:
    return bool(re.sub(r"<[^>]*>", "", part).strip())
