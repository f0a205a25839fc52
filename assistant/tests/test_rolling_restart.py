"""A rolling restart of the assistant: a replica stopped mid-turn hands the turn back, another
takes it at once (not after the claim delay), and a model step that was answered is not asked
again."""

from __future__ import annotations

import asyncio

from assistant.tests.support import SHARED, Deployment
from sandbox.llm_server import Step, ToolCallStep
from tests.waiting import until

#: No replica claims another's entry within the test: only a hand-back can move it.
NO_CLAIM = "600000"


async def test_a_turn_cut_by_sigterm_is_finished_by_another_replica_without_asking_again(
    deployment: Deployment,
) -> None:
    shared = deployment.stack.processes.get(SHARED)
    if shared is not None and shared.running:
        await asyncio.to_thread(shared.stop)
    leaving = await deployment.another_assistant(
        "assistant-leaving", SHUTDOWN_GRACE_SECONDS="0.5", QUEUE_CLAIM_IDLE_MS=NO_CLAIM
    )
    ida = await deployment.user("Ida")
    deployment.llm.script(
        Step(tool_calls=[ToolCallStep("time", {"action": "now"})]),
        Step(text="cut by the restart", delay=30.0),
        Step(text="It is time."),
    )
    message = await deployment.send(ida, "what time is it?")
    await until(lambda: _asked(deployment, 2), 20, "the second step was not asked")
    await deployment.another_assistant("assistant-staying", QUEUE_CLAIM_IDLE_MS=NO_CLAIM)

    assert await asyncio.to_thread(leaving.stop) == 0
    answer = await deployment.answer_to(message, timeout=5)

    assert answer.text == "It is time."  # no claim can move it in the test: handed back
    requests = deployment.llm.requests
    first_steps = [r for r in requests if r.last("tool") is None]
    assert len(first_steps) == 1, "the answered first step was asked again"
    assert len(requests) == 3  # the step cut short is the only one asked twice
    assert '"queue_handed_back"' in leaving.logs()
    assert '"llm_completion_reused"' in deployment.stack["assistant-staying"].logs()
    later = await deployment.ask(ida, "and now?")  # a second answer would have come before
    assert [a.correlation_id for a in await deployment.answers()] == [
        answer.correlation_id,
        later.correlation_id,
    ]


async def _asked(deployment: Deployment, count: int) -> bool:
    return len(deployment.llm.requests) >= count
