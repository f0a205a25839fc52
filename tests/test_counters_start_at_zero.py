"""Labelled counters whose labels are a known, finite set export a series at 0 for each from
the start, so `increase()` (and the alerts on it) sees the first event after a restart: read
from the /metrics text of a fresh interpreter that only imports the services' modules (and
builds one queue consumer, whose stream's series start when it is made)."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import pytest

from common.infrastructure.channels import Channel
from common.infrastructure.wire import CronJobType, RunOutcome
from ops.services import ROOT

pytestmark = pytest.mark.policy

FRESH = """
import redis.asyncio as aioredis
from prometheus_client import REGISTRY, generate_latest
import assistant.src.orchestrator, cron_service.app.metrics, tg_bot.src.metrics
from common.infrastructure.queue import StreamConsumer
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names

async def handler(message): ...

StreamConsumer(aioredis.Redis(), Names(""), "queue:fresh", "g", OutgoingMessage, handler)
print(generate_latest(REGISTRY).decode())
"""


@cache
def fresh_metrics() -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", FRESH], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return {line for line in done.stdout.splitlines() if not line.startswith("#")}


def at_zero(name: str, **labels: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}} 0.0"


@pytest.mark.parametrize(
    "reason", ["llm_unavailable", "refused", "dead_letter", "unanswerable", "not_configured"]
)
def test_every_turn_failure_reason_starts_at_zero(reason: str) -> None:
    assert at_zero("smart_assistant_assistant_turn_failures_total", reason=reason) in (
        fresh_metrics()
    )


def test_every_reminder_type_and_outcome_starts_at_zero() -> None:
    for kind in CronJobType:
        assert at_zero("smart_assistant_cron_misses_total", type=kind.value) in fresh_metrics()
        for outcome in RunOutcome:
            line = at_zero("smart_assistant_cron_fires_total", type=kind.value, outcome=outcome)
            assert line in fresh_metrics()
    for result in ("ok", "targeted", "failed"):
        assert at_zero("smart_assistant_cron_syncs_total", result=result) in fresh_metrics()
    for result in ("ok", "failed"):
        assert at_zero("smart_assistant_cron_fire_records_total", result=result) in (
            fresh_metrics()
        )


def test_telegram_send_errors_and_limit_refusals_start_at_zero() -> None:
    for kind in ("forbidden", "parse", "retry_after", "unavailable"):
        assert at_zero("smart_assistant_tg_send_errors_total", kind=kind) in fresh_metrics()
    for limit in ("messages_per_minute", "daily_tokens", "tool_calls_per_turn"):
        assert at_zero("smart_assistant_limit_refusals_total", limit=limit) in fresh_metrics()


def test_a_consumer_s_stream_starts_at_zero_for_every_outcome_and_failure() -> None:
    for outcome in ("handled", "duplicate", "dead"):
        line = at_zero("smart_assistant_queue_entries_total", stream="queue:fresh", outcome=outcome)
        assert line in fresh_metrics()
    for where in ("read", "claim", "drive", "entry", "on_dead", "on_duplicate"):
        line = at_zero("smart_assistant_queue_failures_total", stream="queue:fresh", where=where)
        assert line in fresh_metrics()


def test_the_answer_time_of_every_channel_and_a_stream_s_wait_start_at_zero() -> None:
    for channel in Channel:
        for name in ("answer_seconds", "answer_without_model_seconds"):
            line = at_zero(f"smart_assistant_{name}_count", channel=channel.value)
            assert line in fresh_metrics()
    assert at_zero("smart_assistant_queue_wait_seconds_count", stream="queue:fresh") in (
        fresh_metrics()
    )
