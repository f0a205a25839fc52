"""Text from outside (Telegram, a model, a queue) made safe for every store and wire format.

JSON may carry a lone UTF-16 surrogate ("\\ud800") that no UTF-8 encoder accepts, and NUL,
which Postgres text refuses. Both become U+FFFD, which keeps the length in UTF-16 code units,
so Telegram's entity offsets still point at the same words.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()<>#+\-.!|~]")


def has_unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None


def clean_text(text: str) -> str:
    """`text` with surrogate pairs joined and lone surrogates and NUL replaced by U+FFFD."""
    if not has_unsafe(text):
        return text
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", REPLACEMENT)


def clean_tree(value: object) -> object:
    """`clean_text` applied to every string (keys too) inside JSON-like data."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    return value


def trim(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit - 100)
    return cut[:space] if space > 0 else cut


def escape_markdown(text: str) -> str:
    """A value placed into Markdown (a user's name, a stored fact) that must not become
    markup."""
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", text)
