"""The few sentences the assistant says itself, when no model can: in the turn's language
(`language.py`). The texts are the catalogue's `assistant.*` (`common/features/texts/`)."""

from __future__ import annotations

from common.features.texts import TEXTS

CATALOGUE = TEXTS.section("assistant")
