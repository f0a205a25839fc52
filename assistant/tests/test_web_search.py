"""`web_search` against the search stand-in, for each provider in its real API shape."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.clients.search import parse_results
from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.web_search_tool import WebSearchTool
from assistant.tests.support import call_context, tool_spec
from sandbox.search_stand_in import BRAVE_KEY, TAVILY_KEY, SearchStandIn
from sandbox.server import ScriptedServer

SPEC = tool_spec("web_search")


@pytest.fixture(scope="module")
def search() -> Iterator[SearchStandIn]:
    with SearchStandIn() as server:
        yield server


def tool(services: ToolServices, **overrides: Any) -> WebSearchTool:
    changed = services.settings.model_copy(update=overrides)
    return WebSearchTool(
        SPEC, ToolServices(changed, services.redis, services.names, services.rest, services.http)
    )


def providers(search: SearchStandIn) -> dict[str, dict[str, Any]]:
    return {
        "searxng": {"web_search_provider": "searxng", "searxng_url": search.base_url},
        "brave": {
            "web_search_provider": "brave",
            "brave_search_url": search.brave_url,
            "brave_api_key": BRAVE_KEY,
        },
        "tavily": {
            "web_search_provider": "tavily",
            "tavily_search_url": search.tavily_url,
            "tavily_api_key": TAVILY_KEY,
        },
    }


@pytest.mark.parametrize("provider", ["searxng", "brave", "tavily"])
async def test_each_provider_gives_title_url_and_plain_snippet(services, search, provider) -> None:
    web = tool(services, **providers(search)[provider])
    before = search.hits[provider]
    result = await web.run({"query": "when was Python 3.13 released?"}, call_context())
    assert search.hits[provider] == before + 1
    assert result["query"] == "when was Python 3.13 released?"
    assert result["results"] == [
        {
            "title": "What's New In Python 3.13",
            "url": search.page_url("python-3-13"),
            "snippet": "Python 3.13 was released on October 7, 2024, with a new interactive "
            "interpreter and an experimental free-threaded build.",
        }
    ]
    assert "cite" in result["note"]


@pytest.mark.parametrize("provider", ["searxng", "brave", "tavily"])
async def test_max_results_is_obeyed_and_capped_by_the_setting(services, search, provider) -> None:
    web = tool(services, **providers(search)[provider], web_search_max_results=2)
    query = {"query": "python eiffel транссиб"}
    assert len((await web.run({**query, "max_results": 1}, call_context()))["results"]) == 1
    assert len((await web.run({**query, "max_results": 10}, call_context()))["results"]) == 2


async def test_russian_query_finds_the_russian_page(services, search) -> None:
    web = tool(services, **providers(search)["searxng"])
    result = await web.run({"query": "длина Транссибирской магистрали"}, call_context())
    assert [r["url"] for r in result["results"]] == [search.page_url("trans-siberian")]


async def test_a_russian_speakers_brave_search_finds_the_russian_page(services, search) -> None:
    """The user's language goes along as Brave's `search_lang`; the results still come."""
    web = tool(services, **providers(search)["brave"])
    russian = call_context()
    russian = dataclasses.replace(russian, actor=dataclasses.replace(russian.actor, language="ru"))
    result = await web.run({"query": "длина Транссибирской магистрали"}, russian)
    assert [r["url"] for r in result["results"]] == [search.page_url("trans-siberian")]


async def test_nothing_found_tells_the_model_not_to_invent(services, search) -> None:
    web = tool(services, **providers(search)["searxng"])
    result = await web.run({"query": "zzyzx qwerty"}, call_context())
    assert result["results"] == [] and "do not make up" in result["note"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"web_search_provider": "searxng", "searxng_url": ""}, "SEARXNG_URL is empty"),
        ({"web_search_provider": "brave", "brave_api_key": ""}, "BRAVE_API_KEY is empty"),
        ({"web_search_provider": "tavily", "tavily_api_key": ""}, "TAVILY_API_KEY is empty"),
        (
            {"web_search_provider": "searxng", "searxng_url": "http://127.0.0.1:9"},
            "searxng unreachable",
        ),
    ],
)
async def test_a_provider_not_set_up_or_down_is_a_tool_error(services, overrides, message) -> None:
    with pytest.raises(ToolError, match=message):
        await tool(services, **overrides).run({"query": "python"}, call_context())


async def test_a_wrong_key_is_a_tool_error_naming_the_status(services, search) -> None:
    brave = {**providers(search)["brave"], "brave_api_key": "wrong"}
    with pytest.raises(ToolError, match="brave answered HTTP 422"):
        await tool(services, **brave).run({"query": "python"}, call_context())
    tavily = {**providers(search)["tavily"], "tavily_api_key": "wrong"}
    with pytest.raises(ToolError, match="tavily answered HTTP 401"):
        await tool(services, **tavily).run({"query": "python"}, call_context())


async def test_an_empty_or_huge_query_is_refused_before_any_request(services, search) -> None:
    web = tool(services, **providers(search)["searxng"])
    before = search.hits["searxng"]
    with pytest.raises(ToolError, match="empty"):
        await web.run({"query": "  \n "}, call_context())
    with pytest.raises(ToolError, match="longer than"):
        await web.run({"query": "x" * 401}, call_context())
    assert search.hits["searxng"] == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "title": JSON | st.text(max_size=300),
        "url": JSON | st.sampled_from(["https://a.example/x", "ftp://a", "javascript:x"]),
        "content": JSON | st.text(max_size=600),
    },
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=JSON | st.lists(ITEM | JSON, max_size=8), limit=st.integers(1, 20))
def test_any_provider_answer_parses_to_well_formed_results(items, limit) -> None:
    results = parse_results(items, "content", limit)
    assert len(results) <= limit
    for r in results:
        assert r.url.startswith(("http://", "https://"))
        assert r.title and len(r.title) <= 200 and len(r.snippet) <= 400


def a_list_not_results() -> web.Response:
    return web.json_response(["not", "a", "results", "object"])


async def test_an_answer_without_a_results_object_is_a_tool_error(services) -> None:
    with ScriptedServer("/search", a_list_not_results) as searxng:
        web_search = tool(
            services, web_search_provider="searxng", searxng_url=f"http://127.0.0.1:{searxng.port}"
        )
        with pytest.raises(ToolError, match="searxng answered with no results object"):
            await web_search.run({"query": "python"}, call_context())
    assert searxng.hits == 1
