"""The change history as an operator reads it: one line per change with the fields it
changed, ids of assistants, tools and providers shown by name, filters by object and admin."""

from __future__ import annotations

import json
import uuid
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from rest_service.app.admin.display_names import names_of, word_label
from rest_service.app.domain.common import paged
from rest_service.app.domain.paging import Page
from rest_service.app.models.history import ConfigChange

#: Characters of a value shown in the line; the whole is on hover and in the full diff.
SHORT = 60
#: Which kind of object an id field names.
ID_KINDS = {
    "assistant_id": "assistant",
    "sub_assistant_id": "assistant",
    "tool_id": "tool",
    "provider_id": "provider",
}
BOOKKEEPING = ("updated_at", "created_at")


class ChangedField(TypedDict):
    """One field of a change as the history page shows it."""

    field: str
    label: str
    before: str
    after: str
    before_short: str
    after_short: str
    #: Either side is cut short in the line (the whole is on hover).
    long: bool


class HistoryLine(TypedDict):
    change: ConfigChange
    title: str
    fields: list[ChangedField]


async def changes(
    session: AsyncSession,
    page: Page,
    entity: str | None,
    entity_id: uuid.UUID | None,
    actor: str | None,
) -> tuple[list[ConfigChange], int]:
    stmt = select(ConfigChange).order_by(col(ConfigChange.id).desc())
    if entity is not None:
        stmt = stmt.where(col(ConfigChange.entity) == entity)
    if entity_id is not None:
        stmt = stmt.where(col(ConfigChange.entity_id) == entity_id)
    if actor:
        stmt = stmt.where(col(ConfigChange.actor) == actor)
    return await paged(session, stmt, page)


async def actors(session: AsyncSession) -> list[str]:
    found = await session.scalars(
        select(col(ConfigChange.actor)).distinct().order_by(col(ConfigChange.actor))
    )
    return list(found.all())


def _text(value: object) -> str:
    if value is None:
        return "∅"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


async def lines(session: AsyncSession, rows: list[ConfigChange]) -> list[HistoryLine]:
    """Each change with its changed fields: label, before and after (ids as names), short
    and whole."""
    ids: dict[str, set[uuid.UUID]] = {}
    for row in rows:
        for state in (row.before or {}, row.after or {}):
            for field, kind in ID_KINDS.items():
                found = _as_uuid(state.get(field))
                if found is not None:
                    ids.setdefault(kind, set()).add(found)
    names: dict[uuid.UUID, str] = {}
    for kind, wanted in ids.items():
        names |= await names_of(session, kind, wanted)
    return [_line(row, names) for row in rows]


CONFIG_ACTIONS = ("created", "updated", "deleted")


def _action_line(row: ConfigChange) -> HistoryLine:
    """An action that is not a config change (a dead letter replayed or purged): what it did,
    and the error the dead letter had."""
    before, after = row.before or {}, row.after or {}
    shown = {**after, **({"error": before["error"]} if before.get("error") else {})}
    fields = [_changed(key, "", _text(value)) for key, value in shown.items()]
    title = before.get("id") or f"{len(before.get('entries', []))} entries"
    return {"change": row, "title": title, "fields": fields}


def _line(row: ConfigChange, names: dict[uuid.UUID, str]) -> HistoryLine:
    if row.action not in CONFIG_ACTIONS:
        return _action_line(row)
    before, after = row.before or {}, row.after or {}
    fields: list[ChangedField] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key in BOOKKEEPING or (row.before and row.after and old == new):
            continue
        if not (row.before and row.after) and (
            key == "id" or (old in (None, "") and new in (None, ""))
        ):
            continue  # a created or deleted object: its own id and empty fields say nothing
        old_text, new_text = _display_value(key, old, names), _display_value(key, new, names)
        fields.append(_changed(key, old_text, new_text))
    state = after or before
    title = state.get("name") or state.get("provider_model_name") or str(row.entity_id)
    if row.entity == "link":  # a link is its pair
        pair = (_display_value(k, state.get(k), names) for k in ("assistant_id", "tool_id"))
        title = " → ".join(pair)
    return {"change": row, "title": title, "fields": fields}


def _changed(key: str, before: str, after: str) -> ChangedField:
    return {
        "field": key,
        "label": word_label(key),
        "before": before,
        "after": after,
        "before_short": _short(before),
        "after_short": _short(after),
        "long": len(before) > SHORT or len(after) > SHORT,
    }


def _display_value(key: str, value: object, names: dict[uuid.UUID, str]) -> str:
    if key in ID_KINDS:
        found = _as_uuid(value)
        if found is not None and found in names:
            return names[found]
    return _text(value)


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
