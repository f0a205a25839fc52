"""The few sentences the assistant says itself, when no model can: in the turn's language
(`language.py`). The texts are the catalogue's `assistant.*` (`common/features/texts/`)."""

from __future__ import annotations

from collections.abc import Sequence

from common.features.texts import TEXTS

CATALOGUE = TEXTS.section("assistant")

#: The phrase for a tool call, by the tool's type; other types get `status.working`.
STATUS_KEYS = {
    "calendar": "status.calendar",
    "weather": "status.weather",
    "time": "status.time",
    "reminder": "status.reminder",
    "sub_assistant": "status.sub_assistant",
    "draw": "status.draw",
}


def status_line(tool_types: Sequence[str | None], language: str | None) -> str:
    """What the user reads while tools run: the first call's kind of work, in their language."""
    first = tool_types[0] if tool_types else None
    return CATALOGUE.text(language, STATUS_KEYS.get(first or "", "status.working"))
