"""What the model read cannot act alone: which tools bring outside content into a turn and
which calls store or remove something (the calls a turn that read outside content holds for
the user's Yes), and the admin's `"writing"` list of an MCP tool."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest

from assistant.src.tools import tool_classes
from assistant.src.tools.base import BaseTool, ToolServices
from assistant.src.tools.mcp_tool import McpTool
from assistant.tests.support import Platform, tool_spec
from common.wire import SnapshotTool, ToolType

NO_SERVICES = cast(ToolServices, None)


def tool(tool_type: str) -> BaseTool:
    return tool_classes()[tool_type](tool_spec(tool_type), NO_SERVICES)


def mcp(config: dict[str, Any], remote: str) -> McpTool:
    spec = SnapshotTool.model_validate(
        {
            "id": uuid.uuid4(),
            "name": f"orders__{remote}",
            "tool_type": ToolType.mcp,
            "description": "",
            "input_schema": {"type": "object", "properties": {}},
            "sub_assistant_id": None,
            "config": config,
        }
    )
    return McpTool(spec, NO_SERVICES, remote)


def test_the_tools_that_read_outside_content() -> None:
    outside = {t for t, cls in tool_classes().items() if cls.reads_outside_content}
    assert outside == {"read_page", "web_search", "mcp"}


@pytest.mark.parametrize(
    ("tool_type", "arguments", "expected"),
    [
        ("remember", {"action": "add", "fact": "x"}, True),
        ("remember", {"action": "delete", "fact": "x"}, True),
        ("remember", {"action": "list"}, False),
        ("reminder", {"action": "delete", "reminder_id": "r"}, True),
        ("reminder", {"action": "list"}, False),
        ("calendar", {"action": "create", "summary": "a", "start": "b"}, False),
        ("calendar", {"action": "create", "summary": "a", "attendees": ["x@y.z"]}, True),
        ("calendar", {"action": "update", "event_id": "e"}, True),
        ("calendar", {"action": "delete", "event_id": "e"}, True),
        ("calendar", {"action": "list"}, False),
        ("read_page", {"url": "https://example.com"}, False),
        ("web_search", {"query": "q"}, False),
        ("time", {"action": "now"}, False),
        ("weather", {"location": "Paris"}, False),
    ],
)
def test_which_calls_store_or_remove(
    tool_type: str, arguments: dict[str, Any], expected: bool
) -> None:
    assert tool(tool_type).stores_or_removes(arguments) is expected


def test_an_mcp_function_writes_when_the_admin_says_so() -> None:
    config = {"transport": "http", "url": "http://mcp.example/mcp", "writing": ["cancel_order"]}
    assert mcp(config, "cancel_order").stores_or_removes({})
    assert not mcp(config, "list_orders").stores_or_removes({})
    unmarked = {"transport": "http", "url": "http://m.example/"}
    assert not mcp(unmarked, "cancel_order").stores_or_removes({})


@pytest.fixture(scope="module")
def admin(platform: Platform) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {platform.secrets['ADMIN_API_TOKEN']}"}
    with httpx.Client(base_url=platform.rest_url, headers=headers, timeout=30) as client:
        yield client


@pytest.mark.parametrize("writing", ["cancel_order", [1], [""], {"a": 1}])
def test_a_writing_list_that_is_not_names_is_a_422(admin: httpx.Client, writing: Any) -> None:
    config = {"transport": "http", "url": "https://mcp.example.com/mcp", "writing": writing}
    body = {"name": f"mcp{uuid.uuid4().hex[:10]}", "tool_type": "mcp", "config": config}
    response = admin.post("/api/tools/", json=body)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == ["config.writing"]


def test_a_writing_list_is_kept(admin: httpx.Client) -> None:
    config = {"transport": "http", "url": "https://mcp.example.com/mcp", "writing": ["cancel"]}
    body = {"name": f"mcp{uuid.uuid4().hex[:10]}", "tool_type": "mcp", "config": config}
    response = admin.post("/api/tools/", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["config"] == config
    assert admin.delete(f"/api/tools/{response.json()['id']}").status_code == 204
