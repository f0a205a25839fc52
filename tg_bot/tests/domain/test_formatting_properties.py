"""Markdown → Telegram HTML for any text: nothing a reader should see is lost, and Telegram
(the stand-in's strict parser) accepts the message and every part it is split into.

"Visible" is defined once, here: a character that is not whitespace, not a control, format,
surrogate or unassigned code point (Unicode category C*), and not ASCII punctuation, since
every Markdown markup character is ASCII punctuation and may rightly disappear (`**`, `#`,
`[`). Letters, digits, emoji and all other symbols are visible. A character reference
(`&amp;`, `&#65;`) counts as markup too: in text it is shown as written, but CommonMark
decodes it in a link's address and a fence's info line (`&amp;` in a URL means `&`). The
property: the visible characters of the input, in order, are a subsequence of the visible
characters of what Telegram shows, where a link's address counts as shown after its text and
a code block's language before its code (Telegram displays both).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sandbox.telegram_html import parse_html, utf16_len
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.domain.splitting import split_html

RENDER = MarkdownRenderer()
_TAG = re.compile(r"<(/?)([a-z-]+)[^>]*>")
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
CORPUS = Path(__file__).parent / "data" / "model_markdown.txt"

#: Pieces models combine; hypothesis joins them in any order, so structure meets structure.
PIECES = [
    "*", "**", "_", "__", "`", "``", "```", "```python", "~~", "#", "## ", "- ", "* ", "1. ",
    "2) ", "> ", "[", "]", "(", ")", "](", "![", "https://e.com/a_(b)", "www.x.org", "/p",
    "|", "| a | b |", "|---|---|", "---", "***", "<b>", "</b>", "<", ">", "&", "&amp;", "\\",
    "\n", "\n\n", " ", "  ", "    ", "\t", ":", "word", "snake_case_name", "Привет", "мир",
    "🙂", "👨‍👩‍👧", "1", "x²", "> ```js\n", "```js title", "<https://a.b>", "![x](y)",
    "[a]: b", "&#65;", "\r\n", "\x00", "\u200b",
]  # fmt: skip


def visible(text: str) -> list[str]:
    return [c for c in text if _is_visible(c)]


def visible_input(markdown: str) -> list[str]:
    return visible(_REFERENCE.sub("", markdown))


def _is_visible(char: str) -> bool:
    if char.isspace() or unicodedata.category(char).startswith("C"):
        return False
    return not (char.isascii() and not char.isalnum())


def shown(markup: str) -> str:
    """What Telegram shows for `markup`, with link addresses and code languages in place."""
    parsed = parse_html(markup)
    ends: dict[int, list[str]] = defaultdict(list)
    starts: dict[int, list[str]] = defaultdict(list)
    for entity in parsed.entities:
        if entity["type"] == "text_link":
            ends[entity["offset"] + entity["length"]].append(unquote(entity["url"]))
        if entity["type"] == "pre" and entity.get("language"):
            starts[entity["offset"]].append(entity["language"])
    out: list[str] = []
    position = 0
    for char in parsed.text:
        out += ends.pop(position, []) + starts.pop(position, [])
        out.append(char)
        position += utf16_len(char)
    out += [text for key in sorted(ends) for text in ends[key]]
    return "".join(out)


def assert_nothing_lost(markdown: str, shown_text: str) -> None:
    wanted, seen = visible_input(markdown), iter(visible(shown_text))
    for index, char in enumerate(wanted):
        assert char in seen, (
            f"visible character {char!r} (#{index}, after {''.join(wanted[:index])[-20:]!r}) "
            f"is missing from what Telegram shows: {shown_text!r}"
        )


def nesting_room(markup: str) -> int:
    """The smallest part that can hold one character at the deepest nesting: its open tags,
    their closing tags and the widest entity. Below that no splitter can keep the limit."""
    stack: list[int] = []
    deepest = 0
    for tag in _TAG.finditer(markup):
        if tag[1]:
            stack.pop()
        else:
            stack.append(len(tag[0]) + len(tag[2]) + 3)
            deepest = max(deepest, sum(stack))
    return deepest + len("&quot;")


def check(markdown: str, limit: int) -> None:
    """`limit` is raised to the nesting room when a reply nests deeper than it allows."""
    markup = RENDER.render(markdown)
    assert_nothing_lost(markdown, shown(markup))
    if visible(markdown):
        assert visible(shown(markup)), "a reply with text became an empty message"
    limit = max(limit, nesting_room(markup))
    parts = split_html(markup, limit)
    for part in parts:
        assert utf16_len(part) <= limit, f"a part of {utf16_len(part)} units: {part!r}"
    assert_nothing_lost(markdown, "".join(shown(part) for part in parts))


def corpus() -> list[str]:
    blocks = CORPUS.read_text(encoding="utf-8").split("\n%%%\n")
    return [block for block in blocks[1:] if block.strip()]


@pytest.mark.parametrize("markdown", corpus())
@pytest.mark.parametrize("limit", [4096, 120])
def test_what_models_write_arrives_whole_and_parses(markdown: str, limit: int) -> None:
    check(markdown, limit)


def test_the_corpus_has_the_cases_it_promises() -> None:
    text = "\n".join(corpus())
    for case in ("```python", "|---", "## ", "**This is bold\n", "_snake_case_", "](https://"):
        assert case in text
    assert len(corpus()) >= 25


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=400), limit=st.sampled_from([4096, 300, 60]))
@example(text="Here: ```python\nprint(1)\n``` and after", limit=4096)
def test_any_text_arrives_whole_and_parses(text: str, limit: int) -> None:
    check(text, limit)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(st.sampled_from(PIECES), max_size=60),
    limit=st.sampled_from([4096, 300, 60]),
)
@example(pieces=["![", "![x](y)", "](", ")"], limit=4096)  # an image inside an image
def test_any_mix_of_markdown_arrives_whole_and_parses(pieces: list[str], limit: int) -> None:
    check("".join(pieces), limit)
