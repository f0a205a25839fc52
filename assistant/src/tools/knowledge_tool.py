"""`knowledge`: the business's articles that match the customer's words, searched in
rest_service (Russian and English stemmed) among the running assistant's own articles and
the shared ones. An answer drawn from them cites the article's title; when none matches,
the model is told to say it does not know and to offer a person, never to invent.

The articles are the admin's, not outside content: a turn that read them may still store
things without asking first."""

from __future__ import annotations

from typing import Any

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from common.infrastructure.wire import KNOWLEDGE_SEARCH_MAX, KnowledgeHit

MAX_QUERY_CHARS = 500
DEFAULT_LIMIT = 5
CITE = (
    "Answer only from these articles, in the customer's language, and name the title of "
    "each article you used (for example: Source: <title>). If they do not answer the "
    "question, say you do not know and offer to connect the customer with a person. Never "
    "invent prices, terms or facts they do not state."
)
NOTHING = (
    "No article matches. Tell the customer, in their language, that you do not know this, "
    "and offer to connect them with a person. Do not guess or invent an answer."
)


class KnowledgeTool(BaseTool, tool_type="knowledge"):
    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        query = " ".join(str(arguments.get("query") or "").split())
        if not query:
            raise ToolError("'query' is empty: pass the customer's question in their words")
        if len(query) > MAX_QUERY_CHARS:
            raise ToolError(f"'query' is longer than {MAX_QUERY_CHARS} characters: shorten it")
        wanted = arguments.get("limit")
        limit = wanted if isinstance(wanted, int) else DEFAULT_LIMIT
        hits = await self.services.rest.search_knowledge(
            query,
            assistant_id=call.assistant_id,
            limit=max(1, min(KNOWLEDGE_SEARCH_MAX, limit)),
        )
        return {
            "query": query,
            "articles": [_article(hit) for hit in hits],
            "note": CITE if hits else NOTHING,
        }


def _article(hit: KnowledgeHit) -> dict[str, Any]:
    return {"id": str(hit.id), "title": hit.title, "excerpt": hit.excerpt}
