"""Context build against 1 000 000 stored messages: the assistant's one request for a turn's
context (thread, profile, recent window, long-term memory hits) and its windowing, timed
against a bench database that `generate_series` fills in seconds and that is dropped after.

Two conversations are measured: a typical one (about 100 messages among 9 000 others) and
the largest (100 000 messages of its own), each with long-term memory search on.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from assistant.src.assistants import memory
from bench.environment import BenchEnvironment
from common.infrastructure.rest_client import RestClient
from ops.infra import admin_dsn
from ops.processes import Stack
from ops.services import ROOT

ROWS = 1_000_000
BIG = 100_000  # messages of the largest conversation
CONVERSATIONS = 9_000  # the other conversations share the rest

#: Each message is a topic, a day and its number: a word of a query matches one message in
#: 40 or in 7, not all of them, as in a real conversation.
_TOPICS = [
    "weather",
    "meetings",
    "travel",
    "dinner",
    "birthday",
    "project",
    "doctor",
    "flight",
    "dentist",
    "gym",
    "invoice",
    "taxes",
    "school",
    "garden",
    "concert",
    "movie",
    "recipe",
    "insurance",
    "passport",
    "visa",
    "hotel",
    "train",
    "car",
    "repair",
    "plumber",
    "salary",
    "budget",
    "lunch",
    "coffee",
    "interview",
    "presentation",
    "report",
    "deadline",
    "holiday",
    "vacation",
    "wedding",
    "anniversary",
    "gift",
    "shopping",
    "groceries",
    "laundry",
]
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _words(words: list[str]) -> str:
    return ",".join(f"'{w}'" for w in words)


_FILL = f"""
INSERT INTO user_assistant_threads (id, user_id, assistant_id, thread_id)
SELECT gen_random_uuid(), 'conv_' || c, (SELECT id FROM assistants WHERE is_secretary),
       'thread_bench_' || c
FROM generate_series(0, {CONVERSATIONS}) AS c;

INSERT INTO chat_messages (created_at, role, content, thread_id, conversation_key)
SELECT now() - ({ROWS} - g) * interval '1 second',
       CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
       (ARRAY[{_words(_TOPICS)}])[1 + g % {len(_TOPICS)}] || ' '
         || (ARRAY[{_words(_DAYS)}])[1 + (g / {len(_TOPICS)}) % {len(_DAYS)}] || ' ' || g,
       'thread_bench_' || c, 'conv_' || c
FROM (SELECT g, CASE WHEN g <= {BIG} THEN 0 ELSE 1 + g % {CONVERSATIONS} END AS c
      FROM generate_series(1, {ROWS}) AS g) AS rows;
ANALYZE;
"""


def _fill(database_url: str) -> float:
    started = time.perf_counter()
    conn = psycopg2.connect(admin_dsn(database_url))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(_FILL)
        cur.execute("SELECT count(*) FROM chat_messages")
        (count,) = cur.fetchone()
    conn.close()
    assert count == ROWS, count
    return time.perf_counter() - started


def _prepare(url: str, env: dict[str, str]) -> float:
    """Seed (the secretary) and fill; the seconds the fill took."""
    subprocess.run(
        [sys.executable, "-m", "rest_service.seed"],
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return _fill(url)


async def _time_context(
    rest: RestClient, secretary: str, conversation: str, rounds: int
) -> dict[str, float]:
    """Milliseconds for the request plus the assistant's own windowing, per round."""
    timings: list[float] = []
    for i in range(rounds):
        started = time.perf_counter()
        start = await rest.turn_context(
            conversation,
            secretary,
            limit=20,
            max_chars=8000,
            memory_query=f"what about the {_TOPICS[i % len(_TOPICS)]} on {_DAYS[i % 7]}",
            memory_limit=5,
        )
        window = memory.window(start.recent, 20, 8000)
        [memory.to_openai(m, group=False) for m in window]
        memory.memory_message(start.memory, 2000, group=False)
        timings.append(1000 * (time.perf_counter() - started))
    timings.sort()
    return {
        "p50": round(timings[len(timings) // 2], 2),
        "p95": round(timings[int(len(timings) * 0.95)], 2),
        "max": round(timings[-1], 2),
    }


async def measure(rounds: int = 200) -> dict[str, object]:
    bench = await asyncio.to_thread(BenchEnvironment.open, "ctx")
    url, env = bench.database_url, bench.env
    try:
        fill_s = await asyncio.to_thread(_prepare, url, env)
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(env, Path(tmp))
            try:
                await asyncio.to_thread(stack.start, "rest_service")
                rest = RestClient(stack.url("rest_service"), env["SERVICE_API_TOKEN"])
                secretary = (await rest.get_config()).secretary
                assert secretary is not None
                own = str(secretary.id)
                await _time_context(rest, own, "conv_1", 20)  # warm the caches
                typical = await _time_context(rest, own, "conv_1", rounds)
                largest = await _time_context(rest, own, "conv_0", max(5, rounds // 10))
                await rest.aclose()
            finally:
                await asyncio.to_thread(stack.stop_all)
    finally:
        await asyncio.to_thread(bench.close)
    return {
        "rows": ROWS,
        "fill_seconds": round(fill_s, 1),
        "typical_conversation_ms": typical,
        "largest_conversation_ms": largest,
    }


if __name__ == "__main__":
    print(asyncio.run(measure()))
