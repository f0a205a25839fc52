"""An answer as the WhatsApp messages that carry it: its text in parts within the limits,
its buttons as reply buttons where WhatsApp has them and as lines of text where it has not,
a voice answer as an audio message, and a reminder outside the 24-hour window as the template.

WhatsApp shows at most three reply buttons under a message, each title at most 20 characters,
and no link buttons beside them. So: up to three buttons that answer (`Button.data`) are reply
buttons (their id the data, their title cut to fit); more than three are a numbered list under
the text instead (the person answers in words or with the number), and link buttons are always
lines `title: address` in that list, since a link opens from the text."""

from __future__ import annotations

import re
from typing import Any

from channels.src.adapters.whatsapp.formatting import (
    INTERACTIVE_BODY_LIMIT,
    TEXT_LIMIT,
    WhatsAppRenderer,
    split,
    units,
)
from common.infrastructure.queue_messages import Button

Json = dict[str, Any]

MAX_REPLY_BUTTONS = 3
TITLE_LIMIT = 20
ID_LIMIT = 256
#: A template's text parameter: at most this long, with no line breaks or tabs and no more
#: than four spaces in a row (WhatsApp refuses it otherwise).
TEMPLATE_PARAMETER_LIMIT = 1024
#: What an interactive message says when the answer is all buttons (its body must not be empty).
EMPTY_BODY = "…"
_SPACES = re.compile(r"\s+")
_RENDERER = WhatsAppRenderer()


def render(markdown: str) -> str:
    return _RENDERER.render(markdown)


def reply_buttons(buttons: list[list[Button]]) -> tuple[list[tuple[str, str]], list[str]]:
    """(id, title) of the reply buttons, and the lines of the rest for the text."""
    flat = [b for row in buttons for b in row]
    answering = [b for b in flat if b.url is None and b.data]
    ids = [b.data or "" for b in answering]
    titles = [title(b.text) for b in answering]
    fits = (
        len(answering) <= MAX_REPLY_BUTTONS
        and len(set(ids)) == len(ids) == len(set(titles))  # WhatsApp wants both unique
        and all(len(i) <= ID_LIMIT for i in ids)
    )
    replies = list(zip(ids, titles, strict=True)) if fits else []
    listed = [b for b in flat if not fits or b not in answering]
    lines = [
        f"{n}. {b.text}: {b.url}" if b.url else f"{n}. {b.text}"
        for n, b in enumerate(listed, start=1)
    ]
    return replies, lines


def title(text: str) -> str:
    """A button's label within WhatsApp's 20 characters."""
    text = _SPACES.sub(" ", text).strip() or "…"
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1].rstrip() + "…"


def messages(text: str, buttons: list[list[Button]]) -> list[Json]:
    """The message bodies (`type` and its object, without `to`) for an answer's Markdown
    `text` and its buttons, in the order they are sent."""
    replies, lines = reply_buttons(buttons)
    shown = render(text)
    if lines:
        shown = f"{shown}\n\n" + "\n".join(lines) if shown else "\n".join(lines)
    parts = split(shown, TEXT_LIMIT)
    if not replies:
        return [_text(part) for part in parts]
    last = parts.pop() if parts else ""
    if units(last) > INTERACTIVE_BODY_LIMIT:
        pieces = split(last, INTERACTIVE_BODY_LIMIT)
        last = pieces.pop()
        parts.extend(pieces)
    interactive = {
        "type": "button",
        "body": {"text": last or EMPTY_BODY},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": data, "title": label}} for data, label in replies
            ]
        },
    }
    return [*(_text(part) for part in parts), {"type": "interactive", "interactive": interactive}]


def _text(part: str) -> Json:
    return {"type": "text", "text": {"body": part, "preview_url": False}}


def template_parameter(markdown: str) -> str:
    """An answer as the template's one text parameter: one line, within its limit."""
    flat = _SPACES.sub(" ", render(markdown)).strip() or EMPTY_BODY
    if len(flat) <= TEMPLATE_PARAMETER_LIMIT:
        return flat
    return flat[: TEMPLATE_PARAMETER_LIMIT - 1].rstrip() + "…"


def template(setting: str, parameter: str) -> Json:
    """The template message: `setting` is the template's name, or `name:language` (the
    language code it was approved in; `en` when not given)."""
    name, _, language = setting.strip().partition(":")
    return {
        "type": "template",
        "template": {
            "name": name.strip(),
            "language": {"code": language.strip() or "en"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": parameter}]}],
        },
    }
