"""Recall by meaning with the assistant a real process and the model the stand-in: a line
said weeks ago that shares no word with today's question comes back into the prompt's
long-term memory once an embedding model is configured; without one, memory is full-text
search as before and no embedding is asked for; a failing embedding endpoint never fails a
turn; a profile fact with no word in common with the question leads the prompt's profile
section once the facts have vectors. The stand-in's vectors put texts of one meaning on one axis
(`sandbox/llm_embeddings.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from assistant.tests.support import Deployment
from assistant.tests.test_memory import chat, memory, store
from common.infrastructure.wire import TelegramUser
from sandbox.llm_embeddings import embedding
from tests.waiting import until

SAID = "I don't eat meat, haven't for years"
QUESTION = "what should we cook for dinner tonight?"
#: The question's embedding (before the answer) and the stored messages' (after).
STAGES = ("query", "store")


@pytest.fixture
async def embedder(deployment: Deployment) -> AsyncIterator[str]:
    """This module's embedding model, active for the test."""
    name = f"embed-{deployment.config.suffix}"
    deployment.import_models([(name, ["embedding"], True)])
    await deployment.assistant()
    try:
        yield name
    finally:
        deployment.import_models([(name, ["embedding"], False)])


#: (what was said weeks ago, today's question): no word in common, one meaning.
CONVERSATIONS = {
    "en": (SAID, QUESTION),
    "ru": ("Я не ем мясо, уже много лет", "что приготовить на ужин сегодня?"),
}


async def said_weeks_ago(deployment: Deployment, user: TelegramUser, line: str) -> None:
    """The line said in chat (so the assistant stores it and its vector afterwards), then
    more than a window of chatter."""
    await deployment.ask(user, line)
    await until(lambda: line in deployment.llm.embeddings.inputs(), 10, "the line embedded")
    await store(deployment, user, chat(30, "chatter"))


@pytest.mark.parametrize("language", list(CONVERSATIONS))
async def test_a_line_sharing_no_word_with_the_question_is_recalled_by_meaning(
    deployment: Deployment, embedder: str, language: str
) -> None:
    said, question = CONVERSATIONS[language]
    rosa = await deployment.user("Rosa", language=language)
    await said_weeks_ago(deployment, rosa, said)
    embedded = deployment.llm.embeddings.requests[:]

    await deployment.ask(rosa, question)

    assert said in memory(deployment.llm.requests[-1])
    assert {r["model"] for r in embedded} == {embedder}
    assert [question] in [r["input"] for r in deployment.llm.embeddings.requests]


async def test_without_an_embedding_model_memory_is_full_text_search_as_before(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    sam = await deployment.user("Sam")
    await deployment.ask(sam, SAID)
    await store(deployment, sam, chat(30, "chatter"))

    await deployment.ask(sam, QUESTION)

    assert memory(deployment.llm.requests[-1]) == ""
    assert deployment.llm.embeddings.requests == []


async def test_a_failing_embedding_endpoint_never_fails_a_turn(
    deployment: Deployment, embedder: str
) -> None:
    tom = await deployment.user("Tom")
    deployment.llm.embeddings.fail(500, times=100)

    answered = await deployment.ask(tom, SAID)

    assert answered.text
    process = await deployment.assistant()

    async def failures_counted() -> bool:
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{process.url}/metrics")).text
        return all(f'embedding_failures_total{{stage="{s}"}}' in metrics for s in STAGES)

    await until(failures_counted, 20, "both failed embeddings counted")


#: Long facts that fill the prompt's profile section before a newer one fits.
FILLER = [f"Fact {n:02d}: my car's tires and engine were checked " + "x" * 240 for n in range(15)]
KOSHER = "I keep kosher"


async def test_a_fact_sharing_no_word_with_the_question_comes_first_in_the_prompt(
    deployment: Deployment, embedder: str
) -> None:
    """Facts oldest first fill the profile section, so the newest is left out of it; once
    the facts have vectors (made after a turn, in the background), the one nearest the
    question leads the section."""
    kim = await deployment.user("Kim")
    for fact in [*FILLER, KOSHER]:
        await deployment.rest.add_fact(kim.id, fact)
    await deployment.ask(kim, "hello")
    assert f"- {KOSHER}" not in deployment.llm.requests[-1].system_text
    await until(lambda: KOSHER in deployment.llm.embeddings.inputs(), 10, "the facts embedded")
    secretary = await deployment.assistant_id(deployment.config.secretary)

    async def all_embedded() -> bool:
        found = await deployment.rest.turn_context(
            str(kim.id), secretary, memory_query="dinner", profile_id=str(kim.id), facts=True,
            memory_vector=(embedder, embedding("dinner")),
        )  # fmt: skip
        return found.unembedded_facts == []

    await until(all_embedded, 10, "the facts' vectors stored")

    await deployment.ask(kim, "what can I cook for dinner?")

    prompt = deployment.llm.requests[-1].system_text
    assert f"- {KOSHER}" in prompt
    assert prompt.index(f"- {KOSHER}") < prompt.index("- Fact 00")
