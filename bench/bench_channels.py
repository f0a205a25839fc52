"""Channels mixed in one run: Telegram users through the Telegram stand-in and tg_bot; web
chat visitors, WhatsApp users and Slack users through the channels service (WhatsApp's and
Slack's stand-ins deliver signed webhooks as the platforms do); all answered by the same
assistant at once.

Run with `.venv/bin/python -m bench.bench_channels [--messages N] [--users N]`. A quarter of
the messages is each channel's, sent as a backlog at once; it prints one JSON line with each
channel's answered count and latency (message in → answer in the channel: the Telegram,
WhatsApp and Slack stand-ins stamp what they accept, the web chat's answer event carries the
millisecond it was written) and the throughput of the whole, and writes
`bench/results/channels-<time>.json`. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from bench.pipeline import RESULTS, Pipeline, Scenario, _percentiles, machine
from common.infrastructure.redis_keys import Names
from sandbox import slack_events
from sandbox import whatsapp_api as wa
from sandbox.slack_api import SlackStandIn
from sandbox.whatsapp_api import WhatsAppStandIn

WEB_CHAT_SECRET = uuid.uuid4().hex


async def _visitor(client: httpx.AsyncClient) -> str:
    """A new visitor (their page opened): their cookie's visitor id."""
    page = await client.get("/chat")
    page.raise_for_status()
    return str(page.cookies["sa_chat"]).rsplit(".", 2)[0]


async def run(messages: int, users: int) -> dict[str, object]:
    per_channel_users = max(1, users // 4)
    scenario = Scenario("mixed", messages // 4, per_channel_users, "hello there")
    whatsapp, slack = WhatsAppStandIn(), SlackStandIn(signing_secret=uuid.uuid4().hex)
    await whatsapp.start()
    await slack.start()
    settings = {"WEB_CHAT_SECRET": WEB_CHAT_SECRET, **whatsapp.settings(), **slack.settings()}
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = Pipeline(Path(tmp), extra_env=settings)
        await pipeline.start(scenario)
        try:
            return await _mixed(pipeline, whatsapp, slack, messages, per_channel_users)
        finally:
            await pipeline.stop()
            await whatsapp.stop()
            await slack.stop()


async def _mixed(
    pipeline: Pipeline,
    whatsapp: WhatsAppStandIn,
    slack: SlackStandIn,
    messages: int,
    users: int,
) -> dict[str, object]:
    assert pipeline.stack is not None
    channels_url = pipeline.stack.url("channels")
    whatsapp.webhook_url = f"{channels_url}/whatsapp/webhook"
    names = Names(pipeline.env["REDIS_KEY_PREFIX"])
    redis = aioredis.Redis.from_url(pipeline.env["REDIS_URL"])
    telegram_users = [8_000_000 + i for i in range(users)]
    wa_ids = [f"49151{7_000_000 + i}" for i in range(users)]
    slack_people = [(f"U0BENCH{i:04d}", f"D0BENCH{i:04d}") for i in range(users)]
    injected: dict[int, list[float]] = {u: [] for u in telegram_users}
    delivered: dict[str, list[float]] = {}
    clients = [httpx.AsyncClient(base_url=channels_url, timeout=30) for _ in range(users)]
    per_channel = messages // 4
    try:
        visitors = await asyncio.gather(*(_visitor(c) for c in clients))
        posted: dict[str, list[float]] = {v: [] for v in visitors}
        pipeline.telegram.sent.clear()
        started = time.monotonic()

        async def post(i: int) -> None:
            client, visitor = clients[i % users], visitors[i % users]
            posted[visitor].append(time.time())
            body = {"text": f"hello there [{i}]", "id": uuid.uuid4().hex}
            (await client.post("/chat/messages", json=body)).raise_for_status()

        async def on_whatsapp(i: int) -> None:
            wa_id = wa_ids[i % users]
            delivered.setdefault(wa_id, []).append(time.monotonic())
            message = whatsapp.message(wa_id, "Bench", wa.text(f"hello there [{i}]"))
            await whatsapp.deliver(message)

        async def on_slack(i: int) -> None:
            user, dm = slack_people[i % users]
            delivered.setdefault(dm, []).append(time.monotonic())
            event = slack_events.direct_message(user, dm, f"hello there [{i}]")
            await slack.deliver_event(f"{channels_url}/slack/events", slack_events.envelope(event))

        for i in range(per_channel):
            pipeline._inject(telegram_users[i % users], f"hello there [{i}]", injected)
        # Each person's messages in order, the people at once (a platform delivers one
        # conversation's webhooks one after another).
        await asyncio.gather(
            *(post(i) for i in range(per_channel)),
            *(_in_order(on_whatsapp, person, per_channel, users) for person in range(users)),
            *(_in_order(on_slack, person, per_channel, users) for person in range(users)),
        )
        timeout = max(120.0, messages / 5)
        web_latencies = await _web_answers(redis, names, posted, per_channel)
        await pipeline.telegram.wait_sent(per_channel, timeout=timeout)
        whatsapp_answers = await _answers(
            lambda: {w: [m.at for m in whatsapp.sent_to(w) if m.text] for w in wa_ids},
            per_channel,
            timeout,
        )
        slack_answers = await _answers(
            lambda: {dm: [p.at for p in slack.posted_to(dm)] for _, dm in slack_people},
            per_channel,
            timeout,
        )
        seconds = time.monotonic() - started
        telegram_latencies = pipeline._latencies(injected)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
        await redis.aclose()
    whatsapp_latencies = _paired(delivered, whatsapp_answers)
    slack_latencies = _paired(delivered, slack_answers)
    return {
        "messages": messages,
        "users": users * 4,
        "seconds": round(seconds, 2),
        "throughput": round(messages / seconds, 1),
        "telegram": {"answered": len(pipeline.telegram.sent), **_percentiles(telegram_latencies)},
        "web": {"answered": len(web_latencies), **_percentiles(web_latencies)},
        "whatsapp": {"answered": len(whatsapp_latencies), **_percentiles(whatsapp_latencies)},
        "slack": {"answered": len(slack_latencies), **_percentiles(slack_latencies)},
    }


async def _in_order(
    send: Callable[[int], Awaitable[None]], person: int, total: int, people: int
) -> None:
    for i in range(person, total, people):
        await send(i)


async def _answers(
    shown: Callable[[], dict[str, list[float]]], wanted: int, timeout: float
) -> dict[str, list[float]]:
    """Each conversation's answer times, once `wanted` answers have come (or at the
    deadline, with what came)."""
    deadline = time.monotonic() + timeout
    while True:
        answers = shown()
        if sum(map(len, answers.values())) >= wanted or time.monotonic() > deadline:
            return answers
        await asyncio.sleep(0.2)


def _paired(sent: dict[str, list[float]], answered: dict[str, list[float]]) -> list[float]:
    """ms from each message to its answer, paired in order within each conversation."""
    latencies: list[float] = []
    for conversation, times in answered.items():
        pairs = zip(sent.get(conversation, []), times, strict=False)
        latencies += [1000 * (answer - message) for message, answer in pairs]
    return latencies


async def _web_answers(
    redis: aioredis.Redis, names: Names, posted: dict[str, list[float]], wanted: int
) -> list[float]:
    """Each visitor's answers, in order, paired with their messages: ms from the POST to the
    answer event's own time (its stream id)."""
    deadline = time.monotonic() + max(120.0, wanted / 5)
    while True:
        latencies: list[float] = []
        for visitor, times in posted.items():
            entries = await redis.xrange(names.web_chat(visitor))
            answered = [
                int(e[0].decode().split("-")[0]) for e in entries if e[1][b"kind"] == b"answer"
            ]
            latencies += [ms - 1000 * t for t, ms in zip(times, answered, strict=False)]
        if len(latencies) >= wanted or time.monotonic() > deadline:
            return latencies
        await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args(argv)
    started = machine()
    result = asyncio.run(run(args.messages, args.users))
    print(json.dumps(result), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M")
    out = RESULTS / f"channels-{stamp}.json"
    out.write_text(json.dumps({"machine": started, "result": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
