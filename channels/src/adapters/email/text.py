"""HTML as readable plain text: an HTML-only mail's words for the secretary, and the plain
part of our answers (the model's Markdown rendered once, by the web chat's `to_html`, then
read back as text, so both parts of a mail say the same)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from channels.src.adapters.web import to_html

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr", "table",
     "ul", "ol", "blockquote", "section", "article", "header", "footer"}
)  # fmt: skip
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})
#: Where a mail client starts the quoted mail in its HTML (Gmail, Outlook, Thunderbird,
#: Apple Mail, Yahoo): everything from there on is the old mail.
_QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote")
_QUOTE_IDS = ("divrplyfwdmsg", "appendonsend", "mail-editor-reference-message-container")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _Reader(HTMLParser):
    def __init__(self, drop_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quotes = drop_quotes
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.stopped = False
        self.links: list[tuple[str, int]] = []
        self.lists: list[list[int]] = []

    def _is_quote(self, tag: str, attrs: dict[str, str]) -> bool:
        if tag == "blockquote":
            return True
        classes = attrs.get("class", "").lower()
        element_id = attrs.get("id", "").lower()
        return any(c in classes for c in _QUOTE_CLASSES) or element_id in _QUOTE_IDS

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        named = {k.lower(): v or "" for k, v in attrs}
        if self.drop_quotes and self._is_quote(tag, named):
            self.stopped = True
            return
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "pre":
            self.pre += 1
            self.parts.append("\n")
        elif tag in ("ul", "ol"):
            self.lists.append([0 if tag == "ol" else -1])
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n" + self._bullet())
        elif tag == "a":
            self.links.append((named.get("href", ""), len(self.parts)))
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def _bullet(self) -> str:
        if not self.lists:
            return "- "
        counter = self.lists[-1]
        if counter[0] < 0:
            return "- "
        counter[0] += 1
        return f"{counter[0]}. "

    def handle_endtag(self, tag: str) -> None:
        if self.stopped:
            return
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            self.parts.append("\n")
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.parts.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.parts[start:]).strip()
            if href.lower().startswith(("http://", "https://")) and href != shown:
                self.parts.append(f" ({href})")
        elif tag in ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.stopped or self.hidden:
            return
        self.parts.append(data if self.pre else _SPACES.sub(" ", data.replace("\n", " ")))


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """The words of an HTML document, one block a line; with `drop_quotes`, nothing from
    where a mail client starts quoting the earlier mail."""
    reader = _Reader(drop_quotes)
    try:
        reader.feed(html)
        reader.close()
    except Exception:  # HTMLParser is lenient; anything it still refuses ends the text
        pass
    lines = [line.strip() for line in "".join(reader.parts).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def markdown_to_text(markdown: str) -> str:
    """The model's Markdown as plain text a mail client shows well: emphasis marks gone,
    lists as "- ", links as "words (url)"."""
    return html_to_text(to_html(markdown))
