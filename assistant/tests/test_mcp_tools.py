"""MCP tools against the sandbox MCP server as a real process (streamable HTTP, on a local
address the tests allow with MCP_HTTP_ALLOW_HOSTS): the server's functions offered under
prefixed names, arguments validated before `tools/call`, and a server that is down, slow,
wrong or on a refused address made a tool error or an absent tool, never an exception.
Stdio servers: test_mcp_stdio.py."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.clients.llm import ToolCall
from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.mcp_tool import (
    FUNCTION_NAME,
    MAX_FUNCTIONS,
    McpCatalog,
    McpTool,
    expand,
    function_name,
    unique,
    writing_functions,
)
from assistant.src.tools.toolbox import Toolbox, ToolOutcome
from assistant.tests.support import Deployment, call_context
from common.infrastructure.wire import SnapshotTool, ToolType
from ops.infra import free_port
from sandbox.mcp_server import McpServerProcess


@pytest.fixture(scope="module")
def mcp_server() -> Iterator[McpServerProcess]:
    server = McpServerProcess()
    yield server
    server.stop()


def mcp_spec(config: dict[str, Any], *, name: str = "orders", tool_id: str | None = None) -> Any:
    body = {
        "id": tool_id or "00000000-0000-0000-0000-0000000000a1",
        "name": name,
        "tool_type": ToolType.mcp,
        "description": "",
        "input_schema": {"type": "object", "properties": {}},
        "sub_assistant_id": None,
        "config": config,
    }
    return SnapshotTool.model_validate(body)


def changed(services: ToolServices, **settings: Any) -> ToolServices:
    new = services.settings.model_copy(update=settings)
    return ToolServices(new, services.redis, services.names, services.rest, services.http)


def local(services: ToolServices) -> ToolServices:
    """Settings under which an MCP server on 127.0.0.1 may be reached."""
    return changed(services, mcp_http_allow_hosts="127.0.0.1")


async def test_the_servers_functions_are_offered_under_prefixed_names(services, mcp_server):
    spec = mcp_spec({"transport": "http", "url": mcp_server.url})
    functions = await expand(spec, local(services), McpCatalog())
    names = {tool.name: tool for tool in functions}
    assert set(names) == {
        "orders__order_status",
        "orders__add",
        "orders__slow",
        "orders__calls_made",
        "orders__environment",
    }
    definition = names["orders__order_status"].definition()["function"]
    assert definition["description"].startswith("The status of one order")
    assert definition["parameters"]["properties"]["order_id"]["pattern"] == r"^ORD-\d{1,8}$"
    assert definition["parameters"]["required"] == ["order_id"]


@dataclass
class Functions:
    """The server's functions in a toolbox recording to the real rest_service, under the
    stored tool an admin made."""

    box: Toolbox
    prefix: str

    async def call(self, function: str, arguments: dict[str, Any] | str) -> ToolOutcome:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return await self.box.run(ToolCall("c1", f"{self.prefix}__{function}", raw), call_context())


@asynccontextmanager
async def _orders(
    deployment: Deployment, services: ToolServices, mcp_server: Any, timeout: float
) -> AsyncIterator[Functions]:
    """The test MCP server stored as a tool, its functions run with `timeout` a call."""
    stored = await deployment.admin.post_json(
        "/api/tools/",
        {
            "name": f"orders{uuid.uuid4().hex[:8]}",
            "tool_type": "mcp",
            "config": {"transport": "http", "url": mcp_server.url},
        },
    )
    spec = mcp_spec(stored["config"], name=stored["name"], tool_id=stored["id"])
    recording = ToolServices(
        services.settings.model_copy(
            update={"tool_timeout_seconds": timeout, "mcp_http_allow_hosts": "127.0.0.1"}
        ),
        deployment.redis,
        deployment.names,
        deployment.rest,
        services.http,
    )
    functions = await expand(spec, recording, McpCatalog())
    try:
        yield Functions(Toolbox(functions, deployment.rest), stored["name"])
    finally:
        await deployment.admin.delete(f"/api/tools/{stored['id']}", cascade=True)


@pytest.fixture
async def orders(deployment: Deployment, services, mcp_server) -> AsyncIterator[Functions]:
    """A timeout no call on a busy machine reaches: only a server that never answers meets it."""
    async with _orders(deployment, services, mcp_server, 30.0) as functions:
        yield functions


@pytest.fixture
async def impatient_orders(
    deployment: Deployment, services, mcp_server
) -> AsyncIterator[Functions]:
    """1.5 s a call, for the server that answers after a minute."""
    async with _orders(deployment, services, mcp_server, 1.5) as functions:
        yield functions


async def test_a_valid_call_returns_the_servers_text(orders) -> None:
    outcome = await orders.call("order_status", {"order_id": "ORD-1017"})
    assert outcome.ok, outcome.error
    assert outcome.content == "Order ORD-1017: shipped on 12 March, arrives Friday"


async def test_arguments_are_fitted_like_our_own_tools(orders) -> None:
    outcome = await orders.call("add", '{"a": "2", "b": 3.0}')
    assert (outcome.ok, outcome.content) == (True, "5")


async def test_a_bad_argument_is_refused_before_the_call(orders) -> None:
    before = json.loads((await orders.call("calls_made", {})).content)
    for arguments in ({"order_id": "1017"}, {}, {"order_id": ["ORD-1"]}, "not json"):
        outcome = await orders.call("order_status", arguments)
        assert not outcome.ok
        assert "arguments" in (outcome.error or "")
    after = json.loads((await orders.call("calls_made", {})).content)
    assert after.get("order_status", 0) == before.get("order_status", 0)


async def test_the_servers_own_error_is_a_tool_error(orders) -> None:
    outcome = await orders.call("order_status", {"order_id": "ORD-9"})
    assert not outcome.ok
    assert "order_status" in (outcome.error or "")
    assert json.loads(outcome.content) == {"error": outcome.error}


async def test_a_slow_server_is_a_timeout_for_the_model(impatient_orders) -> None:
    # The server answers only after a minute: an outcome now is the toolbox's own timeout.
    outcome = await impatient_orders.call("slow", {"seconds": 60})
    assert not outcome.ok
    assert "1.5 s" in (outcome.error or "")


async def test_a_server_that_is_down_offers_nothing_and_its_calls_fail(services) -> None:
    services = local(services)
    down = mcp_spec({"transport": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"})
    assert await expand(down, services, McpCatalog()) == []
    orphan = McpTool(down.model_copy(update={"name": "orders__add"}), services, "add")
    with pytest.raises(Exception, match="MCP server failed") as raised:
        await orphan.run({"a": 1, "b": 2}, call_context())
    assert type(raised.value).__name__ == "ToolError"


async def test_a_server_whose_host_is_not_found_is_a_tool_error_naming_it(services) -> None:
    """A typo in the server's URL: the model reads that the host was not found, not that
    the server timed out."""
    spec = mcp_spec({"transport": "http", "url": "https://mcp.no-such-host.invalid/mcp"})
    assert await expand(spec, services, McpCatalog()) == []
    tool = McpTool(spec.model_copy(update={"name": "orders__add"}), services, "add")
    with pytest.raises(ToolError, match=r"failed: the host 'mcp\.no-such-host\.invalid'"):
        await tool.run({"a": 1, "b": 2}, call_context())


@pytest.mark.e2e  # starts processes in its body
async def test_the_list_is_cached_and_refreshed_on_config_change(services) -> None:
    server = McpServerProcess()
    now = [time.monotonic()]  # the catalog's clock, moved on by the test
    catalog = McpCatalog(ttl=1.0, down_retry=60, clock=lambda: now[0])
    spec = mcp_spec({"transport": "http", "url": server.url})
    settings = local(changed(services, tool_timeout_seconds=5)).settings
    try:
        assert len(await catalog.tools_of(spec, settings)) == 5
    finally:
        server.stop()
    assert len(await catalog.tools_of(spec, settings)) == 5  # within the TTL: no request
    moved = mcp_spec({"transport": "http", "url": server.url + "/"})
    assert await catalog.tools_of(moved, settings) == []  # a new config is listed at once
    now[0] += 1.1
    assert await catalog.tools_of(spec, settings) == []  # past the TTL: listed again, down


@pytest.mark.e2e  # starts processes in its body
async def test_a_server_offering_too_much_is_cut_to_size(services) -> None:
    server = McpServerProcess(extra_tools=80)
    try:
        spec = mcp_spec({"transport": "http", "url": server.url})
        functions = await expand(spec, local(services), McpCatalog())
    finally:
        server.stop()
    assert len(functions) == MAX_FUNCTIONS
    assert max(len(f.definition()["function"]["description"]) for f in functions) == 1_000


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "10.0.0.7", "169.254.169.254"])
async def test_an_http_server_on_a_private_address_is_refused(services, mcp_server, host) -> None:
    """read_page's address rules: the server is never asked, whatever listens there."""
    url = mcp_server.url.replace("127.0.0.1", host)
    spec = mcp_spec({"transport": "http", "url": url})
    assert await expand(spec, services, McpCatalog()) == []
    tool = McpTool(spec.model_copy(update={"name": "orders__add"}), services, "add")
    with pytest.raises(ToolError, match=r"address is refused.*MCP_HTTP_ALLOW_HOSTS"):
        await tool.run({"a": 1, "b": 2}, call_context())


async def test_mcp_http_allow_hosts_lets_a_named_local_server_through(services, mcp_server):
    spec = mcp_spec({"transport": "http", "url": mcp_server.url})
    other_port = changed(services, mcp_http_allow_hosts=f"127.0.0.1:{free_port()}")
    assert await expand(spec, other_port, McpCatalog()) == []
    this_port = changed(services, mcp_http_allow_hosts=f"127.0.0.1:{mcp_server.port}")
    assert len(await expand(spec, this_port, McpCatalog())) == 5


@settings(max_examples=100, deadline=None)
@given(prefix=st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True), a=st.text(), b=st.text())
def test_function_names_follow_openais_rule_and_stay_apart(prefix: str, a: str, b: str) -> None:
    assert FUNCTION_NAME.fullmatch(function_name(prefix, a))
    if a != b:
        assert function_name(prefix, a) != function_name(prefix, b)


async def test_a_function_its_server_did_not_list_is_not_run(services) -> None:
    unlisted = McpTool(mcp_spec({"transport": "http", "url": "http://127.0.0.1:9/mcp"}), services)
    with pytest.raises(ToolError, match="not listed by its server"):
        await unlisted.run({}, call_context())


async def test_a_stored_config_the_operators_rules_refuse_is_a_tool_error_before_any_call(
    services,
) -> None:
    unknown = mcp_spec({"transport": "stdio", "server": "no-such-server"})
    tool = McpTool(unknown.model_copy(update={"name": "orders__add"}), services, "add")
    with pytest.raises(ToolError, match=r"^the MCP tool's "):
        await tool.run({"a": 1}, call_context())
    assert await expand(unknown, services, McpCatalog()) == []


def test_a_name_offered_twice_keeps_its_first_tool() -> None:
    spec = mcp_spec({"transport": "http", "url": "http://127.0.0.1:9/mcp"})
    first, again, other = (
        McpTool(spec.model_copy(update={"name": name}), None, remote)  # type: ignore[arg-type]
        for name, remote in (("orders__add", "add"), ("orders__add", "add2"), ("orders__x", "x"))
    )
    assert unique([first, again, other]) == [first, other]


@pytest.mark.parametrize(
    ("config", "writing"),
    [
        ({"writing": ["create_order", 5, None, "cancel"]}, {"create_order", "cancel"}),
        ({"writing": "create_order"}, set()),
        (None, set()),
    ],
)
def test_the_writing_functions_are_the_names_the_admin_listed(config, writing) -> None:
    assert writing_functions(config) == writing
    spec = mcp_spec(config or {})
    assert McpTool(spec, None, "cancel").stores_or_removes({}) == ("cancel" in writing)  # type: ignore[arg-type]
