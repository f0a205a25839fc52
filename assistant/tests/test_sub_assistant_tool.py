"""The `sub_assistant` tool: a question handed to the linked assistant, refused when the tool
links none, when the depth limit is reached (two assistants calling each other stop), or when
no runner is there to hand it to."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from assistant.src.tools.base import SubAssistantRequest, ToolError, ToolServices
from assistant.src.tools.sub_assistant_tool import SubAssistantTool
from assistant.tests.support import call_context, tool_spec

TARGET = uuid.UUID(int=7)


def with_runner(services: ToolServices, handed: list[SubAssistantRequest]) -> ToolServices:
    async def runner(request: SubAssistantRequest) -> str:
        handed.append(request)
        return f"the researcher says: {request.query}"

    return dataclasses.replace(services, delegate=runner)


async def test_the_question_goes_to_the_linked_assistant_and_its_answer_comes_back(
    services: ToolServices,
) -> None:
    handed: list[SubAssistantRequest] = []
    tool = SubAssistantTool(
        tool_spec("sub_assistant", sub_assistant_id=TARGET), with_runner(services, handed)
    )
    call = call_context()
    answer = await tool.run({"query": "who wrote Solaris?"}, call)
    assert answer == "the researcher says: who wrote Solaris?"
    assert handed == [SubAssistantRequest(TARGET, "who wrote Solaris?", call)]
    assert tool.timeout == services.settings.sub_assistant_timeout_seconds


async def test_at_the_depth_limit_nothing_is_handed_on(services: ToolServices) -> None:
    handed: list[SubAssistantRequest] = []
    tool = SubAssistantTool(
        tool_spec("sub_assistant", sub_assistant_id=TARGET), with_runner(services, handed)
    )
    limit = services.settings.sub_assistant_max_depth
    deep = dataclasses.replace(call_context(), depth=limit)
    with pytest.raises(ToolError, match=f"depth limit reached \\({limit}\\)"):
        await tool.run({"query": "and you?"}, deep)
    assert handed == []


async def test_a_tool_linked_to_no_assistant_is_a_tool_error(services: ToolServices) -> None:
    tool = SubAssistantTool(tool_spec("sub_assistant"), with_runner(services, []))
    with pytest.raises(ToolError, match="not linked to any assistant"):
        await tool.run({"query": "hello"}, call_context())


async def test_without_a_runner_sub_assistants_are_not_available(services: ToolServices) -> None:
    tool = SubAssistantTool(tool_spec("sub_assistant", sub_assistant_id=TARGET), services)
    with pytest.raises(ToolError, match="not available here"):
        await tool.run({"query": "hello"}, call_context())
