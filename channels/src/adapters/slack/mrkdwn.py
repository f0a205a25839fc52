"""The model's Markdown as Slack's mrkdwn, cut to Slack's limits, with our buttons as Block Kit.

markdown-it-py parses (as tg_bot's `formatting.py` does: raw HTML off, code fences a model
opens mid-line moved to their own lines); this module walks its tree into `*bold*`,
`_italic_`, `~strike~`, `` `code` ``, fenced blocks, `<url|text>` links and lists as lines.
`&`, `<` and `>` are always escaped, so nothing a model writes becomes a mention (`<!channel>`)
or a link Slack would follow. A message is sections of at most `SECTION_LIMIT` characters,
as many to a message as keep its text under `TEXT_LIMIT`, the buttons under the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from common.infrastructure.markdown_fences import fences_on_own_lines
from common.infrastructure.queue_messages import Button

Json = dict[str, Any]

#: A `section` block's text.
SECTION_LIMIT = 3000
#: A message's `text`; the sections of one message together stay under it.
TEXT_LIMIT = 40_000
SECTIONS_PER_MESSAGE = TEXT_LIMIT // (SECTION_LIMIT + 1)
#: A button's label.
BUTTON_TEXT_LIMIT = 75
FENCE = "```"

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_BULLETS = ("•", "◦", "▪")
_RULE = "———"
_ENTITY = re.compile(r"&(amp|lt|gt);")
_MD = (
    MarkdownIt("commonmark", {"html": False})
    .enable(["strikethrough", "table"])
    .disable(["entity", "reference"])
)


def escape(text: str) -> str:
    """Text as mrkdwn: Slack reads `&`, `<` and `>` as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    source = fences_on_own_lines(markdown.replace("\r\n", "\n"))
    root = SyntaxTreeNode(_MD.parse(source))
    return _blocks(root.children, depth=0).strip()


def _blocks(nodes: list[SyntaxTreeNode], *, depth: int, tight: bool = False) -> str:
    rendered = (_block(node, depth=depth) for node in nodes)
    return ("\n" if tight else "\n\n").join(part for part in rendered if part)


def _block(node: SyntaxTreeNode, *, depth: int) -> str:
    kind = node.type
    if kind == "paragraph":
        return _inlines(node)
    if kind == "heading":
        return _wrap("*", _inlines(node))
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, depth=depth)
    if kind == "blockquote":
        inner = _blocks(node.children, depth=depth)
        return "\n".join(f"&gt; {line}" if line else "&gt;" for line in inner.split("\n"))
    if kind in ("fence", "code_block"):
        code = node.content.rstrip("\n")
        return f"{FENCE}\n{escape(code)}\n{FENCE}" if code.strip() else ""
    if kind == "hr":
        return _RULE
    return _table(node)  # the parser makes no other block: raw HTML and references are off


def _list(node: SyntaxTreeNode, *, depth: int) -> str:
    ordered = node.type == "ordered_list"
    start = int(node.attrs.get("start", 1) or 1) if ordered else 1
    items = []
    for index, item in enumerate(node.children):
        marker = f"{start + index}." if ordered else _BULLETS[depth % 3]
        body = _blocks(item.children, depth=depth + 1, tight=True)
        lines = body.split("\n")
        pad = "    "
        rest = [f"{pad}{line}" if line else line for line in lines[1:]]
        items.append("\n".join([f"{marker} {lines[0]}", *rest]))
    return "\n".join(items)


def _table(node: SyntaxTreeNode) -> str:
    """A table as a code block of aligned columns (Slack shows no tables); Markdown's table
    always has its header row."""
    rows = [[_plain(c) for c in row.children] for part in node.children for row in part.children]
    widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return f"{FENCE}\n{escape(chr(10).join(lines))}\n{FENCE}"


def _inlines(node: SyntaxTreeNode) -> str:
    return "".join(_inline(child) for child in node.children)


def _inline(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("text", "html_inline", "html_block"):
        return escape(node.content)
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    if kind == "code_inline":
        content = node.content
        # mrkdwn has no escape for a backtick inside code: such code stays text
        return escape(content) if "`" in content else f"`{escape(content)}`"
    if kind == "strong":
        return _wrap("*", _inlines(node))
    if kind == "em":
        return _wrap("_", _inlines(node))
    if kind == "s":
        return _wrap("~", _inlines(node))
    if kind == "link":
        return _link(str(node.attrs.get("href", "")), _inlines(node))
    if kind == "image":
        return _link(str(node.attrs.get("src", "")), escape(_plain(node)) or "image")
    return _inlines(node) if node.children else escape(node.content)


def _wrap(mark: str, inner: str) -> str:
    """`inner` between marks; Slack shows marks around spaces as they are, so the spaces go
    outside."""
    stripped = inner.strip()
    if not stripped:
        return inner
    head = inner[: len(inner) - len(inner.lstrip())]
    tail = inner[len(inner.rstrip()) :]
    return f"{head}{mark}{stripped}{mark}{tail}"


def _link(href: str, inner: str) -> str:
    if not href.lower().startswith(_SAFE_SCHEMES) or any(c in href for c in "<>| \n"):
        shown = escape(href)
        return inner if not shown or shown == inner else f"{inner} ({shown})"
    # a link's label cannot hold `|` or `>`, and Slack shows no formatting inside it
    label = inner.replace("|", "¦").replace("\n", " ")
    return f"<{href.replace('&', '&amp;')}|{label}>" if label else f"<{href}>"


def _plain(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline", "html_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(_plain(child) for child in node.children)


# -- limits --------------------------------------------------------------------------------


def cut(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters that join back to it: cut after a
    line where one ends within the limit, else after a space, else anywhere but inside an
    escape (`&amp;`)."""
    pieces = []
    while len(text) > limit:
        window = text[:limit]
        end = window.rfind("\n") + 1 or window.rfind(" ") + 1
        if end <= 0:
            end = limit
            for found in _ENTITY.finditer(text, max(0, limit - 5), limit + 5):
                if found.start() < limit < found.end():
                    end = found.start()
        end = max(end, 1)
        pieces.append(text[:end])
        text = text[end:]
    if text or not pieces:
        pieces.append(text)
    return pieces


def sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """The mrkdwn `text` as section texts of at most `limit`: a code block cut in two is
    closed at the end of one and opened again in the next."""
    room = limit - 2 * (len(FENCE) + 1)
    out = []
    open_fence = False
    for piece in cut(text, room):
        shown = f"{FENCE}\n{piece}" if open_fence else piece
        for line in piece.split("\n"):
            if line.strip() == FENCE or (line.startswith(FENCE) and line.count(FENCE) % 2):
                open_fence = not open_fence
        if open_fence:
            shown = f"{shown.rstrip(chr(10))}\n{FENCE}"
        shown = shown.strip("\n")
        if shown.strip():
            out.append(shown)
    return out


@dataclass(frozen=True)
class SlackMessage:
    """One `chat.postMessage`: its fallback text and its blocks."""

    text: str
    blocks: list[Json]


def messages(markdown: str, buttons: list[list[Button]]) -> list[SlackMessage]:
    """The posts an answer becomes: sections grouped under Slack's text limit, the buttons
    under the last."""
    rendered = to_mrkdwn(markdown) or escape(markdown.strip())
    if not rendered.strip():
        return [SlackMessage("…", actions(buttons))] if actions(buttons) else []
    parts = sections(rendered)
    groups = [
        parts[i : i + SECTIONS_PER_MESSAGE] for i in range(0, len(parts), SECTIONS_PER_MESSAGE)
    ]
    out = []
    for index, group in enumerate(groups):
        blocks: list[Json] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in group
        ]
        if index == len(groups) - 1:
            blocks += actions(buttons)
        out.append(SlackMessage("\n".join(group), blocks))
    return out


def actions(buttons: list[list[Button]]) -> list[Json]:
    """Each row of buttons an `actions` block; a button with data sends it back as its
    value, a link button opens its page."""
    blocks = []
    for row_index, row in enumerate(buttons):
        elements = []
        for index, button in enumerate(row[:25]):
            element: Json = {
                "type": "button",
                "action_id": f"b{row_index}.{index}",
                "text": {"type": "plain_text", "text": button.text[:BUTTON_TEXT_LIMIT]},
            }
            if button.url:
                element["url"] = button.url[:3000]
            elif button.data:  # at most 64 characters (`Button`), under Slack's 2000
                element["value"] = button.data
            else:
                continue
            elements.append(element)
        if elements:
            blocks.append({"type": "actions", "elements": elements})
    return blocks[:20]
