"""`lead`: the customer showed interest (asked about items, a price, a booking): the open
lead of this conversation with the running assistant's business is made or updated, with
the catalogue items asked about and a short note. rest_service attaches the customer's
contact when they saved one, and keeps one open lead per customer and business."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from common.infrastructure.errors import ValidationFailedError
from common.infrastructure.wire import InterestIn

MAX_ITEMS = 20
ITEM_MAX_CHARS = 200
NOTE_MAX_CHARS = 1000


class LeadTool(BaseTool, tool_type="lead"):
    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        return True

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        if arguments.get("action", "note_interest") != "note_interest":
            raise ToolError("unknown action: use note_interest")
        actor = call.actor
        if not actor.registered:
            raise ToolError("this customer is not registered yet: no lead can be recorded")
        items = [" ".join(str(i).split()) for i in arguments.get("items") or []]
        items = [i[:ITEM_MAX_CHARS] for i in items if i][:MAX_ITEMS]
        note = " ".join(str(arguments.get("note") or "").split())[:NOTE_MAX_CHARS]
        if not items and not note:
            raise ToolError("note_interest needs 'items' (catalogue item ids or names) or 'note'")
        bot = str(actor.bot_id) if actor.bot_id else None
        came_through = await self.services.redis.get(
            self.services.names.start_payload(bot, actor.user_id)
        )
        interest = InterestIn(
            user_id=UUID(actor.user_id),
            assistant_id=call.assistant_id,
            conversation_key=actor.conversation_key,
            items=items,
            note=note,
            channel=actor.channel,
            bot=bot,
            start_payload=_text(came_through),
        )
        try:
            lead, made = await self.services.rest.record_interest(interest)
        except ValidationFailedError as exc:
            raise ToolError(f"the lead was not recorded: {exc.detail}") from exc
        return {
            "lead": "recorded" if made else "updated",
            "items": [item.get("name") for item in lead.items],
            "contact_saved": lead.contact_id is not None,
        }


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
