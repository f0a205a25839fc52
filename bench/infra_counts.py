"""What the services asked of Postgres and Redis per message: the servers' own counters read
before and after a run (Redis `INFO commandstats`: calls and microseconds by command;
Postgres `pg_stat_database` for the run's database: transactions and rows; Postgres reports
a backend's figures within a second of its work, so the last second of a run may be left
out), and the difference divided by the messages answered. The pipeline records them for
every scenario (`infra_counts` in a result's extras). By hand, around a run on an otherwise
idle Redis (the bench drops its database at the end, so by hand only Redis is counted):

    .venv/bin/python -m bench.infra_counts snapshot before.json
    ./manage.py bench -- --scenario backlog --no-startup --baseline-messages 0 ...
    .venv/bin/python -m bench.infra_counts snapshot after.json
    .venv/bin/python -m bench.infra_counts compare before.json after.json --messages 2000

`monitor` says which keys the calls are for: Redis's MONITOR for some seconds of a paced
run, each call grouped by command and by the shape of its key (ids and the key prefix left
out), calls made by a Lua script apart:

    .venv/bin/python -m bench.infra_counts monitor --seconds 10 --messages-per-second 20

Postgres and Redis as the tests find them (`TEST_DATABASE_URL`, `TEST_REDIS_URL`, or the
local servers).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
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


def snapshot(database_url: str | None = None, redis_url: str | None = None) -> dict[str, Any]:
    """The counters now: Redis's, and Postgres's for `database_url`'s database (with None,
    every database's of the server the tests find, summed)."""
    if redis_url is None:
        found_redis = find_redis()
        assert found_redis, "no Redis"
        redis_url = found_redis.url
    server_url = database_url
    if server_url is None:
        postgres = find_postgres()
        assert postgres, "no Postgres"
        server_url = postgres.url
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    commands = {
        name.removeprefix("cmdstat_"): {"calls": v["calls"], "usec": v["usec"]}
        for name, v in stats.items()
    }
    counters = _postgres_counters(server_url, only_its_database=database_url is not None)
    return {"redis": commands, "postgres": counters}


def _postgres_counters(database_url: str, *, only_its_database: bool) -> dict[str, int]:
    sums = ", ".join(f"sum({c})::bigint" for c in PG_COUNTERS)
    where = " WHERE datname = current_database()" if only_its_database else ""
    conn = psycopg2.connect(admin_dsn(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT {sums} FROM pg_stat_database{where}")  # the names are ours
            row = cur.fetchone()
    finally:
        conn.close()
    return dict(zip(PG_COUNTERS, row or (), strict=True))


def per_message(before: dict[str, Any], after: dict[str, Any], messages: int) -> dict[str, Any]:
    """The difference per message: Redis calls and µs by command, their totals, and the
    Postgres counters."""
    redis_rows = {}
    for name, now in after["redis"].items():
        then = before["redis"].get(name, {"calls": 0, "usec": 0})
        calls = now["calls"] - then["calls"]
        if calls > 0:
            redis_rows[name] = {
                "calls": round(calls / messages, 2),
                "usec": round((now["usec"] - then["usec"]) / messages, 1),
            }
    return {
        "redis": dict(sorted(redis_rows.items(), key=lambda kv: -kv[1]["calls"])),
        "redis_calls": round(sum(r["calls"] for r in redis_rows.values()), 2),
        "redis_usec": round(sum(r["usec"] for r in redis_rows.values()), 1),
        "postgres": {
            c: round((after["postgres"][c] - before["postgres"][c]) / messages, 2)
            for c in PG_COUNTERS
        },
    }


def compare(before: dict[str, Any], after: dict[str, Any], messages: int) -> str:
    """Per message: Redis calls and µs by command (most calls first), Postgres counters."""
    counted = per_message(before, after, messages)
    lines = ["| Redis command | calls/msg | µs/msg in Redis |", "|---|---|---|"]
    lines += [f"| {n} | {r['calls']:.2f} | {r['usec']:.1f} |" for n, r in counted["redis"].items()]
    lines.append(f"| **all** | {counted['redis_calls']:.2f} | {counted['redis_usec']:.1f} |")
    lines += ["", "| Postgres counter | per message |", "|---|---|"]
    lines += [f"| {c} | {v:.2f} |" for c, v in counted["postgres"].items()]
    return "\n".join(lines)


_ID = re.compile(r"\d+|[0-9a-f]{16,}")


def key_shape(command: str, args: list[str], prefix: str = "") -> str:
    """A call's key with its ids as N and the run's key prefix left out; for a script
    (EVALSHA/EVAL) its first key."""
    keys = args[2:3] if command in ("EVALSHA", "EVAL") else args[:1]
    key = keys[0] if keys else ""
    if prefix:
        key = key.replace(prefix, "")
    return _ID.sub("N", re.sub(r"\{[^}]*\}", "{}", key))


def monitor(seconds: float, redis_url: str | None = None) -> Counter[tuple[str, str, str]]:
    """Calls seen by MONITOR for `seconds`: (who: client or lua, command, key shape) -> n."""
    if redis_url is None:
        found = find_redis()
        assert found, "no Redis"
        redis_url = found.url
    client = redis.Redis.from_url(redis_url)
    counted: Counter[tuple[str, str, str]] = Counter()
    prefix = re.compile(r"^[\w-]+:[0-9a-f]{6,}:")
    try:
        with client.monitor() as watching:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                seen = watching.next_command()
                words = seen["command"].split()
                if not words:
                    continue
                who = "lua" if seen["client_type"] == "lua" else "client"
                found_prefix = next((m.group(0) for w in words[1:4] if (m := prefix.match(w))), "")
                shape = key_shape(words[0].upper(), words[1:], found_prefix)
                counted[(who, words[0].upper(), shape)] += 1
    finally:
        client.close()
    return counted


def monitor_table(counted: Counter[tuple[str, str, str]], messages: float) -> str:
    lines = ["| calls/msg | from | command | key |", "|---|---|---|---|"]
    for (who, command, shape), n in counted.most_common():
        lines.append(f"| {n / messages:.2f} | {who} | {command} | `{shape}` |")
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
    watch = sub.add_parser("monitor")
    watch.add_argument("--seconds", type=float, default=10.0)
    watch.add_argument("--messages-per-second", type=float, required=True)
    args = parser.parse_args()
    if args.command == "monitor":
        counted = monitor(args.seconds)
        print(monitor_table(counted, args.seconds * args.messages_per_second))
        return
    if args.command == "snapshot":
        args.file.write_text(json.dumps(snapshot()))
        return
    read = [json.loads(p.read_text()) for p in (args.before, args.after)]
    print(compare(*read, messages=args.messages))


if __name__ == "__main__":
    main()
