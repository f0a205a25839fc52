"""bench/infra_counts.py: what a run asked of Postgres and Redis, per message, from the
servers' own counters, and which keys the calls were for."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg2
import redis

from bench.infra_counts import compare, key_shape, monitor, monitor_table, snapshot
from ops.infra import admin_dsn
from tests.waiting import until_sync


def test_the_commands_and_transactions_between_two_snapshots_are_counted(
    database_url: str, redis_url: str
) -> None:
    before = snapshot(database_url, redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        for n in range(10):
            client.set(f"test:infra-counts:{n}", n, ex=60)
    finally:
        client.close()
    conn = psycopg2.connect(admin_dsn(database_url))
    try:
        for _ in range(4):
            with conn, conn.cursor() as cur:
                cur.execute("SELECT 1")
    finally:
        conn.close()  # its backend reports its figures as it ends

    def counted() -> dict[str, Any] | None:
        now = snapshot(database_url, redis_url)
        return (
            now if now["postgres"]["xact_commit"] - before["postgres"]["xact_commit"] >= 4 else None
        )

    after = until_sync(counted, 15, "the four transactions reported")
    # other tests may use Redis beside this one: at least what this one did
    assert after["redis"]["set"]["calls"] - before["redis"].get("set", {"calls": 0})["calls"] >= 10
    rendered = compare(before, after, messages=2)
    set_row = next(line for line in rendered.splitlines() if line.startswith("| set |"))
    assert float(set_row.split("|")[2]) >= 5.0  # 10 calls over 2 messages
    assert "| xact_commit |" in rendered and "| **all** |" in rendered
    assert snapshot()["postgres"]["xact_commit"] >= after["postgres"]["xact_commit"]  # all summed


def test_a_keys_ids_and_the_runs_prefix_are_left_out_of_its_shape() -> None:
    prefix = "bench:8e9c4796:"
    lock = f"{prefix}{{{prefix}queue:to_secretary}}:lock:chat:7000005"
    assert key_shape("GET", [lock], prefix) == "{}:lock:chat:N"
    script = ["1a1bffa6afc6fa3eaf53d7272a5c0317e3a5088d", "3", f"{prefix}queue:to_secretary"]
    assert key_shape("EVALSHA", script, prefix) == "queue:to_secretary"
    assert key_shape("TIME", []) == ""


def test_monitor_counts_the_calls_by_command_and_key_shape(redis_url: str) -> None:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    done = threading.Event()

    def busy() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            n = 0
            while not done.is_set():
                client.set(f"{prefix}chat:{n}", 1, ex=60)
                n += 1
        finally:
            client.close()

    writer = threading.Thread(target=busy)
    writer.start()
    try:
        counted = monitor(1.0, redis_url)
    finally:
        done.set()
        writer.join()
    assert counted[("client", "SET", "chat:N")] > 0
    assert "| client | SET | `chat:N` |" in monitor_table(counted, messages=1)
