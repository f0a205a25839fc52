"""Web search providers behind one call: SearXNG's JSON API (self-hosted, no key, the
default), Brave Search and Tavily (each with a key). `WEB_SEARCH_PROVIDER` picks one.

Every provider's answer becomes the same list of title, url and snippet; results without
an http(s) URL are dropped, snippets are plain text cut short.
"""

from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import aiohttp

from assistant.src.settings import Settings
from common.infrastructure.http_client import UNREADABLE, failure_name, send

SNIPPET_CHARS = 400
TITLE_CHARS = 200
_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"\s+")


class SearchError(Exception):
    """The provider is not set up, unreachable, or answered with an error."""


@dataclass(frozen=True)
class SearchResult:
    title: str
    url: str
    snippet: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class SearchProvider(ABC):
    name: ClassVar[str]

    def __init__(self, http: aiohttp.ClientSession, settings: Settings) -> None:
        self._http = http
        self._settings = settings

    @abstractmethod
    async def search(
        self, query: str, max_results: int, language: str | None
    ) -> list[SearchResult]:
        """Up to `max_results` results for `query`."""

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            answer = await send(
                self._http,
                method,
                url,
                timeout=self._settings.web_search_timeout_seconds,
                **kwargs,
            )
            body = answer.json() if answer.status < 400 else None
        except UNREADABLE as exc:
            raise SearchError(f"{self.name} unreachable ({failure_name(exc)})") from exc
        if answer.status >= 400:
            raise SearchError(f"{self.name} answered HTTP {answer.status}")
        if not isinstance(body, dict):
            raise SearchError(f"{self.name} answered with no results object")
        return body


class SearxngProvider(SearchProvider):
    name = "searxng"

    async def search(
        self, query: str, max_results: int, language: str | None
    ) -> list[SearchResult]:
        base = self._settings.searxng_url.rstrip("/")
        if not base:
            raise SearchError("web search is not set up (SEARXNG_URL is empty)")
        params = {"q": query, "format": "json", "safesearch": "1"}
        if language:
            params["language"] = language
        body = await self._call("GET", f"{base}/search", params=params)
        return parse_results(body.get("results"), "content", max_results)


class BraveProvider(SearchProvider):
    name = "brave"

    async def search(
        self, query: str, max_results: int, language: str | None
    ) -> list[SearchResult]:
        key = self._settings.brave_api_key
        if not key:
            raise SearchError("web search is not set up (BRAVE_API_KEY is empty)")
        params = {"q": query, "count": str(min(max_results, 20))}
        if language:
            params["search_lang"] = language
        headers = {"Accept": "application/json", "X-Subscription-Token": key}
        body = await self._call(
            "GET", self._settings.brave_search_url, params=params, headers=headers
        )
        web = body.get("web")
        return parse_results(
            web.get("results") if isinstance(web, dict) else None, "description", max_results
        )


class TavilyProvider(SearchProvider):
    name = "tavily"

    async def search(
        self, query: str, max_results: int, language: str | None
    ) -> list[SearchResult]:
        key = self._settings.tavily_api_key
        if not key:
            raise SearchError("web search is not set up (TAVILY_API_KEY is empty)")
        body = await self._call(
            "POST",
            self._settings.tavily_search_url,
            json={"query": query, "max_results": max_results, "search_depth": "basic"},
            headers={"Authorization": f"Bearer {key}"},
        )
        return parse_results(body.get("results"), "content", max_results)


PROVIDERS: dict[str, type[SearchProvider]] = {
    p.name: p for p in (SearxngProvider, BraveProvider, TavilyProvider)
}


def provider_for(settings: Settings, http: aiohttp.ClientSession) -> SearchProvider:
    return PROVIDERS[settings.web_search_provider](http, settings)


def parse_results(items: Any, snippet_key: str, max_results: int) -> list[SearchResult]:
    """The provider's result objects as `SearchResult`s; anything malformed is skipped."""
    if not isinstance(items, list):
        return []
    found: list[SearchResult] = []
    for item in items:
        if len(found) >= max_results:
            break
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            continue
        title = _plain(item.get("title"), TITLE_CHARS) or url
        found.append(SearchResult(title, url, _plain(item.get(snippet_key), SNIPPET_CHARS)))
    return found


def _plain(value: Any, limit: int) -> str:
    """Text without markup (Brave marks matches with <strong>), one line, cut to `limit`."""
    if not isinstance(value, str):
        return ""
    text = _SPACES.sub(" ", html.unescape(_TAGS.sub("", value))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
