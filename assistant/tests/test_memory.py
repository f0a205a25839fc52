"""Short-term window, long-term memory, and group/private separation, as the model sees
them (the stand-in records every request). The tests share one assistant with the
default limits: MAX_CONTEXT_MESSAGES=20, MAX_CONTEXT_LENGTH=12000."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg2

from assistant.src.assistants.memory import MEMORY_HEADER, message_size
from assistant.src.settings import Settings
from assistant.tests.support import Deployment
from common.infrastructure.wire import MessageIn, MessageRole, TelegramUser
from sandbox.llm_server import RecordedRequest

LIMITS = Settings(environment="test")


def history(request: RecordedRequest) -> list[dict[str, Any]]:
    """What the request carried between the system messages and the new user message."""
    return [m for m in request.messages[:-1] if m["role"] != "system"]


def memory(request: RecordedRequest) -> str:
    found = [m["content"] for m in request.messages if m["role"] == "system"]
    return next((c for c in found if c.startswith(MEMORY_HEADER)), "")


async def thread_of(deployment: Deployment, user: TelegramUser) -> str:
    secretary = await deployment.assistant_id(deployment.config.secretary)
    return (await deployment.rest.get_or_create_thread(str(user.id), secretary)).thread_id


async def store(deployment: Deployment, user: TelegramUser, messages: list[MessageIn]) -> None:
    """Append messages to the user's thread with the secretary, in order, through the API."""
    thread = await thread_of(deployment, user)
    for start in range(0, len(messages), 100):
        await deployment.rest.append_messages(thread, messages[start : start + 100])


async def bulk_store(
    database_url: str, deployment: Deployment, user: TelegramUser, count: int
) -> None:
    """Old history in one INSERT (appending 10 000 one API batch at a time would take the
    suite's whole budget); what the window must read goes through the API afterwards."""
    thread = await thread_of(deployment, user)
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    def insert() -> None:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO chat_messages (thread_id, conversation_key, role, content) "
                "SELECT %s, %s, CASE WHEN i %% 2 = 0 THEN 'user' ELSE 'assistant' END, "
                "'old message ' || i FROM generate_series(1, %s) AS i",
                (thread, str(user.id), count),
            )
        conn.close()

    await asyncio.to_thread(insert)


def chat(n: int, prefix: str = "old message") -> list[MessageIn]:
    return [
        MessageIn(
            role=MessageRole.user if i % 2 == 0 else MessageRole.assistant, content=f"{prefix} {i}"
        )
        for i in range(n)
    ]


def tool_exchange() -> list[MessageIn]:
    calls = [
        {"id": c, "type": "function", "function": {"name": "time", "arguments": "{}"}}
        for c in ("call_a", "call_b")
    ]
    exchange: list[dict[str, Any]] = [
        {"role": "user", "content": "two times please"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_a", "name": "time", "content": '{"time": "10:00"}'},
        {"role": "tool", "tool_call_id": "call_b", "name": "time", "content": '{"time": "11:00"}'},
        {"role": "assistant", "content": "It is 10:00 and 11:00."},
    ]
    return [MessageIn.model_validate(m) for m in exchange]


async def test_the_window_respects_both_limits_over_10000_messages_and_keeps_tool_calls_whole(
    deployment: Deployment, database_url: str
) -> None:
    await deployment.assistant()
    pat = await deployment.user("Pat")
    # The 20 newest: the two tool results, the answer, 17 more; their call is the 21st.
    newest = [*tool_exchange(), *chat(17, "recent")]
    await bulk_store(database_url, deployment, pat, 10_000 - len(newest))
    await store(deployment, pat, newest)

    sent = time.time()
    await deployment.ask(pat, "and now?")

    request = deployment.llm.requests[-1]
    window = history(request)
    # How fast a long history is read is bench/context_1m.py's to report; here, that the
    # window is what one bounded request to rest_service answers, not the 10 000 messages.
    print(f"10 000 messages: the model asked after {request.received_at - sent:.2f} s")
    secretary = await deployment.assistant_id(deployment.config.secretary)
    context = await deployment.rest.turn_context(
        str(pat.id),
        secretary,
        limit=LIMITS.max_context_messages,
        max_chars=LIMITS.max_context_length,
    )
    assert len(context.recent) <= LIMITS.max_context_messages
    assert len(window) == 18 and len(window) <= LIMITS.max_context_messages
    assert window[0] == {"role": "assistant", "content": "It is 10:00 and 11:00."}
    assert not [m for m in window if m["role"] == "tool" or m.get("tool_calls")]
    assert sum(message_size(m) for m in window) <= LIMITS.max_context_length

    long_ones = [
        MessageIn(
            role=MessageRole.user if i % 2 == 0 else MessageRole.assistant,
            content=f"{i} " + "x" * 3_500,
        )
        for i in range(5)
    ]
    await store(deployment, pat, long_ones)
    await deployment.ask(pat, "and with long ones?")

    window = history(deployment.llm.requests[-1])
    assert sum(message_size(m) for m in window) <= LIMITS.max_context_length
    assert [m["content"][:2] for m in window] == ["2 ", "3 ", "4 "]


async def test_long_term_memory_brings_back_an_old_fact(deployment: Deployment) -> None:
    await deployment.assistant()
    quinn = await deployment.user("Quinn")
    fact = [
        MessageIn(role=MessageRole.user, content="My cat is called Barsik."),
        MessageIn(role=MessageRole.assistant, content="What a lovely name!"),
    ]
    await store(deployment, quinn, [*fact, *chat(40, "filler")])

    await deployment.ask(quinn, "What is my cat called?")

    request = deployment.llm.requests[-1]
    assert "Barsik" in memory(request)
    assert not any("Barsik" in (m["content"] or "") for m in history(request))
    assert len(memory(request)) - len(MEMORY_HEADER) <= LIMITS.long_term_memory_length + 1


async def test_group_and_private_conversations_never_see_each_other(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    alice = await deployment.user("Alice")
    bob = await deployment.user("Bob")
    group = -int(alice.telegram_id)

    await deployment.ask(alice, "my secret code is 4242")
    await deployment.ask(alice, "hello group", chat_id=group, group=True)
    await deployment.ask(bob, "what is the secret code of Alice?", chat_id=group, group=True)
    in_group = deployment.llm.requests[-1]
    await deployment.ask(alice, "what did Bob say about the secret code?")
    in_private = deployment.llm.requests[-1]

    group_text = str(in_group.messages)
    assert "4242" not in group_text
    assert {"role": "user", "content": "Alice: hello group"} in in_group.messages
    assert in_group.messages[-1] == {
        "role": "user",
        "content": "Bob: what is the secret code of Alice?",
    }
    assert "group chat" in in_group.system_text and "answering Bob" in in_group.system_text
    assert "Bob" not in str(in_private.messages[1:-1])
    assert "4242" in str(in_private.messages)
    stored = await deployment.thread_messages(f"chat:{group}")
    authors = [(m.author, m.user_id) for m in stored if m.role == "user"]
    assert authors == [("Alice", alice.id), ("Bob", bob.id)]
