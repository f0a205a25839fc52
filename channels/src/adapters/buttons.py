"""Buttons said in words, for the channels that show none (an e-mail, a program calling the
public API): a message whose whole text is a button's label presses that button."""

from __future__ import annotations


def pressed_button(text: str, buttons: list[dict[str, str]]) -> dict[str, str] | None:
    """The button a reply presses: its whole new text is the button's label, in any case,
    without the label's symbols or the reply's punctuation ("cancel" for "✖ Cancel")."""
    said = _words(text)
    return next((b for b in buttons if _words(b["text"]) == said), None) if said else None


def _words(text: str) -> str:
    kept = "".join(c if c.isalnum() else " " for c in text.casefold())
    return " ".join(kept.split())
