"""The Telegram stand-in's refusals, shared by its method modules (no import cycle)."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


class BotApiError(Exception):
    """A Bot API refusal: `{"ok": false, "error_code": status, "description": ...}`."""

    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def int_or_none(value: Any) -> int | None:
    """A Bot API integer parameter as sent (JSON number, or a string in a form post)."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
