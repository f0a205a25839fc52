"""The assistant process end to end: queue in, answer out, history in rest_service.

Real processes (rest_service, assistant), real Redis and Postgres, the real `openai` SDK
against the chat-completions stand-in. The tests share one assistant (`platform`).
"""

from __future__ import annotations

import uuid

from assistant.tests.support import Deployment
from common.infrastructure.queue_messages import (
    ChatType,
    IncomingMessage,
    OutgoingKind,
    answer_message_id,
)
from tests.streams import stream_entries
from tests.waiting import until


async def test_a_message_in_gets_an_answer_out(deployment: Deployment) -> None:
    await deployment.assistant()
    alice = await deployment.user("Alice", timezone="Europe/Moscow")
    deployment.llm.reply("Hello Alice!")

    message = await deployment.send(alice, "hello")
    answer = await deployment.answer_to(message)

    assert answer.text == "Hello Alice!"
    assert answer.kind == OutgoingKind.REPLY
    assert answer.message_id == answer_message_id(message.message_id)
    assert answer.chat_id == message.chat_id
    assert answer.correlation_id == str(message.message_id)
    (request,) = deployment.llm.requests
    assert request.model == deployment.config.primary
    assert request.api_key == "sk-sandbox"  # the provider's key, from rest_service
    assert "You are a test secretary." in request.system_text
    assert "Europe/Moscow" in request.system_text and "Alice" in request.system_text
    assert request.messages[-1] == {"role": "user", "content": "hello"}
    stored = await deployment.thread_messages(str(alice.id))
    assert [(m.role, m.content) for m in stored] == [
        ("user", "hello"),
        ("assistant", "Hello Alice!"),
    ]
    assert stored[1].model == deployment.config.primary
    assert stored[1].tokens_in and stored[1].latency_ms is not None


async def test_buttons_come_from_this_turns_tools_so_a_turn_without_any_reads_no_notes(
    deployment: Deployment,
) -> None:
    """A note for the message that no tool of this turn wrote (an earlier try's, whose
    answer was never sent and which this try's model did not repeat) gives no button: the
    answer says nothing of that reminder, and a turn without tools skips the read."""
    await deployment.assistant()
    carol = await deployment.user("Carol")
    deployment.llm.reply("Nothing to set up, just saying hi.")
    message = IncomingMessage(
        message_id=uuid.uuid4(), chat_id=int(carol.telegram_id), chat_type=ChatType.PRIVATE,
        user_id=carol.id, telegram_user_id=carol.telegram_id, first_name="Carol", text="hi",
        reply_stream=deployment.replies,
    )  # fmt: skip
    await deployment.redis.rpush(
        deployment.names.reminders_made(str(message.message_id)), str(uuid.uuid4())
    )
    await deployment.redis.xadd(deployment.names.to_secretary, {"data": message.to_json()})
    answer = await deployment.answer_to(message)
    assert answer.text == "Nothing to set up, just saying hi." and answer.buttons == []


async def test_an_answer_goes_to_the_reply_stream_and_not_to_telegram(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    bob = await deployment.user("Bob")
    deployment.llm.reply("to the cli")

    message = await deployment.send(bob, "hi from the cli", reply_stream="cli:replies:bob")
    answer = await deployment.answer_to(message, stream="cli:replies:bob")

    assert answer.text == "to the cli"
    # other tests of the shared platform write to Telegram's stream; none of it is this answer
    to_telegram = await deployment.answers("queue:to_telegram")
    assert [a for a in to_telegram if a.correlation_id == str(message.message_id)] == []


async def test_a_malformed_entry_is_dead_lettered_and_the_next_is_answered(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    carol = await deployment.user("Carol")
    marker = f'{{"not": "a message", "from": "{deployment.replies}"}}'
    await deployment.redis.xadd(deployment.names.to_secretary, {"data": marker})

    await deployment.ask(carol, "still there?")

    dead = await stream_entries(deployment.redis, deployment.names.dead("queue:to_secretary"))
    (entry,) = [fields for _id, fields in dead if fields[b"data"] == marker.encode()]
    assert entry[b"error"].startswith(b"malformed")


async def test_llm_down_after_retries_and_fallback_is_an_apology_in_the_users_language(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    ivan = await deployment.user("Ivan", language="ru")
    deployment.llm.fail(500, times=None)

    answer = await deployment.ask(ivan, "привет")

    assert answer.kind == OutgoingKind.ERROR
    assert answer.text.startswith("Извините")
    config = deployment.config
    assert [r.model for r in deployment.llm.requests] == [config.primary] * 3 + [
        config.fallback
    ] * 3

    async def settled() -> bool:  # the answer goes out before the entry is acknowledged
        pending = await deployment.redis.xpending(deployment.names.to_secretary, "assistant")
        return bool(pending["pending"] == 0)

    await until(settled, 20, "the message acknowledged")


async def test_the_fallback_model_answers_when_the_primary_fails(deployment: Deployment) -> None:
    await deployment.assistant()
    dora = await deployment.user("Dora")
    deployment.llm.fail(503, model=deployment.config.primary, times=None)
    deployment.llm.reply("fallback here", model=deployment.config.fallback)

    answer = await deployment.ask(dora, "anyone?")

    assert answer.text == "fallback here" and answer.kind == OutgoingKind.REPLY
    stored = await deployment.thread_messages(str(dora.id))
    assert stored[-1].model == deployment.config.fallback


async def test_the_users_chosen_model_comes_first(deployment: Deployment) -> None:
    await deployment.assistant()
    gina = await deployment.user("Gina")
    await deployment.rest.update_user(gina.id, preferred_model=deployment.config.fallback)

    await deployment.ask(gina, "which model?")

    assert [r.model for r in deployment.llm.requests] == [deployment.config.fallback]


async def test_new_instructions_reach_the_next_message_within_a_second_without_restart(
    deployment: Deployment,
) -> None:
    assistant = await deployment.assistant()
    erin = await deployment.user("Erin")
    await deployment.ask(erin, "before")
    secretary = f"/api/assistants/{await deployment.assistant_id(deployment.config.secretary)}"
    old = (await deployment.admin.get_json(secretary))["instructions"]
    assert assistant.proc is not None
    pid = assistant.proc.pid

    try:
        await deployment.admin.put_json(secretary, {"instructions": "Talk like a pirate."})
        await deployment.ask(erin, "after")
    finally:
        await deployment.admin.put_json(secretary, {"instructions": old})

    request = deployment.llm.requests[-1]
    assert request.messages[-1]["content"] == "after"
    # The very next message has them: nothing waited for a cache to expire, nothing restarted.
    assert "Talk like a pirate." in request.system_text
    assert assistant.running and assistant.proc is not None and assistant.proc.pid == pid
