"""A rest_service a fixture keeps beyond one file runs none of its background loops
(tests/shared_services.py): the guard names one that does, and the calendar stack's shared
rest_service, kept for the session on the session's database, runs no delivery worker."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names
from ops.processes import ServiceProcess, Stack
from tests.harness import REST_LOOPS_OFF
from tests.shared_services import loops_left_on


def process(service: str, env: dict[str, str], name: str | None = None) -> ServiceProcess:
    """A process as a `Stack` records it, never started."""
    return ServiceProcess(name or service, service, 1, env, Path("/nonexistent.log"))


def test_a_rest_service_with_a_loop_on_is_named_with_the_settings_that_leave_it_on() -> None:
    env = {**REST_LOOPS_OFF, "WEBHOOK_DELIVERY_ENABLED": "true"}
    env.pop("HANDOFF_SWEEP_SECONDS")
    assert loops_left_on(process("rest_service", env, "shared")) == [
        "shared (WEBHOOK_DELIVERY_ENABLED=true, HANDOFF_SWEEP_SECONDS=)"
    ]


def test_a_stack_or_an_object_with_one_is_searched_and_only_rest_service_counts() -> None:
    stack = Stack({}, Path("/nonexistent"))
    stack.processes = {
        "rest_service": process("rest_service", {}),
        "quiet": process("rest_service", dict(REST_LOOPS_OFF), "quiet"),
        "assistant": process("assistant", {}),
    }
    on = loops_left_on(stack)
    assert [found.split(" ")[0] for found in on] == ["rest_service"]
    assert loops_left_on(SimpleNamespace(stack=stack)) == on
    assert loops_left_on(process("rest_service", dict(REST_LOOPS_OFF))) == []
    assert loops_left_on("a value of another kind") == []


async def test_the_calendar_stacks_rest_service_hears_no_webhook_nudge(
    rest_process: ServiceProcess, shared_prefix: str, redis: aioredis.Redis
) -> None:
    """Its delivery worker would claim the deliveries other files commit to the session's
    database, and refuse their private receivers (the racing webhook workers' test)."""
    assert await redis.publish(Names(shared_prefix).webhooks_pending, b"nudge") == 0
