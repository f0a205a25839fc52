"""`web_search`: results (title, url, snippet) from the provider the config names, with
the links the model is to cite."""

from __future__ import annotations

from typing import Any

from assistant.src.clients.search import SearchError, provider_for
from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError

MAX_QUERY_CHARS = 400
CITE = (
    "Answer from these results and cite the links you use as Markdown links [title](url). "
    "Use read_page on a url for more than the snippet."
)
NOTHING = "Nothing was found: tell the user so, and do not make up an answer or links."


class WebSearchTool(BaseTool, tool_type="web_search"):
    reads_outside_content = True

    @property
    def timeout(self) -> float:
        return self.services.settings.web_search_timeout_seconds + 1

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        query = " ".join(str(arguments.get("query") or "").split())
        if not query:
            raise ToolError("'query' is empty: say what to search for")
        if len(query) > MAX_QUERY_CHARS:
            raise ToolError(f"'query' is longer than {MAX_QUERY_CHARS} characters: shorten it")
        cap = self.services.settings.web_search_max_results
        wanted = arguments.get("max_results")
        max_results = max(1, min(cap, wanted)) if isinstance(wanted, int) else cap
        provider = provider_for(self.services.settings, self.services.http)
        try:
            results = await provider.search(query, max_results, call.actor.language)
        except SearchError as exc:
            raise ToolError(f"web search failed: {exc}") from exc
        return {
            "query": query,
            "results": [r.as_dict() for r in results],
            "note": CITE if results else NOTHING,
        }
