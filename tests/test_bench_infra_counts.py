"""bench/infra_counts.py: what a run asked of Postgres and Redis, per message, from the
servers' own counters."""

from __future__ import annotations

import psycopg2
import redis

from bench.infra_counts import compare, snapshot
from ops.infra import admin_dsn


def test_the_commands_and_transactions_between_two_snapshots_are_counted(
    database_url: str, redis_url: str
) -> None:
    before = snapshot()
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
        conn.close()
    after = snapshot()
    # other tests may run beside this one: at least what this one did
    assert after["redis"]["set"]["calls"] - before["redis"].get("set", {"calls": 0})["calls"] >= 10
    assert after["postgres"]["xact_commit"] - before["postgres"]["xact_commit"] >= 4
    rendered = compare(before, after, messages=2)
    set_row = next(line for line in rendered.splitlines() if line.startswith("| set |"))
    assert float(set_row.split("|")[2]) >= 5.0  # 10 calls over 2 messages
    assert "| xact_commit |" in rendered and "| **all** |" in rendered
