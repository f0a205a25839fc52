"""The wall clock of production code: one reading, so every timestamp is aware and in UTC
and a local time is always `utcnow().astimezone(zone)`."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
