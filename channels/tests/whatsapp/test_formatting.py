"""An answer as WhatsApp messages: the model's Markdown in WhatsApp's marks, cut within
WhatsApp's limits without losing a character, buttons as reply buttons where WhatsApp has
them (three, titles of 20) and as numbered lines where it has not, and a reminder as the
template's one-line parameter."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from channels.src.adapters.whatsapp.formatting import (
    INTERACTIVE_BODY_LIMIT,
    TEXT_LIMIT,
    WhatsAppRenderer,
    split,
    units,
)
from channels.src.adapters.whatsapp.layout import (
    messages,
    reply_buttons,
    template,
    template_parameter,
)
from common.features.buttons import confirm_buttons, fired_reminder_buttons
from common.infrastructure.queue_messages import Button
from tests.tiers import examples

RENDER = WhatsAppRenderer()


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("**bold** and *italic* and ~~gone~~", "*bold* and _italic_ and ~gone~"),
        ("# Plan\ntext", "*Plan*\n\ntext"),
        ("see [the docs](https://example.org/a)", "see the docs (https://example.org/a)"),
        ("<https://example.org>", "https://example.org"),
        ("- one\n- two\n  - deep", "• one\n• two\n  ◦ deep"),
        ("1. first\n2. second", "1. first\n2. second"),
        ("```python\nprint(1)\n```", "```print(1)```"),
        ("use `pip install`", "use `pip install`"),
        ("> quoted\n> twice", "> quoted\n> twice"),
        ("** spaced **", "** spaced **"),
        ("a<b>c</b>", "a<b>c</b>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "```a | b\n--+--\n1 | 2```"),
        ("![a cat](https://e.org/cat.png)", "a cat (https://e.org/cat.png)"),
        ("![a\ncat](https://e.org/c.png)", "a cat (https://e.org/c.png)"),
        ("| [x](https://e.org) |\n|---|", "```x (https://e.org)\n" + "-" * 17 + "```"),
    ],
    ids=[
        "marks",
        "heading",
        "link",
        "autolink",
        "bullets",
        "ordered",
        "fence",
        "inline-code",
        "quote",
        "spaced-stars",
        "raw-html",
        "table",
        "image",
        "image-alt-on-two-lines",
        "link-in-a-table",
    ],
)
def test_markdown_becomes_whatsapp_marks(markdown: str, shown: str) -> None:
    assert RENDER.render(markdown) == shown


def test_a_fence_a_model_opens_mid_line_keeps_the_text_after_it() -> None:
    shown = RENDER.render("Here: ```python\nprint(1)\n``` and then")
    assert shown.startswith("Here:") and "print(1)" in shown and shown.endswith("and then")


PIECES = ["*", "**", "_", "~~", "`", "```", "# ", "- ", "1. ", "> ", "[", "](", ")", "https://e.com",
          "\n", "\n\n", " ", "word", "Привет", "🙂", "👨‍👩‍👧", "|", "---"]  # fmt: skip
MARKDOWN = st.lists(st.sampled_from(PIECES) | st.text(max_size=10), max_size=40).map("".join)


WORDS = st.lists(
    st.sampled_from(["word ", "🙂", "\n", "\n\n", "x" * 50, "Привет "]), max_size=400
).map("".join)
#: A fence's language word, which WhatsApp has no place for.
_LANGUAGE = re.compile(r"(`{3,}|~{3,})[ ]*[A-Za-z0-9_+#.-]+[ ]*$", re.MULTILINE)


#: An ordered list item's number: numbered again as Markdown numbers a list ("1." then "1."
#: is a list of two, shown "1." and "2."), so not a letter of the text that must stay.
_ITEM_NUMBER = re.compile(r"^[ \t]*\d{1,9}[.)](?=[ \t]|$)", re.MULTILINE)


def _letters(text: str) -> list[str]:
    return [c for c in _ITEM_NUMBER.sub("", text) if c.isalnum()]


@settings(max_examples=examples(300), deadline=None)
@given(markdown=MARKDOWN)
@example(markdown="1. \n 1. ")  # a list of two, numbered 1 and 2 (CI drew it)
def test_rendering_keeps_every_letter_and_digit_in_order(markdown: str) -> None:
    shown = RENDER.render(markdown)
    source = _LANGUAGE.sub(r"\1", markdown.replace("https://e.com", ""))
    wanted, seen = _letters(source), iter(_letters(shown))
    assert all(any(c == s for s in seen) for c in wanted), (markdown, shown)


@settings(max_examples=examples(300), deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8"), max_size=3000) | WORDS,
    limit=st.integers(min_value=2, max_value=600),
)  # fmt: skip
def test_splitting_keeps_every_character_within_the_limit(text: str, limit: int) -> None:
    parts = split(text, limit)
    assert all(part and units(part) <= limit for part in parts)
    assert all(part == part.strip() for part in parts)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())


def test_a_limit_too_small_for_every_character_is_refused_rather_than_looping() -> None:
    with pytest.raises(ValueError, match="at least one character"):
        split("🙂", 1)


def test_a_long_answer_is_cut_at_paragraphs_within_4096() -> None:
    paragraph = "word " * 150
    parts = split("\n\n".join([paragraph.strip()] * 12))
    assert len(parts) > 1
    assert all(units(p) <= TEXT_LIMIT and p.endswith("word") for p in parts)


def test_up_to_three_answering_buttons_are_reply_buttons_with_titles_cut_to_20() -> None:
    yes_no = confirm_buttons("0" * 32, "en", deleting=False)
    replies, lines = reply_buttons(yes_no)
    assert [title for _, title in replies] == ["✅ Yes, do it", "No, don't"]
    assert [data for data, _ in replies] == [b.data for b in yes_no[0]]
    assert lines == []
    long = [[Button(text="A very long label that goes on", data="x")]]
    assert reply_buttons(long)[0] == [("x", "A very long label t…")]


def test_more_than_three_buttons_are_a_numbered_list_under_the_text() -> None:
    fired = fired_reminder_buttons("1b4e28ba-2fa1-11d2-883f-0016d3cca427", "en")
    [body] = messages("⏰ feed the cat", fired)
    assert body["type"] == "text"
    shown = body["text"]["body"]
    assert shown.startswith("⏰ feed the cat\n\n1. ")
    assert shown.count("\n") == 5  # four numbered lines


def test_a_link_button_is_a_line_beside_the_reply_buttons() -> None:
    buttons = [[Button(text="Open", url="https://example.org/x"), Button(text="Ok", data="ok")]]
    [body] = messages("Here", buttons)
    assert body["type"] == "interactive"
    assert body["interactive"]["body"]["text"] == "Here\n\n1. Open: https://example.org/x"
    assert body["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "ok", "title": "Ok"}}
    ]


@settings(max_examples=examples(150), deadline=None)
@given(
    text=st.text(max_size=6000),
    labels=st.lists(st.text(min_size=1, max_size=64), max_size=5),
)
def test_every_answer_fits_whatsapps_limits(text: str, labels: list[str]) -> None:
    buttons = [[Button(text=label, data=f"d{i}") for i, label in enumerate(labels)]]
    bodies = messages(text, buttons)
    for body in bodies[:-1]:
        assert body["type"] == "text"
    for body in bodies:
        if body["type"] == "text":
            assert 0 < units(body["text"]["body"]) <= TEXT_LIMIT
        else:
            interactive = body["interactive"]
            assert 0 < units(interactive["body"]["text"]) <= INTERACTIVE_BODY_LIMIT
            titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
            assert 1 <= len(titles) <= 3 and all(0 < len(t) <= 20 for t in titles)
            assert len(set(titles)) == len(titles)


def test_a_long_answer_with_buttons_goes_first_and_the_buttons_under_its_last_1024() -> None:
    paragraphs = [f"Paragraph {n}: " + "word " * 60 for n in range(30)]  # about 9 500 units
    buttons = [[Button(text="Yes", data="y"), Button(text="No", data="n")]]
    bodies = messages("\n\n".join(paragraphs), buttons)
    *words, last = bodies
    assert [b["type"] for b in words] == ["text"] * len(words) and len(words) >= 3
    assert last["type"] == "interactive"
    assert units(last["interactive"]["body"]["text"]) <= INTERACTIVE_BODY_LIMIT
    shown = " ".join([*(b["text"]["body"] for b in words), last["interactive"]["body"]["text"]])
    assert shown.split() == "\n\n".join(paragraphs).split()


def test_a_long_reminder_is_cut_to_the_templates_1024_with_an_ellipsis() -> None:
    parameter = template_parameter("⏰ " + "call the plumber about the boiler, " * 60)
    assert len(parameter) == 1024 and parameter.endswith("…")
    assert parameter.startswith("⏰ call the plumber about the boiler,")


@settings(max_examples=examples(150), deadline=None)
@given(text=st.text(max_size=3000))
def test_the_template_parameter_is_one_line_within_its_limit(text: str) -> None:
    parameter = template_parameter(text)
    assert parameter and len(parameter) <= 1024
    assert "\n" not in parameter and "\t" not in parameter and "     " not in parameter


def test_the_template_setting_may_name_its_language() -> None:
    assert template("reminder", "x")["template"]["language"] == {"code": "en"}
    assert template("reminder:de_DE", "x")["template"]["name"] == "reminder"
    assert template("reminder:de_DE", "x")["template"]["language"] == {"code": "de_DE"}
