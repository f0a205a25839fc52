"""Failures around the assistant process: rest_service down, SIGTERM and SIGKILL mid-message,
two processes on one consumer group."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from assistant.src.assistants.phrases import CATALOGUE
from assistant.tests.support import Deployment
from sandbox.llm_server import Step
from tests.waiting import until


def handled_by(deployment: Deployment, name: str) -> int:
    lines = deployment.stack[name].logs().splitlines()
    return sum(1 for line in lines if '"message_handled"' in line)


async def test_rest_service_down_keeps_the_message_pending_until_it_returns(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    fred = await deployment.user("Fred")
    await asyncio.to_thread(deployment.stack["rest_service"].stop)

    failed_before = _handlings_failed(deployment)
    message = await deployment.send(fred, "are you there?")
    await until(lambda: _handlings_failed(deployment) > failed_before, 20, "a handling ended")
    assert await deployment.answers() == []
    pending = await deployment.redis.xpending(deployment.names.to_secretary, "assistant")
    assert pending["pending"] == 1

    await asyncio.to_thread(deployment.stack.restart, "rest_service")
    answer = await deployment.answer_to(message)
    assert answer.text == "You said: are you there?"
    assert len(await deployment.answers()) == 1


async def test_sigterm_finishes_the_message_in_flight(deployment: Deployment) -> None:
    assistant = await deployment.assistant()
    gus = await deployment.user("Gus")
    deployment.llm.script(Step(text="finished in time", delay=1.0))

    message = await deployment.send(gus, "take your time")
    await until(lambda: _requests(deployment, 1), 20, "the model was not asked")
    code = await asyncio.to_thread(assistant.stop)

    assert code == 0
    answer = await deployment.answer_to(message, timeout=2)
    assert answer.text == "finished in time"


async def test_sigkill_mid_message_is_answered_exactly_once_after_restart(
    deployment: Deployment,
) -> None:
    assistant = await deployment.assistant()
    uma = await deployment.user("Uma")
    deployment.llm.script(Step(text="never delivered", delay=30.0))

    message = await deployment.send(uma, "the slow one")
    await until(lambda: _requests(deployment, 1), 20, "the model was not asked")
    assistant.kill()
    await deployment.assistant()

    answer = await deployment.answer_to(message)
    await deployment.ask(uma, "and then")  # a second answer to the first would come before
    assert [a.text for a in await deployment.answers()] == [
        "You said: the slow one",
        "You said: and then",
    ]
    assert answer.correlation_id == str(message.message_id)
    stored = await deployment.thread_messages(str(uma.id))
    assert [m.content for m in stored] == [
        "the slow one",
        "You said: the slow one",
        "and then",
        "You said: and then",
    ]


async def test_two_assistants_answer_every_message_once_and_each_chat_in_order(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    await deployment.another_assistant("assistant-b")
    deployment.llm.default_delay = 0.05
    users = [await deployment.user(f"User{i}") for i in range(4)]
    rounds = 6

    for n in range(rounds):
        for user in users:
            await deployment.send(user, f"{user.first_name} #{n}")
            await asyncio.sleep(0.01)

    async def all_answered() -> bool:
        return len(await deployment.answers()) >= rounds * len(users)

    await until(all_answered, 60, "not every message was answered")
    for user in users:  # a last one each: a duplicate of an earlier answer would come before
        await deployment.ask(user, f"{user.first_name} #{rounds}")
    rounds += 1
    answers = await deployment.answers()
    assert len(answers) == rounds * len(users)
    assert len({a.correlation_id for a in answers}) == len(answers)
    per_chat: dict[int, list[str]] = defaultdict(list)
    for answer in answers:
        per_chat[answer.chat_id].append(answer.text)
    for user in users:
        expected = [f"You said: {user.first_name} #{n}" for n in range(rounds)]
        assert per_chat[int(user.telegram_id)] == expected
    first, second = handled_by(deployment, "assistant"), handled_by(deployment, "assistant-b")
    assert first and second


def _handlings_failed(deployment: Deployment) -> int:
    """How often the assistant gave up a handling for now (the entry stays pending)."""
    logs = deployment.stack["assistant"].logs()
    return logs.count('"queue_retry_later"') + logs.count('"queue_entry_failed"')


async def _requests(deployment: Deployment, count: int) -> bool:
    return len(deployment.llm.requests) >= count


def breakers_opened(deployment: Deployment) -> int:
    return deployment.stack["assistant"].logs().count('"llm_breaker_opened"')


def retries(deployment: Deployment) -> int:
    """The pauses before asking a model again (each is logged before it is waited)."""
    return deployment.stack["assistant"].logs().count('"llm_retry"')


async def test_a_dead_default_model_is_skipped_and_the_fallback_answers_at_once(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    vic = await deployment.user("Vic")
    primary, fallback = deployment.config.primary, deployment.config.fallback
    opened_before = breakers_opened(deployment)
    deployment.llm.fail(503, model=primary, times=None)
    for n in range(2):  # 3 + 2 failed attempts open the breaker (LLM_BREAKER_FAILURES=5)
        await deployment.ask(vic, f"warming up {n}")
    deployment.llm.requests.clear()

    retried = retries(deployment)
    answers = [await deployment.ask(vic, f"is anyone there? {n}") for n in range(3)]

    assert [a.text for a in answers] == [f"You said: is anyone there? {n}" for n in range(3)]
    assert [r.model for r in deployment.llm.requests] == [fallback] * 3
    assert retries(deployment) == retried, "at once: no pause before the fallback"
    stored = await deployment.thread_messages(str(vic.id))
    assert stored[-1].model == fallback
    assert breakers_opened(deployment) - opened_before == 1


async def test_every_model_dead_gets_the_apology_without_asking_a_model(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    wes = await deployment.user("Wes")
    opened_before = breakers_opened(deployment)
    deployment.llm.fail(503, times=None)
    for n in range(2):
        await deployment.ask(wes, f"hello {n}")
    deployment.llm.requests.clear()

    retried = retries(deployment)
    answer = await deployment.ask(wes, "anyone?")

    assert answer.kind == "error" and answer.text == CATALOGUE.text("en", "apology")
    assert deployment.llm.requests == []
    assert retries(deployment) == retried, "the apology comes without a pause"
    assert breakers_opened(deployment) - opened_before == 2


async def test_the_apology_is_in_the_language_the_user_writes_not_the_apps(
    deployment: Deployment,
) -> None:
    """An English Telegram app (`language_code` en) and a user who writes Russian."""
    await deployment.assistant()
    yan = await deployment.user("Yan", language="en")
    deployment.llm.fail(503, times=None)

    russian = await deployment.ask(yan, "Привет, ты тут?")
    still = await deployment.ask(yan, "ok")  # no signal: the recent history decides
    english = await deployment.ask(yan, "are you there at all?")

    assert russian.text == CATALOGUE.text("ru", "apology")
    assert still.text == CATALOGUE.text("ru", "apology")
    assert english.text == CATALOGUE.text("en", "apology")
