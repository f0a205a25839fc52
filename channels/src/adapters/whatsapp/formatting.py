"""The model's Markdown as WhatsApp text, and text cut to WhatsApp's limits.

WhatsApp marks text up with characters, not tags: `*bold*`, `_italic_`, `~strike~`,
```` ```monospace``` ```` for a block, `` `code` `` inline, `> ` for a quote and `- `/`1. ` for
lists. It has no links with their own text and no escape, so a link is its text and its address
in brackets, headings are bold lines and a table is a monospace block. markdown-it-py parses
(CommonMark, raw HTML and references off), as for Telegram (tg_bot's formatting); this module
only walks the tree."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from common.infrastructure.markdown_fences import fences_on_own_lines

#: WhatsApp's limit on a text message's body, and on an interactive message's body.
TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
_BULLETS = ("•", "◦", "▪")
_RULE = "———"
_MARKS = {"strong": "*", "em": "_", "s": "~"}
#: A fence's line that only names the code's language (or is empty).
_LANGUAGE_WORD = re.compile(r"^[A-Za-z0-9_+#.-]*$")


class WhatsAppRenderer:
    def __init__(self) -> None:
        self._md = (
            MarkdownIt("commonmark", {"html": False})
            .enable(["strikethrough", "table"])
            .disable(["entity", "reference"])
        )

    def render(self, markdown: str) -> str:
        # A fence a model opens mid-line would swallow the rest (as in tg_bot's renderer).
        markdown = fences_on_own_lines(markdown.replace("\r\n", "\n"))
        root = SyntaxTreeNode(self._md.parse(markdown))
        return self._blocks(root.children, depth=0).strip()

    # -- blocks ------------------------------------------------------------------------------

    def _blocks(self, nodes: list[SyntaxTreeNode], *, depth: int, tight: bool = False) -> str:
        rendered = (self._block(node, depth=depth) for node in nodes)
        return ("\n" if tight else "\n\n").join(part for part in rendered if part)

    def _block(self, node: SyntaxTreeNode, *, depth: int) -> str:
        kind = node.type
        if kind == "paragraph":
            return self._inline_children(node)
        if kind == "heading":
            return _marked("*", self._inline_children(node))
        if kind in ("bullet_list", "ordered_list"):
            return self._list(node, depth=depth)
        if kind == "blockquote":
            inner = self._blocks(node.children, depth=depth)
            return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
        if kind in ("fence", "code_block"):
            return _code_block(node.content.rstrip("\n"), (node.info or "").strip())
        if kind == "hr":
            return _RULE
        # The one block left with raw HTML and references off (see `__init__`).
        return self._table(node)

    def _list(self, node: SyntaxTreeNode, *, depth: int) -> str:
        ordered = node.type == "ordered_list"
        start = int(node.attrs.get("start", 1) or 1) if ordered else 1
        items = []
        for index, item in enumerate(node.children):
            marker = f"{start + index}." if ordered else _BULLETS[depth % 3]
            body = self._blocks(item.children, depth=depth + 1, tight=True)
            lines = body.split("\n")
            pad = " " * (len(marker) + 1)
            rest = [f"{pad}{line}" if line else line for line in lines[1:]]
            items.append("\n".join([f"{marker} {lines[0]}", *rest]))
        return "\n".join(items)

    def _table(self, node: SyntaxTreeNode) -> str:
        """A table as a monospace block; it always has its header row (markdown-it reads
        no table without one)."""
        rows = [
            [_plain(cell) for cell in row.children]
            for section in node.children
            for row in section.children
        ]
        widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
        lines = [" | ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows]
        lines.insert(1, "-+-".join("-" * width for width in widths))
        return "```" + "\n".join(lines) + "```"

    # -- inline ------------------------------------------------------------------------------

    def _inline_children(self, node: SyntaxTreeNode) -> str:
        return "".join(self._inline(child) for child in node.children)

    def _inline(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind in ("text", "html_inline", "html_block"):
            return node.content
        if kind in ("softbreak", "hardbreak"):
            return "\n"
        if kind == "code_inline":
            return f"`{node.content}`" if node.content.strip() else node.content
        if kind in _MARKS:
            return _marked(_MARKS[kind], self._inline_children(node))
        if kind == "link":
            return _link(str(node.attrs.get("href", "")), self._inline_children(node))
        if kind == "image":
            alt = "".join(_plain(child) for child in node.children)
            return _link(str(node.attrs.get("src", "")), alt)
        return self._inline_children(node) if node.children else node.content


def _code_block(code: str, info: str) -> str:
    """A monospace block; the fence's line is shown above it unless it is just the language
    (WhatsApp shows no language), and is all there is of an empty block."""
    if not code.strip():
        return info
    label = "" if _LANGUAGE_WORD.match(info) else f"{info}\n"
    return f"{label}```{code}```"


def _marked(mark: str, inner: str) -> str:
    """`inner` between `mark`s; WhatsApp reads a mark only next to text, so spaces at either
    end go outside, and a mark around nothing is left out."""
    core = inner.strip()
    if not core:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{mark}{core}{mark}{trail}"


_MD_TEXT = MarkdownIt("commonmark")  # only for normalizeLinkText


def _link(href: str, inner: str) -> str:
    """WhatsApp shows an address as a link by itself: the text, then the address."""
    address = _MD_TEXT.normalizeLinkText(href) if href else ""
    if not inner or inner == address:
        return address
    return f"{inner} ({address})" if address else inner


def _plain(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline", "html_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    inner = "".join(_plain(child) for child in node.children)
    address = {"link": "href", "image": "src"}.get(node.type)
    return _link(str(node.attrs.get(address, "")), inner) if address else inner


def units(text: str) -> int:
    """A text's length as WhatsApp may count it: UTF-16 code units (an emoji is two), so a
    part within the limit by this count is within it by any."""
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """`text` in parts of at most `limit` units, cut at a paragraph, else a line, else a
    space, else anywhere (never inside a character); the whitespace at a cut is dropped, no
    other character is, and no part is empty."""
    if limit < 2:
        raise ValueError("a part must hold at least one character")
    parts = []
    rest = text.strip()
    while rest:
        cut = _fit(rest, limit)
        if cut == len(rest):
            parts.append(rest)
            break
        head = rest[:cut]
        for separator in ("\n\n", "\n", " "):
            at = head.rfind(separator)
            if at > 0 and head[:at].strip():
                head = head[:at]
                break
        parts.append(head.rstrip())
        rest = rest[len(head) :].lstrip()
    return parts


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)
