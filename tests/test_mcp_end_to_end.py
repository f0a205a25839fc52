"""MCP tools end to end: an admin adds an mcp tool over the REST API and links it to the
secretary; a question in Telegram, the scripted model calls the server's function (the
sandbox MCP server, a real process over streamable HTTP on an address MCP_HTTP_ALLOW_HOSTS
allows, or the stdio server the operator named in MCP_STDIO_SERVERS), and the answer
carries its result. A server that is down takes its functions
away, not the answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ops.infra import free_port
from sandbox.mcp_server import McpServerProcess
from tests.system import Person, System


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


@pytest.fixture(scope="module")
def orders_server() -> Iterator[McpServerProcess]:
    server = McpServerProcess()
    yield server
    server.stop()


class Linked:
    """mcp tools made and linked to the secretary by a test, removed after it."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.ids: list[str] = []

    async def add(self, name: str, config: dict[str, Any]) -> str:
        async with self.system.admin() as admin:
            made = await admin.post(
                "/api/tools/", json={"name": name, "tool_type": "mcp", "config": config}
            )
            assert made.status_code == 201, made.text
            tool_id = str(made.json()["id"])
            self.ids.append(tool_id)
            assistants = (await admin.get("/api/assistants/")).json()
            [secretary] = [a for a in assistants if a["is_secretary"]]
            link = await admin.post(f"/api/assistants/{secretary['id']}/tools/{tool_id}")
            assert link.status_code in (200, 201), link.text
        await self.system.assistant_has_latest_config()
        return tool_id

    async def remove(self) -> None:
        async with self.system.admin() as admin:
            for tool_id in self.ids:
                await admin.delete(f"/api/tools/{tool_id}", params={"cascade": "true"})
        await self.system.assistant_has_latest_config()


@pytest.fixture
async def linked(system: System) -> AsyncIterator[Linked]:
    tools = Linked(system)
    yield tools
    await tools.remove()


def prefix() -> str:
    return f"orders{uuid.uuid4().hex[:6]}"


async def test_the_model_calls_the_mcp_tool_and_the_answer_uses_its_result(
    system: System, linked: Linked, orders_server: McpServerProcess
) -> None:
    name, ada = prefix(), Person.new("Ada")
    tool_id = await linked.add(name, {"transport": "http", "url": orders_server.url})
    question = "Where is my order ORD-1017?"
    system.llm.call(f"{name}__order_status", {"order_id": "ORD-1017"}, contains="ORD-1017")

    answer = await system.say(ada, question)

    first = system.request_about(question)
    assert f"{name}__order_status" in first.tool_names
    assert "shipped on 12 March, arrives Friday" in answer.text
    rows = system.query(
        "SELECT ok FROM tool_invocations WHERE tool_id = %s AND tool_name = %s",
        tool_id,
        f"{name}__order_status",
    )
    assert rows == [(True,)]


async def test_a_bad_argument_reaches_the_model_as_an_error_and_the_user_gets_an_answer(
    system: System, linked: Linked, orders_server: McpServerProcess
) -> None:
    name, olga = prefix(), Person.new("Ольга", language="ru")
    await linked.add(name, {"transport": "http", "url": orders_server.url})
    question = "Где мой заказ 1017?"
    system.llm.call(f"{name}__order_status", {"order_id": "1017"}, contains="1017")

    answer = await system.say(olga, question)

    [result] = system.tool_results(question)
    assert "invalid arguments" in result["error"] and "order_id" in result["error"]
    assert answer.text


async def test_a_stdio_server_answers_under_the_name_the_operator_gave_it(
    system: System, linked: Linked
) -> None:
    name, ada = prefix(), Person.new("Ada")
    await linked.add(name, {"transport": "stdio", "server": "probe"})
    question = "What is 19 plus 23?"
    system.llm.call(f"{name}__add", {"a": 19, "b": 23}, contains="19 plus 23")

    answer = await system.say(ada, question, timeout=60)

    assert "42" in answer.text


async def test_a_server_that_is_down_takes_its_functions_away_not_the_answer(
    system: System, linked: Linked
) -> None:
    name, ada = prefix(), Person.new("Ada")
    await linked.add(name, {"transport": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"})
    question = "Hello, are you there?"
    system.llm.reply("Yes, I am here.", contains="are you there")

    answer = await system.say(ada, question)

    assert answer.text == "Yes, I am here."
    assert not [t for t in system.request_about(question).tool_names if t.startswith(name)]
