"""`read_page`: the main text of a public web page, fetched behind the SSRF guard
(`clients/web_fetch.py`) and cut to a size the model can read."""

from __future__ import annotations

import asyncio
from typing import Any

from assistant.src.clients.page_text import html_text, plain_text
from assistant.src.clients.web_fetch import FetchFailed, FetchLimits, FetchRefused, Page, fetch
from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError

CITE = "Cite this page as a Markdown link [title](url) when you use it."


class ReadPageTool(BaseTool, tool_type="read_page"):
    reads_outside_content = True

    @property
    def timeout(self) -> float:
        return self.services.settings.web_fetch_timeout_seconds + 1

    @property
    def limits(self) -> FetchLimits:
        settings = self.services.settings
        return FetchLimits(
            timeout=settings.web_fetch_timeout_seconds,
            max_bytes=settings.web_fetch_max_bytes,
            max_redirects=settings.web_fetch_max_redirects,
            # The allow-list is for local stand-ins; production never opens a local address.
            allow=frozenset()
            if settings.environment == "production"
            else FetchLimits.parse_allow(settings.web_fetch_allow_hosts),
        )

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        url = str(arguments.get("url") or "").strip()
        if not url:
            raise ToolError("'url' is empty: give the page's http(s) link")
        try:
            page = await fetch(url, self.limits)
        except FetchRefused as exc:
            raise ToolError(f"refused: {exc}") from exc
        except FetchFailed as exc:
            raise ToolError(f"could not read {url}: {exc}") from exc
        # Parsing megabytes takes a while: off the event loop, which serves other chats.
        return await asyncio.to_thread(self._summary, page)

    def _summary(self, page: Page) -> dict[str, Any]:
        if page.content_type == "text/plain":
            title, text = None, plain_text(page.body, page.charset)
        else:
            title, text = html_text(page.body, page.charset)
        if not text:
            raise ToolError(f"{page.url} has no readable text")
        limit = self.services.settings.web_fetch_max_chars
        cut = page.truncated or len(text) > limit
        return {
            "url": page.url,
            "title": title,
            "text": text[:limit],
            "truncated": cut,
            "note": CITE,
        }
