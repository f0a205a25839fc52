"""Long answers cut into ordered parts of at most 4096 that each parse on their own."""

from __future__ import annotations

import random
import re

from sandbox.telegram_html import parse_html, utf16_len
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.domain.splitting import split_html


def long_markdown(size: int = 10_000, seed: int = 7) -> str:
    """Paragraphs, lists and code blocks with markup, entities and non-BMP characters."""
    rng = random.Random(seed)
    words = (
        "plan",
        "**bold**",
        "*it*",
        "`a<b`",
        "x & y",
        "<tag>",
        "привет",
        "🏟",
        "[l](https://e.com/?a=1&b=2)",
    )
    blocks: list[str] = []
    while sum(len(b) + 2 for b in blocks) < size:
        roll = rng.random()
        if roll < 0.15:
            lines = "\n".join(f"    x{i} = {i} < {i + 1} & ok" for i in range(rng.randint(3, 60)))
            blocks.append(f"```python\n{lines}\n```")
        elif roll < 0.3:
            blocks.append("\n".join(f"- {' '.join(rng.choices(words, k=6))}" for _ in range(4)))
        else:
            sentences = (" ".join(rng.choices(words, k=rng.randint(4, 12))) + "." for _ in range(6))
            blocks.append(" ".join(sentences))
    return "\n\n".join(blocks)


def visible(markup: str) -> str:
    return re.sub(r"\s", "", parse_html(markup).text)


def test_a_10000_character_answer_becomes_ordered_parts_that_all_parse() -> None:
    markdown = long_markdown()
    assert len(markdown) >= 10_000
    markup = MarkdownRenderer().render(markdown)
    parts = split_html(markup, 4096)
    assert len(parts) >= 3
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert "".join(visible(part) for part in parts) == visible(markup)


def test_parts_end_on_paragraph_or_sentence_boundaries() -> None:
    markup = MarkdownRenderer().render(
        "\n\n".join(f"Paragraph {i}. " + "word " * 150 for i in range(20))
    )
    parts = split_html(markup, 4096)
    assert len(parts) > 1
    for part in parts[:-1]:
        assert parse_html(part).text.endswith("word")
    for part in parts[1:]:
        assert parse_html(part).text.startswith("Paragraph")


def test_a_cut_inside_markup_closes_and_reopens_the_tags() -> None:
    code = "\n".join(f"line {i} < {i + 1}" for i in range(600))
    markup = MarkdownRenderer().render(f"```sql\n{code}\n```")
    parts = split_html(markup, 4096)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith('<pre><code class="language-sql">') and part.endswith(
            "</code></pre>"
        )
        assert parse_html(part).entities[0]["type"] == "pre"
    assert "\n".join(parse_html(p).text for p in parts) == code


def test_text_without_any_boundary_is_still_cut_within_the_limit() -> None:
    markup = "<b>" + "x" * 9000 + "</b>"
    parts = split_html(markup, 4096)
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert "".join(parse_html(part).text for part in parts) == "x" * 9000


def test_entities_are_never_cut_through() -> None:
    markup = "a &amp; b " * 1500
    parts = split_html(markup, 1000)
    assert all(utf16_len(part) <= 1000 for part in parts)
    assert all("&amp" not in part.replace("&amp;", "") for part in parts)


def test_a_short_answer_is_one_part_as_it_is() -> None:
    assert split_html("<b>hi</b> there", 4096) == ["<b>hi</b> there"]
    assert split_html("   ", 4096) == []


def test_trailing_blanks_after_the_last_cut_make_no_empty_part() -> None:
    parts = split_html("word " * 30 + " " * 40 + "\n\n" + " " * 30, 40)
    assert parts and all(part.strip() for part in parts)
    assert " ".join(p.strip() for p in parts).split() == ["word"] * 30


def test_a_tag_longer_than_the_limit_is_kept_whole_and_the_split_ends() -> None:
    """Nothing can be cut inside a tag: one longer than a part is a part of its own, never
    lost, never a split that does not end (at 4096 it takes a link address that long)."""
    link = '<a href="https://example.com/' + "h" * 100 + '">x</a>'
    parts = split_html(f"{link} after", 40)
    assert "".join(parts).replace(" ", "") == f"{link}after".replace(" ", "")
    assert parse_html(parts[0]).text == "x"
