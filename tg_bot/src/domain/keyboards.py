"""Buttons from queue messages as the Bot API's `reply_markup`: the inline keyboard, or the
one-time "Share my phone number" keyboard when the message asks for the number and has no
inline buttons (a message carries one keyboard)."""

from __future__ import annotations

from typing import Any

from common.infrastructure.queue_messages import Button, OutgoingMessage


def keyboard(buttons: list[list[Button]]) -> dict[str, Any] | None:
    """`{"inline_keyboard": [[...]]}`, or None when there is nothing to show. A button with
    neither callback data nor a URL cannot be sent, so it is left out (and an empty row with it)."""
    rows = [[_button(b) for b in row if b.data or b.url] for row in buttons]
    rows = [row for row in rows if row]
    return {"inline_keyboard": rows} if rows else None


def markup_of(message: OutgoingMessage) -> dict[str, Any] | None:
    """What goes under the last part of `message`."""
    inline = keyboard(message.buttons)
    if inline is not None or not message.request_phone:
        return inline
    share = {"text": message.request_phone[:64], "request_contact": True}
    return {"keyboard": [[share]], "one_time_keyboard": True, "resize_keyboard": True}


def _button(button: Button) -> dict[str, str]:
    if button.url:
        return {"text": button.text, "url": button.url}
    return {"text": button.text, "callback_data": button.data or ""}
