"""The model's Markdown as Slack mrkdwn: the marks Slack knows, `&`, `<` and `>` always
escaped (nothing becomes a mention or a link Slack follows), cut under Slack's limits without
losing text or breaking an escape or a code block; our buttons as an `actions` block."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.src.adapters.slack.mrkdwn import (
    FENCE,
    SECTION_LIMIT,
    TEXT_LIMIT,
    actions,
    cut,
    messages,
    sections,
    to_mrkdwn,
)
from common.infrastructure.queue_messages import Button

CASES = {
    "bold": ("**Bold** text", "*Bold* text"),
    "italic": ("an *italic* word", "an _italic_ word"),
    "strike": ("~~gone~~", "~gone~"),
    "code": ("run `ls <dir>`", "run `ls &lt;dir&gt;`"),
    "pre": ("```python\nif a < b:\n    pass\n```", "```\nif a &lt; b:\n    pass\n```"),
    "link": ("[the docs](https://ex.com/a?b=1&c=2)", "<https://ex.com/a?b=1&amp;c=2|the docs>"),
    "unsafe-link": ("[x](ftp://h.example/f)", "x (ftp://h.example/f)"),
    "list": ("- one\n- two", "• one\n• two"),
    "ordered": ("1. one\n2. two", "1. one\n2. two"),
    "heading": ("# Plan", "*Plan*"),
    "quote": ("> said", "&gt; said"),
    "escapes": ("a & b <!channel> <@U123>", "a &amp; b &lt;!channel&gt; &lt;@U123&gt;"),
    "mid-line-fence": ("Here: ```sh\nls\n```", "Here:\n\n```\nls\n```"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_markdown_becomes_the_mrkdwn_slack_shows(name: str) -> None:
    markdown, expected = CASES[name]
    assert to_mrkdwn(markdown) == expected


_UNESCAPED = re.compile(r"<(?![a-z]+://[^|>]*\|[^>]*>|mailto:)|&(?!amp;|lt;|gt;)")


@given(st.text(max_size=400))
def test_nothing_a_model_writes_becomes_slack_markup_but_its_links(markdown: str) -> None:
    rendered = to_mrkdwn(markdown)
    assert not _UNESCAPED.search(
        re.sub(r"<https?://[^\s|<>]+\|[^<>]*>|<mailto:[^\s|<>]+\|[^<>]*>", "", rendered)
    )


@given(st.text(st.sampled_from("ab &<>\n`x"), max_size=900), st.integers(10, 120))
def test_a_cut_joins_back_to_the_text_and_keeps_escapes_whole(text: str, limit: int) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    pieces = cut(escaped, limit)
    assert "".join(pieces) == escaped
    assert all(0 < len(piece) <= limit for piece in pieces) or pieces == [""]
    for piece in pieces:
        assert (
            not re.search(r"&(a|am|l|g)?$", piece) or piece == pieces[-1] or piece.endswith("&amp")
        )


@given(st.lists(st.sampled_from(["text line", "```", "code < line", "", "x" * 50]), max_size=80),
       st.integers(60, 400))  # fmt: skip
def test_sections_fit_and_each_has_its_code_blocks_closed(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    parts = sections(text, limit)
    assert all(len(part) <= limit for part in parts)
    opened = 0
    for line in text.split("\n"):
        opened ^= line.strip() == FENCE
    if not opened:  # a balanced text's every section is balanced
        assert all(sum(line.strip() == FENCE for line in p.split("\n")) % 2 == 0 for p in parts)
    kept = "".join("".join("".join(part.split(FENCE)).split()) for part in parts)
    assert kept == "".join("".join(text.split(FENCE)).split())


@given(st.integers(1, 130_000))
def test_a_long_answer_is_several_posts_each_under_slacks_limits(length: int) -> None:
    words = ("word " * (length // 5 + 1))[:length]
    posts = messages(words, [[Button(text="OK", data="b1:dn:x:")]])
    assert all(len(post.text) <= TEXT_LIMIT for post in posts)
    assert all(
        len(b["text"]["text"]) <= SECTION_LIMIT
        for p in posts
        for b in p.blocks
        if b["type"] == "section"
    )
    assert all(len(post.blocks) <= 50 for post in posts)
    assert [b["type"] for b in posts[-1].blocks][-1] == "actions"
    assert "".join("".join(p.text.split()) for p in posts) == "".join(words.split())


def test_buttons_are_an_actions_block_each_row() -> None:
    rows = [
        [
            Button(text="Yes", data="b1:ey:0123456789abcdef0123456789abcdef:"),
            Button(text="No", data="b1:en:x:"),
        ],
        [Button(text="Open the page", url="https://ex.com/")],
    ]
    blocks = actions(rows)
    assert [b["type"] for b in blocks] == ["actions", "actions"]
    yes, no = blocks[0]["elements"]
    assert (
        yes["value"] == "b1:ey:0123456789abcdef0123456789abcdef:" and yes["text"]["text"] == "Yes"
    )
    assert no["action_id"] != yes["action_id"]
    (link,) = blocks[1]["elements"]
    assert link["url"] == "https://ex.com/" and "value" not in link


def test_an_empty_answer_without_buttons_is_not_posted() -> None:
    assert messages("  \n", []) == []


#: What models write in answers, as Slack should show it.
MODEL_ANSWERS = {
    "table": (
        "| Day | Time & place |\n|-----|------|\n| Mon | `9:00` |\n"
        "| Tuesday | **10:30** at <home> |",
        "```\nDay     | Time &amp; place\n--------+----------------\nMon     | 9:00\n"
        "Tuesday | 10:30 at &lt;home&gt;\n```",
    ),
    "table-with-a-short-row": (
        "| a | b | c |\n|---|---|---|\n| 1 |",
        "```\na | b | c\n--+---+--\n1 |   |\n```",
    ),
    "nested-lists": (
        "1. Pack\n   - passport\n     - a copy\n   - charger\n2. Go",
        "1. Pack\n    ◦ passport\n        ▪ a copy\n    ◦ charger\n2. Go",
    ),
    "list-from-three": ("3. three\n4. four", "3. three\n4. four"),
    "rule-between-parts": ("Before\n\n---\n\nAfter", "Before\n\n———\n\nAfter"),
    "picture": ("See ![the chart](https://ex.com/c.png).", "See <https://ex.com/c.png|the chart>."),
    "picture-without-words": ("![](https://ex.com/c.png)", "<https://ex.com/c.png|image>"),
    "empty-heading-and-bold": ("#\n\n**[](<>)** text", "text"),
}


@pytest.mark.parametrize("name", list(MODEL_ANSWERS))
def test_what_models_write_is_shown_as_slack_can(name: str) -> None:
    markdown, expected = MODEL_ANSWERS[name]
    assert to_mrkdwn(markdown) == expected


cells = st.text(st.sampled_from("ab7 &<>é"), min_size=1, max_size=12).filter(str.strip)


@given(st.lists(st.lists(cells, min_size=2, max_size=2), min_size=1, max_size=6))
def test_a_table_is_a_code_block_of_aligned_columns(rows: list[list[str]]) -> None:
    header, *body = [[c.strip() for c in row] for row in rows]
    lines = [f"| {a} | {b} |" for a, b in [header, *body]]
    lines.insert(1, "|---|---|")
    shown = to_mrkdwn("\n".join(lines)).split("\n")
    assert shown[0] == shown[-1] == FENCE
    table = shown[1:-1]
    assert len(table) == len(rows) + 1
    unescaped = [t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for t in table]
    column = max(len(row[0]) for row in [header, *body])
    assert all(line[column : column + 3] == " | " for line in unescaped[:1] + unescaped[2:])
    for line, (first, second) in zip(unescaped[:1] + unescaped[2:], [header, *body], strict=True):
        assert line.split(" | ", 1)[0].rstrip() == first and line.rstrip().endswith(second)


def test_a_button_that_sends_nothing_and_opens_nothing_is_left_out() -> None:
    rows = [[Button(text="Idle"), Button(text="OK", data="b1:dn:y:")], [Button(text="Idle too")]]
    (row,) = actions(rows)
    assert [e["text"]["text"] for e in row["elements"]] == ["OK"]
