"""`handoff`: the customer asks for a person, or the assistant cannot help: the conversation
goes to the bot's operators (decision 0052). rest_service records it and tells the operator
chat; from then on the assistant stays silent in this conversation and forwards the
customer's messages, until an operator hands it back or no one answers in time. A bot with
no operator chat has no one to hand to: the model is told so, and says so, never pretending."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError
from common.infrastructure.errors import ConflictError, ValidationFailedError
from common.infrastructure.wire import HandoffIn

SUMMARY_MAX_CHARS = 1000

PASSED_ON = (
    "The conversation is with the operators now: tell the customer honestly, in their "
    "language, that you have passed this to a colleague who will reply here, in this chat. "
    "Do not answer their question yourself any more."
)
ALREADY = (
    "This conversation is with the operators already: tell the customer a colleague will "
    "reply here."
)
NO_ONE = (
    "No person is available for this conversation (no operators are set up): apologise, "
    "say honestly that no one can take over right now, and keep helping as well as you can."
)


class HandoffTool(BaseTool, tool_type="handoff"):
    def stores_or_removes(self, arguments: dict[str, Any]) -> bool:
        return True

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        actor = call.actor
        if not actor.registered:
            raise ToolError("this customer is not registered yet: no one can be asked")
        summary = " ".join(str(arguments.get("summary") or "").split())[:SUMMARY_MAX_CHARS]
        reason = str(arguments.get("reason") or "")
        if reason == "cannot_help" and summary:
            summary = f"(the assistant could not help) {summary}"
        request = HandoffIn(
            user_id=UUID(actor.user_id),
            assistant_id=call.assistant_id,
            bot_id=actor.bot_id,
            conversation_key=actor.conversation_key,
            chat_id=actor.chat_id,
            channel=actor.channel,
            channel_chat_id=actor.channel_chat_id,
            reply_stream=actor.reply_stream,
            language=actor.language,
            summary=summary,
        )
        try:
            handoff = await self.services.rest.create_handoff(request)
        except ConflictError:
            return {"handoff": "already_requested", "note": ALREADY}
        except ValidationFailedError as exc:
            if any(f.field == "bot_id" for f in exc.fields):
                return {"handoff": "unavailable", "note": NO_ONE}
            raise ToolError(f"the handoff was not recorded: {exc.detail}") from exc
        return {"handoff": "requested", "status": handoff.status, "note": PASSED_ON}
