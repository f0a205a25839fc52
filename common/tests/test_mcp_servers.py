"""The MCP config rule as a function, and MCP_STDIO_SERVERS as a setting: a config that says
how to start a process is refused whatever else it holds; a stdio server is a listed name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from common.features.mcp_servers import SERVER_NAME, StdioServers
from common.infrastructure.wire import mcp_config_error, mcp_writing_error

KNOWN = ("files", "orders")
NAME = st.from_regex(SERVER_NAME, fullmatch=True)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    base=st.dictionaries(st.text(max_size=10), JSON, max_size=4),
    key=st.sampled_from(["command", "args", "env", "cwd"]),
    value=JSON,
)
def test_a_command_is_refused_whatever_else_the_config_holds(
    base: dict[str, Any], key: str, value: Any
) -> None:
    config = {k: v for k, v in base.items() if k not in ("command", "args", "env", "cwd")}
    config[key] = value
    problem = mcp_config_error(config, KNOWN)
    assert problem is not None
    assert problem[0] == f"config.{key}"
    assert "MCP_STDIO_SERVERS" in problem[1]


@settings(max_examples=200, deadline=None)
@given(name=NAME, extra=st.dictionaries(st.sampled_from(["writing", "note"]), JSON, max_size=2))
def test_a_stdio_server_is_accepted_exactly_when_it_is_listed(
    name: str, extra: dict[str, Any]
) -> None:
    config = {**extra, "transport": "stdio", "server": name}
    assert mcp_config_error(config) is None  # the assistant's shape check, no names given
    problem = mcp_config_error(config, KNOWN)
    if name in KNOWN:
        assert problem is None
    else:
        assert problem is not None and problem[0] == "config.server"
        assert "files, orders" in problem[1]


@settings(max_examples=200, deadline=None)
@given(server=st.one_of(JSON, st.text(max_size=80)))
def test_a_server_that_is_not_a_name_is_refused(server: Any) -> None:
    if isinstance(server, str) and SERVER_NAME.fullmatch(server):
        return
    problem = mcp_config_error({"transport": "stdio", "server": server})
    assert problem is not None and problem[0] == "config.server"


@pytest.mark.parametrize("config", [None, "http://x", ["transport", "http"], 3])
def test_a_config_that_is_no_object_is_refused_saying_its_shape(config: Any) -> None:
    assert mcp_config_error(config) == (
        "config",
        'an mcp tool needs {"transport": "http"|"stdio", ...}',
    )


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://mcp.example.com/sse", True),
        ("HTTP://10.0.0.5:8080", True),
        ("http://mcp.example.com?key=1", True),
        ("ftp://mcp.example.com", False),
        ("https://", False),
        ("https://user@mcp.example.com", False),
        ("https://mcp.example.com/a b", False),
        (None, False),
        (42, False),
    ],
)
def test_an_http_server_is_an_http_url_with_a_host(url: Any, accepted: bool) -> None:
    problem = mcp_config_error({"transport": "http", "url": url})
    expected = None if accepted else ("config.url", "must be an http(s) URL with a host")
    assert problem == expected


@pytest.mark.parametrize("transport", [None, "sse", "HTTP", 1])
def test_a_transport_other_than_http_or_stdio_is_refused(transport: Any) -> None:
    problem = mcp_config_error({"transport": transport, "url": "https://mcp.example.com"})
    assert problem == ("config.transport", 'must be "http" or "stdio"')


def test_with_no_stdio_servers_set_the_refusal_says_none_are_named() -> None:
    problem = mcp_config_error({"transport": "stdio", "server": "files"}, ())
    assert problem == (
        "config.server",
        "MCP_STDIO_SERVERS names no server 'files' (it names: none)",
    )


@pytest.mark.parametrize(
    ("config", "refused"),
    [
        ({"transport": "stdio"}, False),
        ({"writing": ["save_note", "delete_note"]}, False),
        ({"writing": []}, False),
        ("not an object", False),
        ({"writing": "save_note"}, True),
        ({"writing": ["save_note", ""]}, True),
        ({"writing": ["save_note", 3]}, True),
    ],
)
def test_the_writing_functions_are_a_list_of_names(config: Any, refused: bool) -> None:
    problem = mcp_writing_error(config)
    expected = ("config.writing", "must be a list of the server's function names")
    assert problem == (expected if refused else None)


class McpSettings(BaseSettings):
    mcp_stdio_servers: StdioServers = {}


def test_the_setting_is_read_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"command": "/usr/bin/mcp-files", "args": ["--root", "/srv"], "env": ["FILES_TOKEN"]}
    monkeypatch.setenv("MCP_STDIO_SERVERS", json.dumps({"files": entry}))
    [(name, server)] = McpSettings().mcp_stdio_servers.items()
    assert (name, server.command, server.args, server.env, server.cwd) == (
        "files",
        "/usr/bin/mcp-files",
        ("--root", "/srv"),
        ("FILES_TOKEN",),
        "/",
    )


@pytest.mark.parametrize(
    "value",
    [
        {"Files": {"command": "x"}},  # not a server name
        {"files": {"command": ""}},
        {"files": {"args": ["a"]}},  # no command
        {"files": {"command": "x", "env": ["NOT A NAME"]}},
        {"files": {"command": "x", "shell": True}},  # unknown key
        {"files": {"command": "x\x00y"}},
    ],
)
def test_a_wrong_entry_stops_the_service_at_start(
    monkeypatch: pytest.MonkeyPatch, value: dict[str, Any]
) -> None:
    monkeypatch.setenv("MCP_STDIO_SERVERS", json.dumps(value))
    with pytest.raises(ValidationError):
        McpSettings()


def test_an_argument_with_a_nul_is_refused_naming_the_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry = {"command": "/usr/bin/mcp-files", "args": ["--root", "/srv\x00/etc"]}
    monkeypatch.setenv("MCP_STDIO_SERVERS", json.dumps({"files": entry}))
    with pytest.raises(ValidationError) as refused:
        McpSettings()
    [error] = refused.value.errors()
    assert error["loc"][-1] == "args" and "no argument may contain NUL" in error["msg"]
