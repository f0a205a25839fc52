"""rest_service refuses an mcp tool whose server config cannot work or says how to start a
process, with a 422 naming the field, and keeps what it accepts: property tests on request
bodies built valid or broken by construction, plus the admin's realistic configs. A stdio
server is one of MCP_STDIO_SERVERS by name (`support.STDIO_SERVERS` here)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.tests.support import STDIO_SERVERS, Platform

HOST = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}\.){0,3}[a-z]{1,10}", fullmatch=True)
PATH = st.from_regex(r"(/[a-zA-Z0-9_.~-]{0,12}){0,4}", fullmatch=True)
NOT_A_STRING = st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.integers()))
SERVER = st.sampled_from(sorted(STDIO_SERVERS))
#: Keys that would say how to start a process, with any value.
COMMAND_KEY = st.sampled_from(["command", "args", "env", "cwd"])
ANY_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def valid_config(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
        scheme = draw(st.sampled_from(["http", "https", "HTTPS"]))
        return {"transport": "http", "url": f"{scheme}://{draw(HOST)}{port}{draw(PATH)}"}
    return {"transport": "stdio", "server": draw(SERVER)}


@st.composite
def broken_config(draw: st.DrawFn) -> tuple[Any, str]:
    """A config and the field the 422 must name."""
    kind = draw(st.sampled_from(["url", "command", "server", "unknown", "transport", "config"]))
    if kind == "url":
        url = draw(
            st.one_of(
                NOT_A_STRING,
                st.text(max_size=30).filter(lambda u: not u.lower().startswith("http")),
                HOST.map(lambda h: f"ftp://{h}/"),
                st.just("http://"),
                st.just("https:// spaced.example/"),
            )
        )
        return {"transport": "http", "url": url}, "config.url"
    if kind == "command":  # the attack: a command, however dressed, next to anything
        key = draw(COMMAND_KEY)
        config = draw(valid_config())
        return {**config, key: draw(ANY_JSON)}, f"config.{key}"
    if kind == "server":
        server = draw(
            st.one_of(
                NOT_A_STRING,
                st.text(max_size=70).filter(
                    lambda s: not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", s)
                ),
            )
        )
        return {"transport": "stdio", "server": server}, "config.server"
    if kind == "unknown":
        server = draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True))
        if server in STDIO_SERVERS:
            server += "-x"
        return {"transport": "stdio", "server": server}, "config.server"
    if kind == "transport":
        transport = draw(st.one_of(NOT_A_STRING, st.text(max_size=10)))
        if transport in ("http", "stdio"):
            transport = "sse"
        return {"transport": transport, "url": "http://example.com/mcp"}, "config.transport"
    return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2))), "config"


@pytest.fixture(scope="module")
def admin(platform: Platform) -> Iterator[httpx.Client]:
    token = platform.secrets["ADMIN_API_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=platform.rest_url, headers=headers, timeout=30) as client:
        yield client


def create(admin: httpx.Client, config: Any) -> httpx.Response:
    body = {"name": f"mcp{uuid.uuid4().hex[:10]}", "tool_type": "mcp", "config": config}
    return admin.post("/api/tools/", json=body)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=valid_config())
def test_a_usable_config_is_kept_as_sent(admin: httpx.Client, config: dict[str, Any]) -> None:
    response = create(admin, config)
    assert response.status_code == 201, response.text
    tool = response.json()
    assert tool["config"] == config
    assert admin.get(f"/api/tools/{tool['id']}").json()["config"] == config
    assert admin.delete(f"/api/tools/{tool['id']}").status_code == 204


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=broken_config())
def test_a_broken_config_is_a_422_naming_the_field(
    admin: httpx.Client, case: tuple[Any, str]
) -> None:
    config, field = case
    response = create(admin, config)
    assert response.status_code == 422, response.text
    fields = [f["field"] for f in response.json()["fields"]]
    assert any(f == field or f.endswith(f".{field}") or f == "config" for f in fields), fields


def test_an_mcp_tool_needs_a_config_and_an_update_is_checked_too(admin: httpx.Client) -> None:
    missing = admin.post(
        "/api/tools/", json={"name": f"m{uuid.uuid4().hex[:8]}", "tool_type": "mcp"}
    )
    assert missing.status_code == 422
    assert [f["field"] for f in missing.json()["fields"]] == ["config"]

    made = create(admin, {"transport": "stdio", "server": "files"}).json()
    broken = admin.put(f"/api/tools/{made['id']}", json={"config": {"transport": "stdio"}})
    assert broken.status_code == 422
    assert [f["field"] for f in broken.json()["fields"]] == ["config.server"]
    moved = {"transport": "http", "url": "https://mcp.example.com/mcp"}
    assert admin.put(f"/api/tools/{made['id']}", json={"config": moved}).json()["config"] == moved
    assert admin.delete(f"/api/tools/{made['id']}").status_code == 204


def test_an_mcp_tool_travels_in_export_and_import(admin: httpx.Client) -> None:
    name = f"mcp{uuid.uuid4().hex[:8]}"
    config = {"transport": "stdio", "server": "orders"}
    document = {"tools": [{"name": name, "tool_type": "mcp", "config": config}]}
    assert admin.post("/api/config/import", json=document).status_code == 200
    exported = admin.get("/api/config/export").json()
    [tool] = [t for t in exported["tools"] if t["name"] == name]
    assert tool["config"] == config

    broken = {"tools": [{"name": f"{name}x", "tool_type": "mcp", "config": {"transport": "http"}}]}
    response = admin.post("/api/config/import", json=broken)
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["tools[0].config.url"]
    tools = admin.get("/api/tools/", params={"limit": 1000}).json()
    assert f"{name}x" not in {t["name"] for t in tools}
    [made] = [t for t in tools if t["name"] == name]
    assert admin.delete(f"/api/tools/{made['id']}").status_code == 204
