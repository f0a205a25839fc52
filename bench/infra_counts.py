"""What the services asked of Postgres and Redis per message: the servers' own counters read
before and after a run (Redis `INFO commandstats`: calls and microseconds by command;
Postgres `pg_stat_database`, summed over the databases: transactions and rows), and the
difference divided by the messages answered. Run it around a benchmark on an otherwise idle
pair of servers:

    .venv/bin/python -m bench.infra_counts snapshot before.json
    ./manage.py bench -- --scenario backlog --no-startup --baseline-messages 0 ...
    .venv/bin/python -m bench.infra_counts snapshot after.json
    .venv/bin/python -m bench.infra_counts compare before.json after.json --messages 2000

Postgres and Redis as the tests find them (`TEST_DATABASE_URL`, `TEST_REDIS_URL`, or the
local servers).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import psycopg2
import redis

from ops.infra import admin_dsn, find_postgres, find_redis

PG_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)


def snapshot() -> dict[str, Any]:
    postgres, found_redis = find_postgres(), find_redis()
    assert postgres and found_redis, "no Postgres or Redis"
    client = redis.Redis.from_url(found_redis.url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    commands = {
        name.removeprefix("cmdstat_"): {"calls": v["calls"], "usec": v["usec"]}
        for name, v in stats.items()
    }
    conn = psycopg2.connect(admin_dsn(postgres.url))
    try:
        with conn.cursor() as cur:
            sums = ", ".join(f"sum({c})::bigint" for c in PG_COUNTERS)
            cur.execute(f"SELECT {sums} FROM pg_stat_database")  # the names are ours
            row = cur.fetchone()
    finally:
        conn.close()
    return {"redis": commands, "postgres": dict(zip(PG_COUNTERS, row or (), strict=True))}


def compare(before: dict[str, Any], after: dict[str, Any], messages: int) -> str:
    """Per message: Redis calls and µs by command (most calls first), Postgres counters."""
    lines = ["| Redis command | calls/msg | µs/msg in Redis |", "|---|---|---|"]
    rows = []
    for name, now in after["redis"].items():
        then = before["redis"].get(name, {"calls": 0, "usec": 0})
        calls = now["calls"] - then["calls"]
        if calls > 0:
            rows.append((name, calls / messages, (now["usec"] - then["usec"]) / messages))
    rows.sort(key=lambda r: -r[1])
    lines += [f"| {n} | {c:.2f} | {u:.1f} |" for n, c, u in rows]
    total_calls = sum(r[1] for r in rows)
    total_us = sum(r[2] for r in rows)
    lines.append(f"| **all** | {total_calls:.2f} | {total_us:.1f} |")
    lines += ["", "| Postgres counter | per message |", "|---|---|"]
    for counter in PG_COUNTERS:
        change = after["postgres"][counter] - before["postgres"][counter]
        lines.append(f"| {counter} | {change / messages:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("file", type=Path)
    diff = sub.add_parser("compare")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    diff.add_argument("--messages", type=int, required=True)
    args = parser.parse_args()
    if args.command == "snapshot":
        args.file.write_text(json.dumps(snapshot()))
        return
    read = [json.loads(p.read_text()) for p in (args.before, args.after)]
    print(compare(*read, messages=args.messages))


if __name__ == "__main__":
    main()
