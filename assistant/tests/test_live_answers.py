"""Live answers from the assistant process: drafts on `queue:drafts` while the model writes,
a status line while a tool runs, the final answer unchanged.

Real processes (rest_service, assistant), real Redis and Postgres, the `openai` SDK streaming
from the chat-completions stand-in.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator

import pytest

from assistant.src.assistants.phrases import status_line
from assistant.src.drafts import drafts_for
from assistant.src.settings import Settings
from assistant.tests.support import Deployment
from common.infrastructure.queue_messages import (
    ChatType,
    DraftMessage,
    IncomingMessage,
    OutgoingMessage,
    Source,
    answer_message_id,
)
from common.infrastructure.redis_keys import TO_TELEGRAM
from sandbox.llm_server import Step, ToolCallStep
from tests.streams import stream_entries

ANSWER = "Here is a longer answer that the model writes in many small pieces, slowly."


@pytest.fixture
async def telegram_bound(deployment: Deployment) -> AsyncIterator[Deployment]:
    """The deployment, with what these tests queue for Telegram removed afterwards (no tg_bot
    reads it here, and other tests expect it empty)."""
    yield deployment
    await deployment.redis.delete(deployment.names.to_telegram, deployment.names.drafts)


async def drafts_of(deployment: Deployment, message: IncomingMessage) -> list[DraftMessage]:
    wanted = answer_message_id(message.message_id)
    entries = await stream_entries(deployment.redis, deployment.names.drafts)
    drafts = [DraftMessage.model_validate_json(fields[b"data"]) for _id, fields in entries]
    return [d for d in drafts if d.message_id == wanted]


async def telegram_answer(deployment: Deployment, message: IncomingMessage) -> OutgoingMessage:
    return await deployment.answer_to(message, stream=TO_TELEGRAM)


async def test_the_answer_grows_in_drafts_and_the_final_is_the_stored_answer(
    telegram_bound: Deployment,
) -> None:
    deployment = telegram_bound
    await deployment.assistant()
    alice = await deployment.user("Alice")
    deployment.llm.script(Step(text=ANSWER, chunk_delay=0.03))

    message = await deployment.send(alice, "tell me something", reply_stream=TO_TELEGRAM)
    answer = await telegram_answer(deployment, message)

    assert answer.text == ANSWER
    drafts = await drafts_of(deployment, message)
    assert len(drafts) >= 3
    assert [d.seq for d in drafts] == sorted({d.seq for d in drafts})
    assert all(ANSWER.startswith(d.text) and d.text for d in drafts)
    assert all(len(a.text) < len(b.text) for a, b in itertools.pairwise(drafts))
    assert drafts[0].chat_id == message.chat_id and drafts[0].chat_type == ChatType.PRIVATE
    assert drafts[0].correlation_id == str(message.message_id) and drafts[0].status is None
    (request,) = deployment.llm.requests
    assert request.stream
    stored = await deployment.thread_messages(str(alice.id))
    assert [(m.role, m.content) for m in stored] == [
        ("user", "tell me something"),
        ("assistant", ANSWER),
    ]


async def test_a_tool_call_shows_a_status_line_in_the_users_language(
    telegram_bound: Deployment,
) -> None:
    deployment = telegram_bound
    await deployment.assistant()
    olga = await deployment.user("Olga", language="ru")
    deployment.llm.script(
        Step(tool_calls=[ToolCallStep("weather", {"location": "Berlin"})]),
        Step(
            text="В Берлине солнечно.", chunk_delay=0.15
        ),  # slower than the draft pace: a text draft shows
    )

    message = await deployment.send(
        olga, "какая погода в Берлине?", reply_stream=TO_TELEGRAM, group=True, chat_id=-1001
    )
    answer = await telegram_answer(deployment, message)

    assert answer.text == "В Берлине солнечно."
    drafts = await drafts_of(deployment, message)
    statuses = [d.status for d in drafts if d.status]
    assert statuses == ["узнаю погоду…"]
    assert drafts[0].chat_type == ChatType.GROUP and drafts[0].chat_id == -1001
    assert drafts[-1].text and "В Берлине солнечно.".startswith(drafts[-1].text)
    assert [d.seq for d in drafts] == list(range(1, len(drafts) + 1))


async def test_a_stream_broken_midway_is_answered_whole_and_stored_once(
    telegram_bound: Deployment,
) -> None:
    deployment = telegram_bound
    await deployment.assistant()
    bob = await deployment.user("Bob")
    deployment.llm.script(
        Step(text="This first try is cut off before it ends properly", break_after=4),
        Step(text="The whole answer, second try."),
    )

    message = await deployment.send(bob, "go on", reply_stream=TO_TELEGRAM)
    answer = await telegram_answer(deployment, message)

    assert answer.text == "The whole answer, second try."
    assert len(deployment.llm.requests) == 2
    stored = await deployment.thread_messages(str(bob.id))
    assert [(m.role, m.content) for m in stored] == [
        ("user", "go on"),
        ("assistant", "The whole answer, second try."),
    ]


async def test_answers_not_for_a_telegram_chat_are_not_streamed(deployment: Deployment) -> None:
    await deployment.assistant()
    carol = await deployment.user("Carol")
    deployment.llm.reply("for the cli")

    message = await deployment.send(carol, "hi from the cli")  # its own reply stream
    answer = await deployment.answer_to(message)

    assert answer.text == "for the cli"
    assert not await drafts_of(deployment, message)
    assert not deployment.llm.requests[0].stream


def incoming(**fields: object) -> IncomingMessage:
    base: dict[str, object] = {
        "message_id": uuid.uuid4(),
        "chat_id": 5,
        "user_id": uuid.uuid4(),
        "text": "hi",
    }
    return IncomingMessage.model_validate({**base, **fields})


def test_only_a_telegram_users_turn_is_streamed_and_only_when_enabled(redis, names) -> None:
    on = Settings(environment="test", stream_answers=True)
    off = Settings(environment="test", stream_answers=False)
    assert drafts_for(incoming(), on, redis, names) is not None
    assert drafts_for(incoming(), off, redis, names) is None
    assert drafts_for(incoming(source=Source.CRON), on, redis, names) is None
    assert drafts_for(incoming(source=Source.CLI), on, redis, names) is None
    assert drafts_for(incoming(reply_stream="cli:replies:x"), on, redis, names) is None


@pytest.mark.parametrize("source", [Source.WEB, Source.API])
async def test_a_web_chat_or_public_api_turn_is_streamed_for_the_channels_service(
    redis, names, source: Source
) -> None:
    on = Settings(environment="test", stream_answers=True)
    address = {"channel": source, "channel_chat_id": "v1", "reply_stream": "queue:to_channels"}
    publisher = drafts_for(incoming(source=source, **address), on, redis, names)
    assert publisher is not None
    await publisher.status("checking your calendar…")
    ((_, fields),) = await redis.xrange(names.stream("queue:channel_drafts"))
    draft = DraftMessage.model_validate_json(fields[b"data"])
    assert (draft.channel, draft.channel_chat_id, draft.status) == (
        source.value,
        "v1",
        "checking your calendar…",
    )
    assert await redis.xrange(names.drafts) == []
    # a scheduled prompt in that conversation, or an answer sent elsewhere, is not
    assert drafts_for(incoming(source=Source.CRON, **address), on, redis, names) is None
    elsewhere = {**address, "reply_stream": "cli:replies:x"}
    assert drafts_for(incoming(source=source, **elsewhere), on, redis, names) is None


async def test_the_channels_that_cannot_edit_a_message_are_not_streamed(redis, names) -> None:
    on = Settings(environment="test", stream_answers=True)
    whatsapp = {"channel": "whatsapp", "channel_chat_id": "w1", "reply_stream": "queue:to_channels"}
    assert drafts_for(incoming(source=Source.WHATSAPP, **whatsapp), on, redis, names) is None


def test_status_lines_name_the_tools_work() -> None:
    assert status_line(["calendar"], "en") == "checking your calendar…"
    assert status_line(["weather", "time"], "de") == "schaue nach dem Wetter…"
    assert status_line([None], "uk") == "працюю над цим…"
    assert status_line(["something_new"], "xx") == "working on it…"


async def test_a_sub_assistant_is_not_streamed_and_its_work_shows_as_a_status(
    telegram_bound: Deployment,
) -> None:
    deployment = telegram_bound
    await deployment.assistant()
    dan = await deployment.user("Dan")
    deployment.llm.script(
        Step(tool_calls=[ToolCallStep("ask_helper", {"query": "what is up?"})]),
        Step(text="All fine over here.", contains="what is up?"),
        Step(text="The helper says all is fine."),
    )

    message = await deployment.send(dan, "ask the helper", reply_stream=TO_TELEGRAM)
    answer = await telegram_answer(deployment, message)

    assert answer.text == "The helper says all is fine."
    helper = [r for r in deployment.llm.requests if "You are a test helper." in r.system_text]
    assert helper and not any(r.stream for r in helper)
    secretary = [r for r in deployment.llm.requests if r not in helper]
    assert secretary and all(r.stream for r in secretary)
    drafts = await drafts_of(deployment, message)
    assert "asking a colleague…" in [d.status for d in drafts]
    assert all("All fine over here." not in d.text for d in drafts)
