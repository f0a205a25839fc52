"""Builds assistants and their tools from one config snapshot (the one a message started
with), and runs sub-assistants for the `sub_assistant` tool."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TypeVar
from uuid import UUID

from assistant.src.assistants.base import Turn, TurnTokens
from assistant.src.assistants.drawing import Painter
from assistant.src.assistants.llm_chat import AssistantDeps, LlmChatAssistant
from assistant.src.assistants.model_order import model_routes
from assistant.src.assistants.secretary import Secretary
from assistant.src.assistants.sub_assistant import SubAssistant
from assistant.src.live_config.snapshot import find_assistant
from assistant.src.tools import tool_classes
from assistant.src.tools.base import BaseTool, SubAssistantRequest, ToolError, ToolServices
from assistant.src.tools.mcp_tool import McpTool, expand, unique
from assistant.src.tools.outside import OutsideContent
from assistant.src.tools.toolbox import Toolbox
from common.features.blobs import BlobStore
from common.infrastructure.logging import get_logger
from common.infrastructure.wire import (
    ConfigSnapshot,
    SnapshotAssistant,
    SnapshotVariant,
    ToolType,
)

log = get_logger(__name__)

A = TypeVar("A", bound=LlmChatAssistant)


class AssistantFactory:
    def __init__(
        self,
        deps: AssistantDeps,
        services: ToolServices,
        snapshot: ConfigSnapshot,
        *,
        preferred_model: str | None = None,
        bot_id: UUID | None = None,
        assistant: str | None = None,
        person: UUID | None = None,
    ) -> None:
        self.deps = deps
        self.snapshot = snapshot
        #: The assistant that answers the message: the one it names, its bot's assistant, or
        #: the secretary.
        self.speaker = snapshot.speaker(bot_id, assistant)
        self.preferred_model = preferred_model
        #: Who the turn answers: their arm of an assistant's running experiment applies.
        self.person = person
        #: The tokens of the turn's model calls: every assistant built here adds to them.
        self.tokens = TurnTokens()
        painter = Painter(
            deps.settings,
            snapshot,
            deps.llm,
            BlobStore(services.redis, services.names),
            services.names,
            self.tokens,
            deps.budget,
        )
        self.services = dataclasses.replace(
            services, delegate=self.run_sub_assistant, painter=painter
        )
        #: The functions of each linked mcp tool, by stored tool id, listed by `prepare`.
        self._mcp: dict[UUID, list[McpTool]] = {}
        #: Whether the message's turn took in outside content: every toolbox built here
        #: (the secretary's and its sub-assistants') reads and sets it.
        self.outside = OutsideContent()

    async def prepare(self, spec: SnapshotAssistant | None = None) -> None:
        """List the MCP servers the assistant (the one answering by default) links, so
        building it stays synchronous; cached, so most turns wait for nothing."""
        spec = spec or self.speaker
        if spec is None:
            return
        pending = [t for t in spec.tools if t.tool_type is ToolType.mcp and t.id not in self._mcp]
        listed = await asyncio.gather(*(expand(tool, self.services) for tool in pending))
        self._mcp.update((t.id, functions) for t, functions in zip(pending, listed, strict=True))

    def secretary(self) -> Secretary | None:
        """The assistant that answers the message, in the secretary's role (the top of the
        turn): the secretary itself, the assistant its bot speaks as, or the one it names."""
        spec = self.speaker
        if spec is None or not spec.is_active:
            return None
        return self._build(Secretary, spec, preferred=self.preferred_model)

    def sub_assistant(self, assistant_id: UUID) -> SubAssistant | None:
        spec = find_assistant(self.snapshot, assistant_id)
        return self._build(SubAssistant, spec, preferred=None) if spec else None

    async def run_sub_assistant(self, request: SubAssistantRequest) -> str:
        """The `sub_assistant` tool's work: the other assistant answers on this user's
        thread with it, one level deeper."""
        spec = find_assistant(self.snapshot, request.assistant_id)
        if spec is not None:
            await self.prepare(spec)
        assistant = self.sub_assistant(request.assistant_id)
        if assistant is None:
            raise ToolError("the linked assistant does not exist or is not active")
        call = request.call
        turn = Turn(
            text=request.query,
            actor=call.actor,
            message_id=call.message_id,
            depth=call.depth + 1,
            position=call.position,
        )
        result = await assistant.answer(turn)
        if result.text is None:
            raise ToolError(f"{assistant.spec.name} could not answer: its model is unavailable")
        return result.text

    def _build(self, cls: type[A], spec: SnapshotAssistant, *, preferred: str | None) -> A:
        """Both assistant types run on chat completions; `openai_api` threads are emulated
        from our own history (the Assistants API is gone)."""
        variant = self.snapshot.variant_for(spec.id, self.person)
        spec = with_variant(spec, variant)
        routes = model_routes(
            self.snapshot, self.deps.settings, preferred=preferred, assistant_model=spec.model
        )
        assistant = cls(spec, self.deps, self.toolbox(spec), routes)
        assistant.experiment_variant_id = variant.id if variant is not None else None
        assistant.tokens = self.tokens
        return assistant

    def toolbox(self, spec: SnapshotAssistant) -> Toolbox:
        classes = tool_classes()
        tools: list[BaseTool] = []
        for tool in spec.tools:
            if tool.tool_type is ToolType.mcp:
                tools.extend(self._mcp.get(tool.id, []))
                continue
            cls = classes.get(tool.tool_type)
            if cls is None:
                log.warning("tool_type_not_available", tool=tool.name, tool_type=tool.tool_type)
                continue
            tools.append(cls(tool, self.services))
        return Toolbox(unique(tools), self.deps.rest, self.outside)


def with_variant(spec: SnapshotAssistant, variant: SnapshotVariant | None) -> SnapshotAssistant:
    """The assistant as the person's experiment arm has it: its instructions and model where
    the arm sets them (the control sets neither)."""
    if variant is None:
        return spec
    overrides = {"instructions": variant.instructions, "model": variant.model}
    return spec.model_copy(update={k: v for k, v in overrides.items() if v is not None})
