"""`catalogue`: the services and products of the running assistant's business (its own items
and the shared ones), searched or shown one by one. Prices and availability are given as the
catalogue row holds them, so the model quotes them instead of inventing any; an empty search
says so plainly."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from common.infrastructure.errors import ValidationFailedError
from common.infrastructure.wire import CatalogueItem

MAX_QUERY_CHARS = 400
MAX_RESULTS = 10
DEFAULT_RESULTS = 5
#: A search result's description is cut here; `show` gives it whole.
SHORT_DESCRIPTION = 200
QUOTE = (
    "Quote names, prices and availability exactly as given here; never name an item, price "
    "or availability this catalogue did not give."
)
#: How long the items shown for an answer are noted (a redelivered turn finds them).
NOTED_TTL_S = 24 * 3600
NOTHING = (
    "The catalogue has no such item: tell the user so plainly, and do not invent items, "
    "prices or availability."
)


class CatalogueTool(BaseTool, tool_type="catalogue"):
    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        action = arguments.get("action") or ("show" if arguments.get("item_id") else "search")
        if action == "search":
            return await self._search(arguments, call)
        if action == "show":
            return await self._show(arguments, call)
        raise ToolError("unknown action: use search or show")

    async def _search(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        query = " ".join(str(arguments.get("query") or "").split()) or None
        if query and len(query) > MAX_QUERY_CHARS:
            raise ToolError(f"'query' is longer than {MAX_QUERY_CHARS} characters: shorten it")
        tag = " ".join(str(arguments.get("tag") or "").split()) or None
        wanted = arguments.get("limit")
        limit = max(1, min(MAX_RESULTS, wanted)) if isinstance(wanted, int) else DEFAULT_RESULTS
        items = await self._find(
            call,
            query=query,
            tag=tag,
            max_price=_price(arguments.get("max_price")),
            limit=limit,
        )
        await self._noted(call, items)
        return {
            "items": [shown(item, SHORT_DESCRIPTION) for item in items],
            "note": QUOTE if items else NOTHING,
        }

    async def _show(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        raw = str(arguments.get("item_id") or "").strip()
        if not raw:
            raise ToolError("action 'show' needs 'item_id' (from a search)")
        try:
            item_id = UUID(raw)
        except ValueError as exc:
            raise ToolError(f"item_id {raw[:60]!r} is not an id: search first") from exc
        items = await self._find(call, item_id=item_id, limit=1)
        if not items:
            raise ToolError(f"no item {item_id} in this catalogue: search first. {NOTHING}")
        return {"item": shown(items[0], None), "note": QUOTE}

    async def _noted(self, call: ToolCallOrigin, items: list[CatalogueItem]) -> None:
        """Noted for the answer to this message, which carries a Show button for each item."""
        if not items:
            return
        key = self.services.names.catalogue_shown(call.message_id)
        shown = [json.dumps({"id": str(i.id), "name": i.name}, ensure_ascii=False) for i in items]
        async with self.services.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *shown)
            pipe.expire(key, NOTED_TTL_S)
            await pipe.execute()

    async def _find(self, call: ToolCallOrigin, **criteria: Any) -> list[CatalogueItem]:
        try:
            return await self.services.rest.search_catalogue(call.assistant_id, **criteria)
        except ValidationFailedError as exc:
            raise ToolError(f"the catalogue refused the search: {exc.detail}") from exc


def shown(item: CatalogueItem, cut: int | None) -> dict[str, Any]:
    """An item as the model reads it: the price exactly as stored, with its currency."""
    description = item.description
    if cut is not None and len(description) > cut:
        description = description[: cut - 1] + "…"
    return {
        "item_id": str(item.id),
        "name": item.name,
        "description": description,
        "price": f"{item.price} {item.currency}",
        "availability": availability(item),
        "duration_minutes": item.duration_minutes,
        "tags": item.tags,
    }


def availability(item: CatalogueItem) -> str:
    if not item.available:
        return "not available"
    if item.stock is None:
        return "available"
    return f"available, {item.stock} in stock" if item.stock else "out of stock"


def _price(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        price = Decimal(str(value).replace(",", ".").strip())
    except InvalidOperation as exc:
        raise ToolError(f"max_price {str(value)[:40]!r} is not a number") from exc
    if not price.is_finite() or price < 0:
        raise ToolError("max_price must be a number of 0 or more")
    return price
