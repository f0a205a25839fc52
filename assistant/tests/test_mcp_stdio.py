"""Stdio MCP servers run only as the operator names them in MCP_STDIO_SERVERS, and confined:
the probe server (sandbox/mcp_stdio_probe.py, a real process speaking the protocol) finds
an empty environment plus what its entry lists, cannot read the assistant's, runs as
MCP_STDIO_USER when the tests run as root, and is stopped at its output, memory and CPU
limits. A command stored in a tool never runs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from assistant.src.clients.mcp_stdio import StdioLimits, StdioRefused, launch
from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.mcp_tool import McpCatalog, McpTool, expand
from assistant.tests.support import call_context
from assistant.tests.test_mcp_tools import mcp_spec
from common.features.mcp_servers import StdioServer
from sandbox.mcp_stdio_probe import probe_server

pytestmark = pytest.mark.e2e

ROOT = os.geteuid() == 0
#: Who the probe runs as when the tests run as root.
USER = "nobody" if ROOT else ""
#: A secret of the assistant's, and a variable the probe's entry lists.
SECRET = ("ADMIN_API_TOKEN", "never-for-an-mcp-server-0123456789")
LISTED = ("PROBE_GREETING", "hello")


def confined(services: ToolServices, **settings: Any) -> ToolServices:
    update = {
        "mcp_stdio_servers": {"probe": probe_server(USER, env=(LISTED[0], "NOT_SET_ANYWHERE"))},
        "mcp_stdio_user": USER,
        "mcp_stdio_memory_mb": 256,
        "mcp_stdio_cpu_seconds": 2,
        "mcp_stdio_max_output_bytes": 256 * 1024,
        "tool_timeout_seconds": 20,
        **settings,
    }
    new = services.settings.model_copy(update=update)
    return ToolServices(new, services.redis, services.names, services.rest, services.http)


async def probe(services: ToolServices, **settings: Any) -> dict[str, McpTool]:
    spec = mcp_spec({"transport": "stdio", "server": "probe"}, name="probe")
    functions = await expand(spec, confined(services, **settings), McpCatalog())
    return {tool.name.removeprefix("probe__"): tool for tool in functions}


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(*SECRET)
    monkeypatch.setenv(*LISTED)


async def test_the_server_sees_only_path_and_what_its_entry_lists(services, secrets_in_env) -> None:
    tools = await probe(services)
    assert await tools["add"].run({"a": 2, "b": 40}, call_context()) == "42"
    seen = json.loads(await tools["environment"].run({}, call_context()))
    # LC_CTYPE: Python's own locale coercion inside the probe, not ours.
    assert set(seen["own"]) - {"LC_CTYPE"} == {"PATH", LISTED[0]}


async def test_the_server_cannot_read_the_assistants_environment(services, secrets_in_env) -> None:
    """The attack: `/proc/$PPID/environ` of the process that started it."""
    tools = await probe(services)
    seen = json.loads(await tools["environment"].run({}, call_context()))
    assert seen["parent"].startswith("refused: PermissionError"), seen["parent"][:200]
    assert SECRET[1] not in json.dumps(seen)
    if ROOT:
        assert seen["uid"] != 0


async def test_a_flooding_server_is_stopped_at_the_output_cap(services) -> None:
    tools = await probe(services)
    assert len(await tools["flood"].run({"size": 1000}, call_context())) == 1000
    # The cap's own error: not the tool's 20 s timeout ("did not answer"), not 50 MB read.
    with pytest.raises(ToolError, match="wrote more than 262144 bytes"):
        await tools["flood"].run({"size": 50_000_000}, call_context())


async def test_the_memory_limit_holds(services) -> None:
    tools = await probe(services)
    assert "holding" in await tools["allocate"].run({"megabytes": 16}, call_context())
    with pytest.raises(ToolError, match="MemoryError"):
        await tools["allocate"].run({"megabytes": 512}, call_context())


async def test_the_cpu_limit_stops_a_spinning_server(services) -> None:
    tools = await probe(services, mcp_stdio_cpu_seconds=1)
    # Killed at its 1 CPU second: not the tool's 20 s timeout (that error says "did not
    # answer"), and not the 30 s spin's end (that answers "spun").
    with pytest.raises(ToolError, match="MCP server failed") as caught:
        await tools["spin"].run({"seconds": 30}, call_context())
    assert "did not answer" not in str(caught.value)


@pytest.mark.skipif(not ROOT, reason="only a root assistant needs MCP_STDIO_USER")
async def test_a_root_assistant_without_mcp_stdio_user_starts_nothing(services) -> None:
    assert await probe(services, mcp_stdio_user="") == {}
    limits = StdioLimits("", 2**28, 2, 2**18)
    with pytest.raises(StdioRefused, match="MCP_STDIO_USER is not set"):
        launch(probe_server(USER), limits)
    with pytest.raises(StdioRefused, match="is root"):
        launch(probe_server(USER), StdioLimits("root", 2**28, 2, 2**18))
    with pytest.raises(StdioRefused, match="not a user"):
        launch(probe_server(USER), StdioLimits("no-such-user-here", 2**28, 2, 2**18))


async def test_a_command_stored_in_a_tool_never_runs(services, tmp_path: Path) -> None:
    """What an admin could store before: the assistant refuses it even if it got past the
    API (an old row, a hand-edited database)."""
    marker = tmp_path / "ran"
    attack = {"transport": "stdio", "command": ["sh", "-c", f"touch {marker}"], "server": "probe"}
    spec = mcp_spec(attack, name="attack")
    assert await expand(spec, confined(services), McpCatalog()) == []
    tool = McpTool(spec.model_copy(update={"name": "attack__add"}), confined(services), "add")
    with pytest.raises(ToolError, match=r"config\.command"):
        await tool.run({"a": 1, "b": 2}, call_context())
    assert not marker.exists()


async def test_an_unknown_server_name_is_refused_at_run_time(services) -> None:
    spec = mcp_spec({"transport": "stdio", "server": "files"}, name="files")
    assert await expand(spec, confined(services), McpCatalog()) == []
    tool = McpTool(spec.model_copy(update={"name": "files__read"}), confined(services), "read")
    with pytest.raises(ToolError, match="names no server 'files'"):
        await tool.run({}, call_context())


async def test_a_listed_server_that_does_not_exist_offers_nothing(services) -> None:
    missing = {"missing": StdioServer(command="/nonexistent/mcp-server")}
    spec = mcp_spec({"transport": "stdio", "server": "missing"}, name="missing")
    with capture_logs() as logs:
        assert await expand(spec, confined(services, mcp_stdio_servers=missing), McpCatalog()) == []
    # The launch failed, rather than the listing waiting out the tool's timeout.
    (down,) = [e for e in logs if e["event"] == "mcp_server_unavailable"]
    assert down["error"].startswith("the MCP server failed"), down["error"]
