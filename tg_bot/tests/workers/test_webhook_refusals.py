"""Refused webhook requests (no secret or a wrong one) write at most one line a minute,
counting those refused since the previous line: a flood of forged requests is answered 401
each and writes one line, not a flood."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox import telegram_updates as build
from sandbox.telegram_webhook import SECRET_HEADER
from tg_bot.src.workers.webhook import REFUSAL_LOG_INTERVAL_S, RefusalLog
from tg_bot.tests.conftest import incoming
from tg_bot.tests.workers.test_webhook import someone, webhook_set

FLOOD = 300


def refusal_lines(stderr: str) -> list[dict]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == "webhook_secret_refused"]


async def test_a_flood_of_forged_requests_writes_one_line(
    run_bot, telegram, redis, names, webhook_url, capsys: pytest.CaptureFixture[str]
) -> None:
    body = build.private_text(someone(), "let me in")
    async with run_bot(TELEGRAM_WEBHOOK_URL=webhook_url, LOG_FORMAT="json"):
        await webhook_set(telegram)
        async with httpx.AsyncClient() as http:
            answers = [
                await http.post(webhook_url, json=body, headers={SECRET_HEADER: f"x{i}"})
                for i in range(FLOOD)
            ]
    assert {answer.status_code for answer in answers} == {401}
    [line] = refusal_lines(capsys.readouterr().err)
    assert line["refused"] == 1 and line["present"] is True and line["peer"] == "127.0.0.1"
    assert await incoming(redis, names) == []


def test_the_next_line_a_minute_later_counts_every_refusal_since() -> None:
    now = [1000.0]
    refusals = RefusalLog(clock=lambda: now[0])
    logged = []
    for step in range(FLOOD):  # one refusal every half second for two and a half minutes
        now[0] += REFUSAL_LOG_INTERVAL_S * 2.5 / FLOOD
        logged.append(refusals.refused(present=step % 2 == 0, peer="203.0.113.7"))
    assert [count for count in logged if count] == [1, 120, 120]
