"""The running summary, with real processes: rest_service, an assistant with a small window
and threshold, and the LLM stand-in scripted to summarise. What was said long before the
window reaches the prompt through the summary; summarising never holds the answer back, runs
once at a time per thread across replicas, and a failing model keeps the old summary."""

from __future__ import annotations

import asyncio

import httpx

from assistant.src.assistants.memory import SUMMARY_HEADER
from assistant.tests.support import SHARED, Deployment
from assistant.tests.test_memory import chat, store, thread_of
from common.infrastructure.wire import MessageIn, MessageRole, TelegramUser
from sandbox.llm_server import RecordedRequest, Step
from tests.streams import stream_entries
from tests.waiting import until

WINDOW = "6"
AFTER = "20"
#: What only the summarising request carries (`turn/summary.py summary_request`).
SUMMARY_ASKED = "Newer messages:"


async def small_window_assistant(deployment: Deployment, name: str = "assistant-summaries") -> None:
    """The only assistant on the queue: a window of 6 messages, a summary after 20 more."""
    shared = deployment.stack.processes.get(SHARED)
    if shared is not None and shared.running:
        await asyncio.to_thread(shared.stop)
    await deployment.another_assistant(
        name, MAX_CONTEXT_MESSAGES=WINDOW, SUMMARY_AFTER_MESSAGES=AFTER
    )


def summary_requests(deployment: Deployment) -> list[RecordedRequest]:
    return [r for r in deployment.llm.requests if SUMMARY_ASKED in _user_text(r)]


def _user_text(request: RecordedRequest) -> str:
    last = request.last("user")
    return last["content"] if last is not None and isinstance(last["content"], str) else ""


async def stored_summary(deployment: Deployment, user: TelegramUser, containing: str) -> str:
    thread = await thread_of(deployment, user)

    async def found() -> str | None:
        summary = (await deployment.rest.summary_backlog(thread, limit=1)).summary
        return summary.content if summary and containing in summary.content else None

    return await until(found, 20, f"no summary with {containing!r}")


async def test_a_detail_said_200_messages_back_reaches_the_next_prompt_through_the_summary(
    deployment: Deployment,
) -> None:
    await small_window_assistant(deployment)
    lena = await deployment.user("Lena")
    said = MessageIn(role=MessageRole.user, content="my locker code is 4711")
    await store(deployment, lena, [said, *chat(199)])
    deployment.llm.script(
        Step(text="Lena's locker code is 4711.", contains=SUMMARY_ASKED, delay=1.0)
    )

    await deployment.ask(lena, "hello")
    answered_at = await _first_answer_ms(deployment)

    assert "4711" in await stored_summary(deployment, lena, "4711")
    (asked,) = summary_requests(deployment)
    assert "my locker code is 4711" in _user_text(asked)
    assert "Previous notes:\n(none yet)" in _user_text(asked)
    # The answer was queued before the model was asked to summarise.
    assert answered_at <= asked.received_at * 1000

    deployment.llm.reply("It is 4711.", contains="locker")
    await deployment.ask(lena, "what is my locker code?")
    prompt = next(r for r in deployment.llm.requests if "locker code?" in _user_text(r))
    notes = [m["content"] for m in prompt.messages if m["role"] == "system"]
    assert f"{SUMMARY_HEADER}\nLena's locker code is 4711." in notes
    history = [m for m in prompt.messages if m["role"] != "system"]
    assert len(history) <= int(WINDOW) + 1
    assert not any("4711" in str(m["content"]) for m in history[:-1])

    # The next fold reads the previous summary with the newer turns.
    await store(deployment, lena, [MessageIn(role=MessageRole.user, content="my bike is blue")])
    await store(deployment, lena, chat(int(AFTER) + int(WINDOW), "newer"))
    deployment.llm.script(Step(text="Locker code 4711; the bike is blue.", contains=SUMMARY_ASKED))
    await deployment.ask(lena, "thanks")
    assert "blue" in await stored_summary(deployment, lena, "blue")
    second = summary_requests(deployment)[-1]
    assert "Previous notes:\nLena's locker code is 4711." in _user_text(second)
    assert "my bike is blue" in _user_text(second)
    assert "my locker code is 4711" not in _user_text(second)


async def _first_answer_ms(deployment: Deployment) -> float:
    """When the first answer was queued: its stream entry's id is Redis' clock in ms."""
    entries = await stream_entries(deployment.redis, deployment.names.stream(deployment.replies))
    return float(entries[0][0].decode().split("-")[0])


async def test_two_replicas_never_summarise_one_thread_at_once(deployment: Deployment) -> None:
    await small_window_assistant(deployment)
    await deployment.another_assistant(
        "assistant-summaries-b", MAX_CONTEXT_MESSAGES=WINDOW, SUMMARY_AFTER_MESSAGES=AFTER
    )
    max_ = await deployment.user("Max")
    await store(deployment, max_, chat(60))
    deployment.llm.script(Step(text="notes", contains=SUMMARY_ASKED, delay=2.0, times=None))

    first = await deployment.send(max_, "one")
    await deployment.answer_to(first)
    await until(lambda: summary_requests(deployment), 10, "no summary was asked for")
    for text in ("two", "three", "four"):  # each turn would start a summary if it could
        await deployment.ask(max_, text)

    await stored_summary(deployment, max_, "notes")
    assert len(summary_requests(deployment)) == 1


async def test_a_failing_summary_model_leaves_the_old_summary(deployment: Deployment) -> None:
    await small_window_assistant(deployment)
    olga = await deployment.user("Olga")
    await store(deployment, olga, chat(2))
    thread = await thread_of(deployment, olga)
    old = (await deployment.rest.summary_backlog(thread)).messages[-1]
    await deployment.rest.write_summary(thread, "Olga likes tea.", old.id, None)
    await store(deployment, olga, chat(40))
    deployment.llm.fail(500, contains=SUMMARY_ASKED, times=None)

    await deployment.ask(olga, "hi")

    process = deployment.stack["assistant-summaries"]
    await until(lambda: '"summary_failed"' in process.logs(), 20, "the failure was not logged")
    assert 'smart_assistant_assistant_summary_failures_total{reason="LlmUnavailable"}' in (
        await _metrics(process.url)
    )
    summary = (await deployment.rest.summary_backlog(thread)).summary
    assert summary is not None and summary.content == "Olga likes tea."
    assert summary.covers_message_id == old.id


async def _metrics(url: str) -> str:
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{url}/metrics")).text
