"""Plain SQL on the driver for the hot routes (a turn's context, a turn's messages): no ORM
statement building, cache keys or row loading. SQLAlchemy still wraps the errors (a
disconnect invalidates the pool, a foreign key is an `IntegrityError`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

#: `UserPublic`'s fields, in its order.
USER_COLUMNS = (
    "username, first_name, language, timezone, preferred_model, id, telegram_id, blocked, "
    "voice_replies, event_alert_minutes, created_at, updated_at"
)
#: `MessagePublic`'s fields, in its order.
MESSAGE_COLUMNS = (
    "role, author, user_id, content, tool_calls, tool_call_id, name, model, tokens_in, "
    "tokens_out, latency_ms, dedup_key, experiment_variant_id, id, thread_id, conversation_key, "
    "created_at"
)


async def rows(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    result = await conn.exec_driver_sql(sql, tuple(params))
    return [dict(row) for row in result.mappings()]


async def one(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    found = await rows(conn, sql, params)
    return found[0] if found else None


def message(row: dict[str, Any]) -> dict[str, Any]:
    """A `MessagePublic` row. The dialect's codec decodes JSONB; text only without it."""
    if isinstance(row["tool_calls"], str):
        row["tool_calls"] = json.loads(row["tool_calls"])
    return row


def fields(columns: str) -> list[str]:
    """The names in a column list such as `USER_COLUMNS`."""
    return [c.strip() for c in columns.split(",")]


def prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in fields(columns))


def children_as(alias: str, columns: str, prefix: str) -> str:
    """`alias`'s columns selected as `<prefix><column>`, beside a parent's in one row."""
    return ", ".join(f"{alias}.{c} AS {prefix}{c}" for c in fields(columns))


def parent_and_children(
    found: list[dict[str, Any]], parent: list[str], child: list[str], prefix: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split the rows of a parent LEFT JOINed to its children (`children_as`): the parent's
    columns from the first row, and one dict per child row (none when the join found none:
    its `<prefix>id` is null). `found` must not be empty."""
    head = {c: found[0][c] for c in parent}
    joined = [row for row in found if row[prefix + "id"] is not None]
    children = [{c: row[prefix + c] for c in child} for row in joined]
    return head, children
