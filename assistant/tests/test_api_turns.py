"""What the public API's turns get from the assistant process: the tokens of all of a turn's
model calls on its answer, the assistant a message names answering in a conversation of its
own (the secretary's name is the secretary, in the usual one), and an honest answer for a
name no assistant has.

Real processes (rest_service, assistant), real Redis and Postgres, the chat-completions
stand-in reporting usage on every completion.
"""

from __future__ import annotations

from assistant.src.assistants.phrases import CATALOGUE
from assistant.tests.support import Deployment
from common.infrastructure.queue_messages import OutgoingKind, Usage


def reported(deployment: Deployment) -> Usage:
    """What the stand-in reported over every completion it made."""
    usages = [r.usage for r in deployment.llm.requests if r.usage is not None]
    return Usage(
        prompt_tokens=sum(u["prompt_tokens"] for u in usages),
        completion_tokens=sum(u["completion_tokens"] for u in usages),
    )


async def test_an_answer_carries_the_tokens_of_every_model_call_of_its_turn(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    ann = await deployment.user("Ann")
    deployment.llm.call("ask_helper", {"query": "any news?"})
    deployment.llm.reply("Nothing new.", contains="any news?")
    deployment.llm.reply("The helper says nothing is new.")

    answer = await deployment.ask(ann, "ask the helper for news")

    assert answer.text == "The helper says nothing is new."
    # the secretary's tool round, the helper it asked, the secretary's answer
    assert len(deployment.llm.requests) == 3
    assert answer.usage == reported(deployment)
    assert answer.usage is not None and answer.usage.prompt_tokens > 0
    assert answer.usage.total_tokens == (
        answer.usage.prompt_tokens + answer.usage.completion_tokens
    )


async def test_a_named_assistant_answers_in_a_conversation_of_its_own(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    bea = await deployment.user("Bea")
    helper = deployment.config.helper
    deployment.llm.reply("The helper here.")

    answer = await deployment.ask(bea, "who are you?", assistant=helper)

    assert (answer.text, answer.kind) == ("The helper here.", OutgoingKind.REPLY)
    (request,) = deployment.llm.requests
    assert "You are a test helper." in request.system_text
    assert "You are a test secretary." not in request.system_text
    assert answer.usage == reported(deployment)
    apart = await deployment.thread_messages(f"assistant:{helper}:{bea.id}", helper)
    assert [(m.role, m.content) for m in apart] == [
        ("user", "who are you?"),
        ("assistant", "The helper here."),
    ]
    assert await deployment.thread_messages(str(bea.id)) == []


async def test_the_secretary_named_keeps_the_persons_one_conversation(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    cleo = await deployment.user("Cleo")
    deployment.llm.reply("The secretary here.")

    answer = await deployment.ask(cleo, "hello", assistant=deployment.config.secretary)

    assert answer.text == "The secretary here."
    assert "You are a test secretary." in deployment.llm.requests[0].system_text
    stored = await deployment.thread_messages(str(cleo.id))
    assert [m.content for m in stored] == ["hello", "The secretary here."]


async def test_a_name_no_assistant_has_is_answered_honestly_without_a_model(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    dora = await deployment.user("Dora", language="de")
    ghost = f"ghost{deployment.config.suffix}"

    answer = await deployment.ask(dora, "Guten Tag, können Sie mir bitte helfen?", assistant=ghost)

    assert answer.kind == OutgoingKind.ERROR
    assert answer.text == CATALOGUE.text("de", "no_such_assistant", name=ghost)
    assert ghost in answer.text
    assert answer.usage is None
    assert deployment.llm.requests == []
