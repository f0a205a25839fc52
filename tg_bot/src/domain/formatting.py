"""The model's Markdown as Telegram HTML: bold, italic, strikethrough, code, pre, links, lists,
quotes and headings become the tags Telegram knows; everything else is escaped text.

markdown-it-py parses (CommonMark, raw HTML off, so `<b>` in a reply is shown, not obeyed);
this module only walks its syntax tree. Unclosed `**` and other broken Markdown stay as the
characters they are, so a reply always parses and nothing of it is lost: a code fence a model
opens mid-line (`Here: ```python`) or closes with text after it is moved to a line of its own
first, link reference definitions are off (they would swallow a line), and a link Telegram
cannot open keeps its address as text.
"""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from common.infrastructure.markdown_fences import fences_on_own_lines
from common.infrastructure.text import (
    escape_markdown as escape_markdown,  # tg_bot's callers import it here
)

_SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")
_BULLETS = ("•", "◦", "▪")
_RULE = "———"
_LANGUAGE_WORD = re.compile(r"^[A-Za-z0-9_+#.-]+$")
_MD_TEXT = MarkdownIt("commonmark")  # only for normalizeLinkText


def escape(text: str) -> str:
    """Text as Telegram HTML: only `<`, `>` and `&` need entities."""
    return html.escape(text, quote=False)


class MarkdownRenderer:
    def __init__(self) -> None:
        # Raw HTML and HTML entities off: "&amp;" in a reply is shown as written.
        self._md = (
            MarkdownIt("commonmark", {"html": False})
            .enable(["strikethrough", "table"])
            .disable(["entity", "reference"])
        )

    def render(self, markdown: str) -> str:
        source = fences_on_own_lines(markdown.replace("\r\n", "\n"))
        root = SyntaxTreeNode(self._md.parse(source))
        return self._blocks(root.children, quoted=False, depth=0).strip()

    # -- blocks ------------------------------------------------------------------------------

    def _blocks(
        self, nodes: list[SyntaxTreeNode], *, quoted: bool, depth: int, tight: bool = False
    ) -> str:
        rendered = (self._block(node, quoted=quoted, depth=depth) for node in nodes)
        return ("\n" if tight else "\n\n").join(part for part in rendered if part)

    def _block(self, node: SyntaxTreeNode, *, quoted: bool, depth: int) -> str:
        kind = node.type
        if kind == "paragraph":
            return self._inline_children(node)
        if kind == "heading":
            return f"<b>{self._inline_children(node)}</b>"
        if kind in ("bullet_list", "ordered_list"):
            return self._list(node, quoted=quoted, depth=depth)
        if kind == "blockquote":
            inner = self._blocks(node.children, quoted=True, depth=depth)
            # Telegram does not nest quotes: an inner quote is plain text in the outer one.
            return inner if quoted else f"<blockquote>{inner}</blockquote>"
        if kind in ("fence", "code_block"):
            return self._code_block(node, quoted=quoted)
        if kind == "hr":
            return _RULE
        if kind == "table":
            return self._table(node)
        return escape(node.content)

    def _list(self, node: SyntaxTreeNode, *, quoted: bool, depth: int) -> str:
        ordered = node.type == "ordered_list"
        start = int(node.attrs.get("start", 1) or 1) if ordered else 1
        tight = all(
            child.hidden for item in node.children for child in item.children
            if child.type == "paragraph"
        )  # fmt: skip
        items = []
        for index, item in enumerate(node.children):
            marker = f"{item.info or start + index}." if ordered else _BULLETS[depth % 3]
            body = self._blocks(item.children, quoted=quoted, depth=depth + 1, tight=True)
            lines = body.split("\n")
            pad = " " * (len(marker) + 1)
            rest = [f"{pad}{line}" if line else line for line in lines[1:]]
            items.append("\n".join([f"{marker} {lines[0]}", *rest]))
        return ("\n" if tight else "\n\n").join(items)

    def _code_block(self, node: SyntaxTreeNode, *, quoted: bool) -> str:
        code = escape(node.content.rstrip("\n"))
        info = (node.info or "").strip()
        language = _language(info)
        if not code.strip():
            return escape(info)
        # Telegram shows a bare language on the block; any other words of the fence's line
        # (or any language in a quote, where code has no label) are shown as written above it.
        label = f"{escape(info)}\n" if info and (quoted or info != language) else ""
        if quoted:
            return f"{label}<code>{code}</code>"
        if language:
            return f'{label}<pre><code class="language-{language}">{code}</code></pre>'
        return f"{label}<pre>{code}</pre>"

    def _table(self, node: SyntaxTreeNode) -> str:
        rows = [
            [_plain(cell) for cell in row.children]
            for section in node.children
            for row in section.children
        ]
        if not rows:
            return ""
        widths = [
            max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(rows[0]))
        ]
        lines = [
            " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
        ]
        lines.insert(1, "-+-".join("-" * width for width in widths))
        return f"<pre>{escape(chr(10).join(lines))}</pre>"

    # -- inline ------------------------------------------------------------------------------

    def _inline_children(self, node: SyntaxTreeNode) -> str:
        return "".join(self._inline(child) for child in node.children)

    def _inline(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind in ("text", "html_inline", "html_block"):
            return escape(node.content)
        if kind in ("softbreak", "hardbreak"):
            return "\n"
        if kind == "code_inline":
            return f"<code>{escape(node.content)}</code>"
        if kind == "strong":
            return f"<b>{self._inline_children(node)}</b>"
        if kind == "em":
            return f"<i>{self._inline_children(node)}</i>"
        if kind == "s":
            return f"<s>{self._inline_children(node)}</s>"
        if kind == "link":
            return _link(str(node.attrs.get("href", "")), self._inline_children(node))
        if kind == "image":
            alt = escape("".join(_plain(child) for child in node.children)) or "image"
            return _link(str(node.attrs.get("src", "")), alt)
        return self._inline_children(node) if node.children else escape(node.content)


def _language(info: str) -> str:
    """A fence's language: the first word of its line, when it looks like one."""
    first = info.split(maxsplit=1)[0] if info else ""
    return first if _LANGUAGE_WORD.match(first) else ""


def _link(href: str, inner: str) -> str:
    if not inner:
        inner = escape(href)
    if not href.lower().startswith(_SAFE_SCHEMES):
        # Telegram cannot open it (a relative path, no scheme): the address stays readable.
        shown = escape(_readable(href))
        return inner if not shown or shown == inner else f"{inner} ({shown})"
    return f'<a href="{html.escape(href, quote=True)}">{inner}</a>'


def _readable(href: str) -> str:
    """A link address as the model wrote it (markdown-it percent-encodes it)."""
    return _MD_TEXT.normalizeLinkText(href)


def _plain(node: SyntaxTreeNode) -> str:
    """The text of a node without markup (table cells, image alt text)."""
    if node.type in ("text", "code_inline", "html_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    inner = "".join(_plain(child) for child in node.children)
    address = {"link": "href", "image": "src"}.get(node.type)
    href = str(node.attrs.get(address, "")) if address else ""
    return f"{inner} ({_readable(href)})" if href and _readable(href) != inner else inner
