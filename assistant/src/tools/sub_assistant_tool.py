"""`sub_assistant`: hands a question to another configured assistant (its own instructions,
model, tools and thread for this user) and returns its answer. Depth is bounded, so two
assistants that call each other cannot loop."""

from __future__ import annotations

from typing import Any

from assistant.src.tools.base import BaseTool, SubAssistantRequest, ToolCallOrigin, ToolError


class SubAssistantTool(BaseTool, tool_type="sub_assistant"):
    @property
    def timeout(self) -> float:
        return self.services.settings.sub_assistant_timeout_seconds

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        target = self.spec.sub_assistant_id
        if not target:
            raise ToolError("this tool is not linked to any assistant")
        limit = self.services.settings.sub_assistant_max_depth
        if call.depth + 1 > limit:
            raise ToolError(
                f"sub-assistant depth limit reached ({limit}): answer with what you know"
            )
        if self.services.delegate is None:
            raise ToolError("sub-assistants are not available here")
        query = str(arguments["query"])
        return await self.services.delegate(SubAssistantRequest(target, query, call))
