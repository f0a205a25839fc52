"""The limits a public bot needs, end to end: every service a real
process, Telegram and the LLM the stand-ins, with the shipped defaults (20 messages a minute,
10 tool calls a turn, 50 active reminders, repeats at most every 5 minutes, 200 000 tokens a
day). Each was unbounded before: a flood reached the model message by message, one turn made
20 reminders firing every minute, and every tool name the model invented became a series on
the open /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis

from common.features.limits import TokenBudget
from sandbox import telegram_updates as build
from sandbox.llm_server import Step, ToolCallStep
from tests.system import Person, System
from tests.waiting import until

#: The shipped defaults the system runs with.
PER_MINUTE, TOOL_CALLS, DAILY_TOKENS = 20, 10, 200_000


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


def calls(name: str, arguments: dict, count: int, about: str) -> Step:
    """One reply of the model with `count` calls of `name`, to the turn about `about`."""
    return Step(tool_calls=[ToolCallStep(name, arguments) for _ in range(count)], contains=about)


async def delivered(system: System, redis: aioredis.Redis) -> bool:
    """Nothing left in flight: Telegram holds no unconfirmed update (tg_bot confirms a batch
    only once it queued it, replies included), and both queues are empty (an entry is acked
    and deleted once handled), so no further message can reach a chat."""
    if system.telegram.api.updates:
        return False
    names = system.names
    return await redis.xlen(names.to_secretary) == 0 and await redis.xlen(names.to_telegram) == 0


async def test_a_flood_reaches_the_model_up_to_the_limit_and_is_refused_once(
    system: System, redis_url: str
) -> None:
    flo = Person.new("Flo")
    chat = build.private_chat(flo.telegram)
    for n in range(30):
        system.telegram.inject(build.message(chat, flo.telegram, text=f"flood number {n}"))

    await until(lambda: len(system.sent_to(flo.id)) >= PER_MINUTE + 1, timeout=60)
    redis = aioredis.Redis.from_url(redis_url)
    try:
        await until(lambda: delivered(system, redis), message="the flood handled to the end")
    finally:
        await redis.aclose()

    texts = [m.text for m in system.sent_to(flo.id)]
    refusals = [t for t in texts if "faster than I can read them" in t]
    assert len(refusals) == 1 and "seconds" in refusals[0]
    assert len(texts) == PER_MINUTE + 1
    asked = {str((r.last("user") or {}).get("content")) for r in system.requests_about("flood")}
    assert asked == {f"flood number {n}" for n in range(PER_MINUTE)}


async def test_a_spent_token_budget_is_refused_politely_and_usage_shows_it(
    system: System, redis_url: str
) -> None:
    ada = Person.new("Ada")
    await system.say(ada, "hello, first of the day")
    user = system.user_row(ada)
    assert user is not None
    redis = aioredis.Redis.from_url(redis_url)
    try:
        budget = TokenBudget(redis, system.names, DAILY_TOKENS)
        used = await budget.used_today(user["id"])
        assert used > 0  # the turn's reported prompt + completion tokens
        await budget.add(user["id"], DAILY_TOKENS - used - 1)  # a heavy day, one token left
    finally:
        await redis.aclose()

    last = await system.say(ada, "one more question today")
    refused = await system.say(ada, "and another one please")
    usage = await system.say(ada, "/usage")

    assert last.text == "You said: one more question today"
    assert "resets at 00:00 UTC" in refused.text and "/usage" in refused.text
    assert system.requests_about("and another one") == []
    assert "AI tokens used:" in usage.text and "of 200 000 (0 left)" in usage.text
    assert "Messages to me: 3" in usage.text


async def test_twenty_every_minute_reminders_in_one_turn_are_refused_and_the_model_told(
    system: System,
) -> None:
    rex = Person.new("Rex")
    arguments = {"action": "create", "text": "stretch", "recurrence": "every minute"}
    system.llm.script(calls("reminder", arguments, 20, "stretch every minute"))

    answer = await system.say(rex, "remind me to stretch every minute, 20 times over")

    results = system.tool_results("stretch every minute")
    assert len(results) == 20 and all("error" in r for r in results)
    refused = [r["error"] for r in results[:TOOL_CALLS]]
    assert all("repeat at most every 5 minutes" in e for e in refused), refused
    assert all("not run" in r["error"] for r in results[TOOL_CALLS:])
    assert "Sorry, that did not work" in answer.text
    jobs = system.query(
        "SELECT count(*) FROM cron_jobs j JOIN users u ON u.id = j.user_id "
        "WHERE u.telegram_id = %s",
        rex.id,
    )
    assert jobs == [(0,)]


async def test_tool_calls_past_the_cap_are_not_run_and_the_turn_is_answered(
    system: System,
) -> None:
    tim = Person.new("Tim")
    system.llm.script(calls("time", {"action": "now"}, TOOL_CALLS + 3, "many clocks"))

    answer = await system.say(tim, "show me many clocks")

    results = system.tool_results("many clocks")
    assert [("error" in r) for r in results] == [False] * TOOL_CALLS + [True] * 3
    assert all(f"at most {TOOL_CALLS} tool calls" in r["error"] for r in results[TOOL_CALLS:])
    assert answer.text.strip()
    user = system.user_row(tim)
    assert user is not None
    rows = system.query("SELECT count(*) FROM tool_invocations WHERE user_id = %s", user["id"])
    assert rows == [(TOOL_CALLS,)]


async def test_invented_tool_names_share_one_metrics_label(system: System) -> None:
    ivy = Person.new("Ivy")
    invented = [f"made_up_tool_{uuid.uuid4().hex[:6]}" for _ in range(5)]
    system.llm.script(
        Step(tool_calls=[ToolCallStep(name, {}) for name in invented], contains="invent")
    )

    await system.say(ivy, "please invent some tools")

    async with httpx.AsyncClient(timeout=10) as http:
        metrics = (await http.get(f"{system.stack.url('assistant')}/metrics")).text
    assert not [name for name in invented if name in metrics]
    assert 'smart_assistant_tool_calls_total{outcome="error",tool="unknown"}' in metrics
