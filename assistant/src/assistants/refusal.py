"""Why a turn's files cannot be used: the turn is answered with the reason, without a model.

Its own module so the model order (a picture needs a model that sees) can refuse a turn
without importing the attachment reader that uses it."""

from __future__ import annotations

from common.features.documents import SUPPORTED
from common.features.texts import TEXTS

PHRASES = TEXTS.section("attachment")


class Refusal(Exception):
    """The turn is answered with this phrase (the catalogue's `attachment.*`) instead of a model."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def text(self, language: str | None) -> str:
        return PHRASES.text(language, self.key, supported=SUPPORTED, **self.values)
