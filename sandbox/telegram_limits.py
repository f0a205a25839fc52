"""Telegram's send limits, watched by the stand-in: every call that shows something new in a
chat (a message, a voice, an edit, a draft) is timed, and a call over a limit is recorded as
a violation (and, with `enforce`, refused with a 429 and `retry_after` as Telegram does).

Messages and edits share Telegram's documented limits: about one a second per chat, 20 a
minute per group, 30 a second overall. Drafts (sendMessageDraft) have their own per-chat
windows, 20 per 5 s and 40 per 30 s: observed, not documented, so they are settings here.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

#: Methods that count against the message limits, and the one with its own windows.
SENDS = frozenset({"sendmessage", "sendvoice", "editmessagetext", "editmessagereplymarkup"})
DRAFTS = "sendmessagedraft"


@dataclass(frozen=True)
class Window:
    seconds: float
    calls: int


@dataclass(frozen=True)
class RateLimits:
    chat: tuple[Window, ...] = (Window(1.0, 1),)
    group: tuple[Window, ...] = (Window(60.0, 20),)
    overall: tuple[Window, ...] = (Window(1.0, 30),)
    drafts: tuple[Window, ...] = (Window(5.0, 20), Window(30.0, 40))
    #: Arrival jitter forgiven: a call this much early in its slot is not a violation.
    slack: float = 0.1


@dataclass
class Violation:
    method: str
    chat_id: int
    rule: str  # "chat", "group", "overall" or "drafts"
    window: float
    at: float


@dataclass
class RateWatch:
    limits: RateLimits = field(default_factory=RateLimits)
    #: Refuse a call over a limit with a 429 (else it is accepted and only recorded).
    enforce: bool = False
    violations: list[Violation] = field(default_factory=list)
    _times: dict[tuple[str, int], deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def counts(self, method: str) -> bool:
        return method.lower() in SENDS or method.lower() == DRAFTS

    def wait_needed(self, method: str, chat_id: int, now: float | None = None) -> float:
        """Seconds until a call would be within every limit (0 when it is now)."""
        now = time.monotonic() if now is None else now
        return max((wait for _rule, _w, wait in self._over(method, chat_id, now)), default=0.0)

    def record(self, method: str, chat_id: int, now: float | None = None) -> None:
        """An accepted call: a violation for every limit it broke, then its time kept."""
        now = time.monotonic() if now is None else now
        for rule, window, _wait in self._over(method, chat_id, now):
            self.violations.append(Violation(method, chat_id, rule, window.seconds, now))
        for key in self._keys(method, chat_id):
            self._times[key].append(now)

    def violations_in(self, chat_id: int) -> list[Violation]:
        return [v for v in self.violations if v.chat_id == chat_id]

    def reset(self) -> None:
        self.violations.clear()
        self._times.clear()

    def retry_after(self, method: str, chat_id: int) -> int:
        """Telegram's retry_after: whole seconds, at least 1."""
        return max(1, math.ceil(self.wait_needed(method, chat_id)))

    def _rules(self, method: str, chat_id: int) -> list[tuple[str, tuple[str, int], Window]]:
        limits = self.limits
        if method.lower() == DRAFTS:
            return [("drafts", ("drafts", chat_id), w) for w in limits.drafts]
        rules = [("chat", ("chat", chat_id), w) for w in limits.chat]
        if chat_id < 0:
            rules += [("group", ("chat", chat_id), w) for w in limits.group]
        return rules + [("overall", ("overall", 0), w) for w in limits.overall]

    def _keys(self, method: str, chat_id: int) -> set[tuple[str, int]]:
        return {key for _rule, key, _window in self._rules(method, chat_id)}

    def _over(self, method: str, chat_id: int, now: float) -> list[tuple[str, Window, float]]:
        found = []
        for rule, key, window in self._rules(method, chat_id):
            times = self._times[key]
            horizon = now - window.seconds + self.limits.slack
            recent = [t for t in times if t > horizon]
            if len(recent) >= window.calls:
                oldest = recent[-window.calls]
                found.append((rule, window, oldest + window.seconds - self.limits.slack - now))
            self._forget(times, now)
        return found

    def _forget(self, times: deque[float], now: float) -> None:
        longest = max(
            w.seconds
            for w in (*self.limits.chat, *self.limits.group, *self.limits.overall,
                      *self.limits.drafts)
        )  # fmt: skip
        while times and times[0] < now - longest:
            times.popleft()
