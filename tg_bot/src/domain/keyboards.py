"""Buttons from queue messages as the Bot API's inline keyboard (`reply_markup`)."""

from __future__ import annotations

from typing import Any

from common.infrastructure.queue_messages import Button


def keyboard(buttons: list[list[Button]]) -> dict[str, Any] | None:
    """`{"inline_keyboard": [[...]]}`, or None when there is nothing to show. A button with
    neither callback data nor a URL cannot be sent, so it is left out (and an empty row with it)."""
    rows = [[_button(b) for b in row if b.data or b.url] for row in buttons]
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None


def _button(button: Button) -> dict[str, str]:
    if button.url:
        return {"text": button.text, "url": button.url}
    return {"text": button.text, "callback_data": button.data or ""}
