"""tg_bot on a Redis Cluster stops on SIGTERM (the stop event) without an error line: every
task it runs (receiving, the album flusher, the users channel) ends cleanly."""

from __future__ import annotations

import json

import pytest

from tests.waiting import until
from tg_bot.tests.conftest import RunBot


def polled(telegram):
    async def check() -> bool:  # asked (a poll is recorded only once it ends)
        return telegram.calls.get("getUpdates", 0) > 0

    return check


async def test_a_stop_on_a_cluster_logs_no_error(
    run_bot: RunBot, telegram, redis_cluster_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with run_bot(REDIS_URL=redis_cluster_url, REDIS_CLUSTER="true", LOG_FORMAT="json"):
        await until(polled(telegram), timeout=20)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line[:1] == "{"]
    assert [line["event"] for line in lines if line["event"] == "service_stopped"]
    errors = [line for line in lines if line["level"] in ("error", "critical")]
    assert errors == []
