"""Web answers end to end: a question in Telegram, the scripted model calls `web_search`
(SearXNG's API on the search stand-in) and `read_page` (the stand-in's pages, the only
local address the assistant is allowed), and the answer cites the page as a link. In
English and Russian, with arguments as scripted and as real models write them; and
`read_page` refuses the machine's own and private addresses.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from sandbox.llm_server import Step, ToolCallStep
from sandbox.search_stand_in import SearchStandIn
from tests.system import Person, System

WITH_REAL_ARGUMENTS = pytest.mark.parametrize("style", ["exact", "realistic"])


@pytest.fixture
def style() -> str:
    return "exact"


@pytest.fixture
def system(whole_system: System, style: str) -> Iterator[System]:
    whole_system.llm.reset()
    whole_system.llm.argument_style = style
    yield whole_system
    whole_system.llm.reset()
    whole_system.llm.argument_style = "exact"


def stand_in(system: System) -> SearchStandIn:
    assert system.search is not None
    return system.search


@WITH_REAL_ARGUMENTS
async def test_a_web_question_is_answered_with_a_cited_link(system: System) -> None:
    search, ada = stand_in(system), Person.new("Ada")
    question = "When was Python 3.13 released?"
    system.llm.call(
        "web_search", {"query": "Python 3.13 release date", "max_results": 3}, contains="3.13"
    )
    before = search.hits["searxng"]

    answer = await system.say(ada, question)

    assert search.hits["searxng"] == before + 1
    [found] = system.tool_results(question)
    page = search.page_url("python-3-13")
    assert [r["url"] for r in found["results"]] == [page]
    assert "October 7, 2024" in answer.text
    assert system.link_to(answer, page) == page


@WITH_REAL_ARGUMENTS
async def test_a_russian_question_reads_the_page_and_cites_it(system: System) -> None:
    search, olga = stand_in(system), Person.new("Ольга", language="ru")
    question = "Какая длина у Транссибирской магистрали?"
    page = search.page_url("trans-siberian")
    system.llm.script(
        Step(
            tool_calls=[ToolCallStep("web_search", {"query": "длина Транссибирской магистрали"})],
            contains="Транссибирской",
        ),
        Step(tool_calls=[ToolCallStep("read_page", {"url": page})], contains="Транссибирской"),
    )

    answer = await system.say(olga, question)

    found, read = system.tool_results(question)
    assert found["results"][0]["url"] == page
    assert read["url"] == page and "9289 километров" in read["text"]
    assert "Site banner" not in read["text"]  # the page's furniture is not its text
    assert "9289 километров" in answer.text
    assert system.link_to(answer, page) == page


async def test_read_page_refuses_the_machines_own_and_private_addresses(system: System) -> None:
    """The assistant may read the stand-in's port only: rest_service on the same host and a
    private network address are refused, and the user still gets an answer."""
    rest = urlsplit(system.stack.url("rest_service"))
    own = f"http://127.0.0.1:{rest.port}/api/config/version"
    boris = Person.new("Boris")
    question = "What does the admin page say?"
    system.llm.script(
        Step(
            tool_calls=[
                ToolCallStep("read_page", {"url": own}),
                ToolCallStep("read_page", {"url": "http://10.0.0.1/"}),
            ],
            contains="admin page",
        )
    )

    answer = await system.say(boris, question)

    local, private = system.tool_results(question)
    assert "refused: 127.0.0.1 is a loopback address" in local["error"]
    assert "refused: 10.0.0.1 is a private address" in private["error"]
    assert answer.text.startswith("Sorry, that did not work")
