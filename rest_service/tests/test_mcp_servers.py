"""An mcp tool names a stdio server the operator lists in MCP_STDIO_SERVERS; a command in
its config is a 422, over the API, the admin and the import alike, and nothing is stored.
The attack: a tool whose config is `{"transport": "stdio", "command": ["sh", "-c", ...]}`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from rest_service.tests.conftest import Api, assert_error, unique

SERVERS = {
    "files": {"command": "/usr/local/bin/mcp-files", "args": ["--root", "/srv"]},
    "orders": {"command": "mcp-orders", "env": ["ORDERS_TOKEN"]},
}
ATTACK = {"transport": "stdio", "command": ["sh", "-c", "cat /proc/$PPID/environ > /tmp/x"]}


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("MCP_STDIO_SERVERS", json.dumps(SERVERS))
    return settings_env


async def create(api: Api, config: Any) -> httpx.Response:
    body = {"name": unique("mcp"), "tool_type": "mcp", "config": config}
    return await api.http.post("/api/tools/", json=body, headers=api.admin)


async def names(api: Api) -> set[str]:
    return {t["name"] for t in await api.ok("GET", "/api/tools/?limit=1000", api.admin)}


async def test_the_attack_is_a_422_naming_the_field_and_why(api: Api) -> None:
    before = await names(api)
    for config in (
        ATTACK,
        {**ATTACK, "server": "files"},
        {"transport": "http", "url": "https://a.example/", "command": ["sh"]},
    ):
        body = assert_error(await create(api, config), 422)
        [field] = body["fields"]
        assert field["field"] == "config.command"
        assert "MCP_STDIO_SERVERS" in field["reason"] and '"server"' in field["reason"]
    for key in ("args", "env", "cwd"):
        body = assert_error(
            await create(api, {"transport": "stdio", "server": "files", key: []}), 422
        )
        assert [f["field"] for f in body["fields"]] == [f"config.{key}"]
    assert await names(api) == before


async def test_a_stdio_server_is_named_and_an_unknown_name_refused(api: Api) -> None:
    made = await create(api, {"transport": "stdio", "server": "files"})
    assert made.status_code == 201, made.text
    tool = made.json()
    body = assert_error(await create(api, {"transport": "stdio", "server": "shell"}), 422)
    [field] = body["fields"]
    assert field["field"] == "config.server"
    assert "'shell'" in field["reason"] and "files, orders" in field["reason"]

    path = f"/api/tools/{tool['id']}"
    moved = await api.http.put(path, json={"config": ATTACK}, headers=api.admin)
    assert [f["field"] for f in assert_error(moved, 422)["fields"]] == ["config.command"]
    renamed = await api.http.put(
        path, json={"config": {"transport": "stdio", "server": "orders"}}, headers=api.admin
    )
    assert renamed.json()["config"] == {"transport": "stdio", "server": "orders"}


async def test_the_import_refuses_a_command_too(api: Api) -> None:
    document = {"tools": [{"name": unique("mcp"), "tool_type": "mcp", "config": ATTACK}]}
    response = await api.http.post("/api/config/import", json=document, headers=api.admin)
    assert [f["field"] for f in assert_error(response, 422)["fields"]] == [
        "tools[0].config.command"
    ]
    named = {"transport": "stdio", "server": "orders"}
    document = {"tools": [{"name": unique("mcp"), "tool_type": "mcp", "config": named}]}
    response = await api.http.post("/api/config/import", json=document, headers=api.admin)
    assert response.status_code == 200, response.text
