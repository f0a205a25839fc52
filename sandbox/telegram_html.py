"""Telegram's `parse_mode=HTML`, as strict as Telegram: text and entities, or the 400 it gives.

Follows the Bot API's formatting rules: only the documented tags; `<` always opens a tag;
`&` starts an entity only when it is `&lt;`, `&gt;`, `&amp;`, `&quot;` or numeric (otherwise
it is a literal `&`); tags must nest; offsets and lengths are in UTF-16 code units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_TAGS = {
    "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "a": "text_link", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n\v\f\0"


class HtmlParseError(ValueError):
    """Markup Telegram refuses; the message is its `can't parse entities` detail."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> ParsedText:
    """Parse like Telegram or raise HtmlParseError with Telegram's wording."""
    parser = _Parser(source)
    parser.run()
    for entity in parser.entities:
        entity.pop("_language", None)
    return ParsedText("".join(parser.out), parser.entities)


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def at(self, i: int) -> str:
        return self.src[i] if i < len(self.src) else "\0"

    def byte_offset(self, i: int) -> int:
        return len(self.src[:i].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.u16 += utf16_len(text)

    def run(self) -> None:
        while self.i < len(self.src):
            c = self.src[self.i]
            if c == "&":
                decoded = self.entity()
                if decoded is not None:
                    self.emit(decoded)
                    continue
            if c != "<":
                self.emit(c)
                self.i += 1
                continue
            if self.at(self.i + 1) == "/":
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )

    def entity(self) -> str | None:
        """Decode the entity at `i` and move past it, or None for a literal `&`."""
        src, start = self.src, self.i
        end = start + 1
        if self.at(end) == "#":
            end += 1
            hexa = self.at(end) in "xX"
            end += hexa
            digits = "0123456789abcdefABCDEF" if hexa else "0123456789"
            begin = end
            while self.at(end) != "\0" and self.at(end) in digits:
                end += 1
            if end == begin or end - start >= 10:
                return None
            code = int(src[begin:end], 16 if hexa else 10)
            if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                return None
            value = chr(code)
        else:
            while self.at(end).isascii() and self.at(end).isalpha():
                end += 1
            value = _NAMED.get(src[start + 1 : end])
            if value is None:
                return None
        self.i = end + 1 if self.at(end) == ";" else end
        return value

    def start_tag(self) -> None:
        begin = self.i
        i = begin + 1
        while self.at(i) not in _SPACE and self.at(i) != ">":
            i += 1
        if i >= len(self.src):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = self.src[begin + 1 : i].lower()
        if tag not in _TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        self.i = i
        attributes = self.attributes(tag, begin)
        self.i += 1  # the '>'
        argument = ""
        if tag == "a":
            argument = attributes.get("href", "")
        elif tag == "code":
            argument = attributes.get("class", "").removeprefix("language-")
        elif tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
        elif tag == "blockquote":
            argument = "expandable" if "expandable" in attributes else ""
        elif tag == "tg-emoji":
            argument = attributes.get("emoji-id", "")
            if not argument.isdigit():
                raise HtmlParseError("Invalid custom emoji identifier specified")
        self.stack.append(_Open(tag, argument, self.u16))

    def attributes(self, tag: str, begin: int) -> dict[str, str]:
        found: dict[str, str] = {}
        while self.at(self.i) != ">":
            while self.at(self.i) in _SPACE and self.i < len(self.src):
                self.i += 1
            if self.at(self.i) == ">":
                break
            if self.i >= len(self.src):
                raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            name_at = self.i
            while self.at(self.i) not in _SPACE and self.at(self.i) not in "=>":
                self.i += 1
            name = self.src[name_at : self.i].lower()
            if not name:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset '
                    f"{self.byte_offset(begin)}"
                )
            while self.at(self.i) in _SPACE and self.i < len(self.src):
                self.i += 1
            if self.at(self.i) != "=":
                if tag == "blockquote" and name == "expandable":
                    found[name] = ""
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {self.byte_offset(begin)}'
                )
            self.i += 1
            while self.at(self.i) in _SPACE and self.i < len(self.src):
                self.i += 1
            if self.i >= len(self.src):
                raise HtmlParseError(
                    f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
                )
            found[name] = self.attribute_value()
            if self.i >= len(self.src):
                raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        return found

    def attribute_value(self) -> str:
        quote = self.at(self.i)
        if quote not in "'\"":
            start = self.i
            while self.at(self.i).isascii() and (
                self.at(self.i).isalnum() or self.at(self.i) in ".-"
            ):
                self.i += 1
            if self.at(self.i) not in _SPACE and self.at(self.i) != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
                )
            return self.src[start : self.i].lower()
        self.i += 1
        value: list[str] = []
        while self.i < len(self.src) and self.src[self.i] != quote:
            if self.src[self.i] == "&":
                decoded = self.entity()
                if decoded is not None:
                    value.append(decoded)
                    continue
            value.append(self.src[self.i])
            self.i += 1
        if self.i < len(self.src):
            self.i += 1
        return "".join(value)

    def end_tag(self) -> None:
        begin = self.i
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 2
        while self.at(i) not in _SPACE and self.at(i) != ">":
            i += 1
        name = self.src[begin + 2 : i].lower()
        while self.at(i) in _SPACE and i < len(self.src):
            i += 1
        if self.at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{opened.tag}>", found "</{name}>"'
            )
        self.i = i + 1
        self.close(opened)

    def close(self, opened: _Open) -> None:
        length = self.u16 - opened.offset
        if length <= 0:
            return
        kind = _ENTITY_TYPES[opened.tag]
        if kind == "blockquote" and opened.argument:
            kind = "expandable_blockquote"
        entity: dict[str, Any] = {"type": kind, "offset": opened.offset, "length": length}
        if kind == "text_link":
            entity["url"] = opened.argument
        elif kind == "code" and opened.argument:
            entity["_language"] = opened.argument
        elif kind == "custom_emoji":
            entity["custom_emoji_id"] = opened.argument
        if kind == "pre" and self.entities:
            inner = self.entities[-1]
            same_span = inner["offset"] == opened.offset and inner["length"] == length
            if inner["type"] == "code" and same_span:
                self.entities.pop()
                if inner.get("_language"):
                    entity["language"] = inner["_language"]
        self.entities.append(entity)
