"""The model's Markdown as Telegram HTML that Telegram accepts, with nothing of it lost."""

from __future__ import annotations

import pytest

from sandbox.telegram_html import parse_html
from tg_bot.src.domain.formatting import MarkdownRenderer, escape_markdown


@pytest.fixture(scope="module")
def render() -> MarkdownRenderer:
    return MarkdownRenderer()


def shown(markup: str) -> str:
    """What a Telegram user reads."""
    return parse_html(markup).text


def test_bold_italic_strike_and_code_become_telegram_tags(render) -> None:
    markup = render.render("**bold**, *italic*, ~~gone~~ and `x = 1`")
    assert markup == "<b>bold</b>, <i>italic</i>, <s>gone</s> and <code>x = 1</code>"


def test_fenced_code_keeps_its_language_and_escapes_its_text(render) -> None:
    markup = render.render("```python\nif a < b and c & d:\n    pass\n```")
    assert markup == (
        '<pre><code class="language-python">if a &lt; b and c &amp; d:\n    pass</code></pre>'
    )
    assert parse_html(markup).entities == [
        {"type": "pre", "offset": 0, "length": 28, "language": "python"}
    ]


def test_links_keep_their_address_and_unsafe_schemes_stay_text(render) -> None:
    markup = render.render("[docs](https://example.com/a?b=1&c=2) [x](javascript:alert(1))")
    assert '<a href="https://example.com/a?b=1&amp;c=2">docs</a>' in markup
    assert "javascript" in shown(markup) and '<a href="javascript' not in markup


def test_lists_headings_and_quotes_read_naturally(render) -> None:
    markup = render.render("# Plan\n\n- one\n- two\n  1. sub\n\n> said **so**")
    assert shown(markup) == "Plan\n\n• one\n• two\n  1. sub\n\nsaid so"
    assert markup.startswith("<b>Plan</b>")
    assert "<blockquote>said <b>so</b></blockquote>" in markup


def test_angle_brackets_and_ampersands_arrive_intact(render) -> None:
    text = "if x < 3 && y > 2 then <b>not a tag</b> & AT&T &amp; &lt;"
    markup = render.render(text)
    assert shown(markup) == text


@pytest.mark.parametrize(
    "broken",
    ["**unclosed bold", "*half", "`open code", "[link](", "_a_b_c", "***", "~~strike", "# "],
)
def test_broken_markdown_is_delivered_as_written(render, broken: str) -> None:
    markup = render.render(f"before {broken} after")
    assert shown(markup).replace("\n", " ").split() == f"before {broken} after".split()


def test_raw_html_in_a_reply_is_shown_not_obeyed(render) -> None:
    markup = render.render("<script>alert(1)</script> <i>hi</i>")
    assert shown(markup) == "<script>alert(1)</script> <i>hi</i>"


def test_tables_become_aligned_monospace(render) -> None:
    markup = render.render("| a | bb |\n|---|---|\n| 1 | 2 |")
    assert shown(markup) == "a | bb\n--+---\n1 | 2"


def test_values_escaped_for_markdown_render_as_themselves(render) -> None:
    name = "*Bob_the [builder](x) <3*"
    assert shown(render.render(f"Hello, {escape_markdown(name)}!")) == f"Hello, {name}!"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            "Here is the code: ```python\nprint(1)\n```\nThat prints 1.",
            "Here is the code:\n\nprint(1)\n\nThat prints 1.",
        ),
        ("Run ```\nls -la\n``` and look at the output", "Run\n\nls -la\n\nand look at the output"),
        ("```python\nx = 1\n``` then more text after", "x = 1\n\nthen more text after"),
    ],
)
def test_a_code_fence_opened_mid_line_keeps_the_text_around_it(
    render, markdown: str, expected: str
) -> None:
    markup = render.render(markdown)
    assert shown(markup) == expected
    assert "<pre" in markup


def test_words_after_a_fence_language_and_links_telegram_cannot_open_stay_readable(
    render,
) -> None:
    fence = '```python title="a.py"\nx = 1\n```'
    assert shown(render.render(fence)) == 'python title="a.py"\nx = 1'
    assert shown(render.render("> ```js\n> x\n> ```")) == "js\nx"
    assert shown(render.render("[docs](/docs) and [site](www.example.com)")) == (
        "docs (/docs) and site (www.example.com)"
    )
    assert shown(render.render("[1]: https://example.com")) == "[1]: https://example.com"


def test_a_link_without_words_shows_its_address(render) -> None:
    markup = render.render("see [](https://example.com/x) and [](docs/page)")
    assert markup == 'see <a href="https://example.com/x">https://example.com/x</a> and docs/page'


def test_an_image_alt_text_over_two_lines_reads_as_one(render) -> None:
    markup = render.render("![a red\nball](https://example.com/b.png)")
    assert markup == '<a href="https://example.com/b.png">a red ball</a>'
