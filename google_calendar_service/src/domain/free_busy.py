"""Busy intervals of several calendars as one day's picture: merged, and the gaps between.

Pure functions, so what "free" means (overlaps, touching meetings, the range's edges) is
tested without any server.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common.features.calendar_client import Interval

Span = tuple[datetime, datetime]


def busy_spans(answer: dict[str, Any], time_min: datetime, time_max: datetime) -> list[Span]:
    """Every calendar's busy intervals in a freeBusy answer, clipped to the range."""
    spans: list[Span] = []
    for calendar in answer.get("calendars", {}).values():
        for slot in calendar.get("busy", []):
            start = datetime.fromisoformat(slot["start"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(slot["end"].replace("Z", "+00:00"))
            start, end = max(start, time_min), min(end, time_max)
            if end > start:
                spans.append((start, end))
    return spans


def unreadable(answer: dict[str, Any]) -> list[str]:
    """The calendars Google answered with errors for (not found, no access)."""
    calendars = answer.get("calendars", {})
    return [calendar_id for calendar_id, found in calendars.items() if found.get("errors")]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping and touching intervals as one, in order."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def gaps(busy: list[Span], time_min: datetime, time_max: datetime) -> list[Span]:
    """The parts of [time_min, time_max) that no merged busy interval covers."""
    free: list[Span] = []
    cursor = time_min
    for start, end in busy:
        if start > cursor:
            free.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < time_max:
        free.append((cursor, time_max))
    return free


def intervals(spans: list[Span], tz: ZoneInfo) -> list[Interval]:
    return [
        Interval(start=start.astimezone(tz).isoformat(), end=end.astimezone(tz).isoformat())
        for start, end in spans
    ]
