"""Code fences a model writes mid-line, moved to lines of their own before Markdown is parsed:
tg_bot's Telegram HTML and the channels service's Slack mrkdwn both read the model's Markdown
with markdown-it-py, and both would lose code to a fence CommonMark does not see."""

from __future__ import annotations

import re

_FENCE_LINE = re.compile(r"^( {0,3})(`{3,})(.*)$")
_FENCE_RUN = re.compile(r"`{3,}")


def fences_on_own_lines(markdown: str) -> str:
    """Markdown whose code fences each have a line of their own.

    Models open fences mid-line (`Here: ```python`) and write on after the closing one
    (```` ``` and then ````); CommonMark reads the first as paragraph text and the second as
    code that runs to the end, so the code and the text after it would be lost or garbled.
    """
    lines = markdown.split("\n")
    closers = _longest_closer_after(lines)
    out: list[str] = []
    fence = ""  # the backticks of the open fence, "" outside one
    for line, closer in zip(lines, closers, strict=True):
        pending: str | None = line
        while pending is not None:
            head, pending = _split_fence(pending, fence, closer)
            out.append(head)
            fence = _fence_after(head, fence)
    return "\n".join(out)


def _longest_closer_after(lines: list[str]) -> list[int]:
    """For each line, the longest fence on a later line that could close one (0: none), so
    each line is looked at a fixed number of times however many fences a reply has."""
    longest = [0] * len(lines)
    best = 0
    for i in range(len(lines) - 1, -1, -1):
        longest[i] = best
        found = _FENCE_LINE.match(lines[i])
        if found and _closes(found, 0):
            best = max(best, len(found[2]))
    return longest


def _split_fence(line: str, fence: str, closer_after: int) -> tuple[str, str | None]:
    """The line up to a fence that should start or end a line, and what follows it."""
    found = _FENCE_LINE.match(line)
    if fence:
        if found and _closes(found, len(fence)) and found[3].strip():
            return line[: found.end(2)], found[3].strip()
        return line, None
    if found:
        return line, None
    runs = list(_FENCE_RUN.finditer(line))
    if not runs:
        return line, None
    last = runs[-1]
    alone = sum(len(run[0]) == len(last[0]) for run in runs) == 1
    opens = alone and "`" not in line[last.end() :] and line[: last.start()].strip()
    if opens and closer_after >= len(last[0]):
        return line[: last.start()].rstrip(), line[last.start() :]
    return line, None


def _closes(found: re.Match[str], length: int) -> bool:
    """A fence line that ends a fence of `length` (text after it is split off first)."""
    rest = found[3]
    return len(found[2]) >= length and (not rest.strip() or rest[0].isspace())


def _fence_after(line: str, fence: str) -> str:
    found = _FENCE_LINE.match(line)
    if not found:
        return fence
    if fence:
        return "" if _closes(found, len(fence)) else fence
    return "" if "`" in found[3] else found[2]
