"""The web chat's rendering and its visitor cookie, without a server: whatever the model
writes becomes HTML that runs nothing, and only a cookie we signed names a visitor."""

from __future__ import annotations

from html.parser import HTMLParser

import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.web import WebChatAdapter, to_html
from channels.src.intake import Intake
from channels.src.settings import Settings
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient

MARKUP_BITS = st.sampled_from(
    ["<script>alert(1)</script>", "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>",
     "**", "_", "`", "```\n", "\n", "- ", "1. ", "> ", "[a](https://example.com)", "<b>", "&amp;",
     "~~", "# ", "<a href='javascript:x'>y</a>", "![i](https://e.com/x.png)",
     "[y](data:text/html,x)"]
)  # fmt: skip
#: The tags Markdown makes, and the attributes they may carry.
ALLOWED = {
    "p": set(), "strong": set(), "em": set(), "code": {"class"}, "pre": set(), "a": {"href"},
    "ul": set(), "ol": {"start"}, "li": set(), "blockquote": set(), "hr": set(), "br": set(),
    "s": set(), "h1": set(), "h2": set(), "h3": set(), "h4": set(), "h5": set(), "h6": set(),
}  # fmt: skip


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


@settings(max_examples=300)
@given(st.lists(st.one_of(MARKUP_BITS, st.text(max_size=20)), max_size=20).map("".join))
def test_whatever_the_model_writes_is_html_that_runs_nothing(markdown: str) -> None:
    parser = Tags()
    parser.feed(to_html(markdown))
    for tag, attrs in parser.found:
        assert tag in ALLOWED, tag
        for name, value in attrs:
            assert name in ALLOWED[tag], (tag, name)
            if name == "href":
                assert (value or "").lower().startswith(("http://", "https://", "mailto:")), value


def test_markdown_becomes_the_html_a_person_expects() -> None:
    html = to_html("**Lunch** with _Anna_ at `12:30`, see [menu](https://example.com/m)\n- soup")
    assert "<strong>Lunch</strong>" in html and "<em>Anna</em>" in html
    assert "<code>12:30</code>" in html and '<a href="https://example.com/m">menu</a>' in html
    assert "<li>soup</li>" in html
    assert to_html("<b>raw</b>") == "<p>&lt;b&gt;raw&lt;/b&gt;</p>\n"


def test_only_a_cookie_we_signed_names_a_visitor() -> None:
    ours = _adapter("secret-one")
    theirs = _adapter("secret-two")
    cookie = ours._signer.sign("visitor-1").decode()
    assert ours.visitor_of(cookie) == "visitor-1"
    assert theirs.visitor_of(cookie) is None
    assert ours.visitor_of(cookie.replace("visitor-1", "visitor-2")) is None
    assert ours.visitor_of("") is None and ours.visitor_of(None) is None


def _adapter(secret: str) -> WebChatAdapter:
    settings = Settings(environment="test", web_chat_secret=SecretStr(secret))
    redis, names = aioredis.Redis(), Names("unused:")
    rest = RestClient("http://127.0.0.1:9", "unused")
    return WebChatAdapter(AdapterContext(settings, redis, names, Intake(rest, redis, names), rest))
