"""A page's main text for the model: the title and the readable body of an HTML page
(its article or main part when it marks one), without scripts, menus, headers and footers.

lxml's HTML parser (libxml2) reads whatever the web serves; no network, no entities
fetched. A page that parses to nothing gives empty text, never an exception. lxml (~1.2 MB)
is imported by the first page read, not at the assistant's start.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import lxml.html

#: Never text a reader wants: code, page furniture, forms, embedded objects.
_DROPPED = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "iframe",
    "button",
    "select",
    "canvas",
    "object",
    "embed",
    "head",
)
#: Elements that end a line of text.
_BLOCKS = (
    "p",
    "div",
    "li",
    "br",
    "tr",
    "section",
    "article",
    "main",
    "pre",
    "blockquote",
    "dd",
    "dt",
    "table",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figcaption",
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def html_text(body: bytes, charset: str | None) -> tuple[str | None, str]:
    """The page's title and main text."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(
        encoding=charset, remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        document = lxml.html.document_fromstring(body, parser=parser)
    except (etree.ParserError, ValueError, LookupError):
        return None, ""
    title = _clean(document.findtext(".//title") or "") or None
    for element in list(document.iter(*_DROPPED)):
        if element.getparent() is not None and not _heading_of_content(element):
            element.drop_tree()
    root = _main_part(document)
    for element in root.iter(*_BLOCKS):
        element.tail = "\n" + (element.tail or "")
    return title, _clean(root.text_content())


def plain_text(body: bytes, charset: str | None) -> str:
    return _clean(body.decode(charset or "utf-8", errors="replace"))


def _heading_of_content(element: lxml.html.HtmlElement) -> bool:
    """An article's own header or footer (its title, byline) stays; the page's goes."""
    inside = element.tag in ("header", "footer") and any(
        a.tag in ("article", "main") for a in element.iterancestors()
    )
    return bool(inside)


def _main_part(document: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The longest `<article>`, else `<main>` or `role=main`, else the body."""
    articles = document.findall(".//article")
    if articles:
        longest: lxml.html.HtmlElement = max(articles, key=lambda a: len(a.text_content()))
        if longest.text_content().strip():
            return longest
    for path in (".//main", ".//*[@role='main']"):
        found = document.find(path)
        if found is not None and found.text_content().strip():
            return found
    body = document.find(".//body")
    return body if body is not None else document


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
