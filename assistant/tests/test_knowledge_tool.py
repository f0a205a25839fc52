"""The `knowledge` tool against the real rest_service: the running assistant's articles and
the shared ones, in the customer's words (Russian or English), cited by title; nothing found
tells the model to say it does not know and offer a person. And through the assistant: the
model calls the tool and its answer cites the article."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.knowledge_tool import CITE, NOTHING, KnowledgeTool
from assistant.tests.support import SHARED, Deployment, Platform, tool_spec
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import KNOWLEDGE_SEARCH_MAX
from tests.tiers import examples
from tests.waiting import until

KNOWLEDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "minLength": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": KNOWLEDGE_SEARCH_MAX},
    },
    "required": ["query"],
    "additionalProperties": False,
}


@pytest.fixture
async def admin(platform: Platform) -> AsyncIterator[RestClient]:
    async with RestClient(platform.rest_url, platform.secrets["ADMIN_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[KnowledgeTool]:
    settings = Settings(environment="test", redis_url=redis_url)
    async with client_session() as http:
        spec = tool_spec("knowledge", input_schema=KNOWLEDGE_SCHEMA)
        yield KnowledgeTool(spec, ToolServices(settings, redis, names, rest, http))


async def article(admin: RestClient, **fields: Any) -> dict[str, Any]:
    made: dict[str, Any] = await admin.post_json("/api/knowledge/", fields)
    return made


async def an_assistant(admin: RestClient) -> uuid.UUID:
    body = {"name": f"shop-{uuid.uuid4().hex[:8]}", "instructions": "Be a consultant."}
    return uuid.UUID((await admin.post_json("/api/assistants/", body))["id"])


def call(assistant_id: uuid.UUID) -> ToolCallOrigin:
    actor = Actor(user_id="u1", conversation_key="u1", chat_id=1, timezone="Europe/Berlin")
    return ToolCallOrigin(actor, str(uuid.uuid4()), assistant_id, "0", 0)


async def test_the_assistants_own_and_shared_articles_cited_by_title(
    tool: KnowledgeTool, admin: RestClient
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"  # the session's database is shared: a word of its own
    ours, theirs = await an_assistant(admin), await an_assistant(admin)
    own = await article(
        admin, title="Delivery", body=f"Delivery {word} costs 5 euros.", assistant_id=str(ours)
    )
    await article(admin, title="Shared", body=f"Every shop: {word} is free.")
    await article(admin, title="Theirs", body=f"{word} theirs", assistant_id=str(theirs))
    result = await tool.run({"query": f"  how much is {word}? "}, call(ours))
    assert result["query"] == f"how much is {word}?" and result["note"] == CITE
    assert {a["title"] for a in result["articles"]} == {"Delivery", "Shared"}
    first = next(a for a in result["articles"] if a["title"] == "Delivery")
    assert first["id"] == own["id"] and f"**{word}**" in first["excerpt"]
    assert set(first) == {"id", "title", "excerpt"}
    assert len((await tool.run({"query": word, "limit": 1}, call(ours)))["articles"]) == 1


async def test_russian_words_find_a_russian_article(tool: KnowledgeTool, admin: RestClient) -> None:
    word = f"зк{uuid.uuid4().hex[:6]}"
    shop = await an_assistant(admin)
    await article(admin, title="Гарантия", body=f"Гарантия на {word} два года.", language="ru")
    result = await tool.run({"query": f"какая гарантия на {word}?"}, call(shop))
    assert [a["title"] for a in result["articles"]] == ["Гарантия"]


async def test_nothing_found_says_so_and_offers_a_person(
    tool: KnowledgeTool, admin: RestClient
) -> None:
    result = await tool.run(
        {"query": f"unicorn {uuid.uuid4().hex}"}, call(await an_assistant(admin))
    )
    assert result["articles"] == [] and result["note"] == NOTHING
    assert "do not know" in NOTHING and "person" in NOTHING and "invent" in NOTHING


async def test_an_empty_or_huge_query_is_a_tool_error(tool: KnowledgeTool) -> None:
    with pytest.raises(ToolError, match="empty"):
        await tool.run({"query": " \n "}, call(uuid.uuid4()))
    with pytest.raises(ToolError, match="longer than"):
        await tool.run({"query": "x" * 501}, call(uuid.uuid4()))


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    arguments=st.fixed_dictionaries(
        {"query": st.text(max_size=60)},
        optional={"limit": st.one_of(st.integers(-5, 50), st.text(max_size=3), st.none())},
    )
)
async def test_any_arguments_give_a_result_or_a_tool_error(
    tool: KnowledgeTool, arguments: dict[str, Any]
) -> None:
    try:
        result = await tool.run(arguments, call(uuid.uuid4()))
    except ToolError:
        assert not " ".join(arguments["query"].split())
        return
    assert result["note"] in (CITE, NOTHING)
    assert len(result["articles"]) <= KNOWLEDGE_SEARCH_MAX


async def test_the_model_calls_the_tool_and_its_answer_cites_the_article(
    deployment: Deployment,
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    await article(
        deployment.admin,
        title="Opening hours",
        body=f"The {word} shop opens at 9 and closes at 18, Monday to Saturday.",
    )
    secretary = (await deployment.rest.get_config()).secretary
    assert secretary is not None
    # A name of its own: the session's database may hold the seed's `knowledge` tool.
    name = f"knowledge_{word}"
    tool_id = await linked_knowledge_tool(deployment, secretary.id, name)
    try:
        await seen_by_the_assistant(deployment)
        customer = await deployment.user("Mia")
        deployment.llm.call(name, {"query": f"when does the {word} shop open"})

        answer = await deployment.ask(customer, f"When does the {word} shop open?")

        assert name in deployment.llm.requests[0].tool_names
        assert "opens at 9 and closes at 18" in answer.text
        assert answer.text.endswith("Source: Opening hours")
        deployment.llm.call(name, {"query": "do you sell unicorns"})
        unknown = await deployment.ask(customer, "Do you sell unicorns?")
        assert "don't know" in unknown.text and "person" in unknown.text
    finally:
        await deployment.admin.delete(f"/api/tools/{tool_id}", cascade="true")


async def linked_knowledge_tool(deployment: Deployment, assistant_id: uuid.UUID, name: str) -> str:
    body = {
        "name": name,
        "tool_type": "knowledge",
        "description": "The shop's articles",
        "input_schema": KNOWLEDGE_SCHEMA,
    }
    made = await deployment.admin.post_json("/api/tools/", body)
    await deployment.admin.post_json(f"/api/assistants/{assistant_id}/tools/{made['id']}")
    return str(made["id"])


async def seen_by_the_assistant(deployment: Deployment) -> None:
    process = await deployment.assistant()
    latest = await deployment.rest.get_config_version()
    async with httpx.AsyncClient(timeout=5) as http:

        async def seen() -> bool:
            health = (await http.get(f"{process.url}/health")).json()
            return bool(health["checks"]["config"]["version"] >= latest)

        await until(seen, message=f"the {SHARED} saw config version {latest}")
