"""The change history of assistants, tools, links, providers and models.

Every flush notes what it writes to the tracked tables (a `before_flush` listener, so writes
flushed early, as the import does, count too); `config_changed`, the one step every config
write ends with, takes those notes and stores them in the same transaction. So the API, the
web admin, the import and the seed are all recorded the same way: who, when, the version the
change made, and each row before and after. Secrets are never
copied into the history (a provider's key shows as its mask)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from common.infrastructure.errors import ValidationFailedError, not_found
from rest_service.app.domain.common import paged
from rest_service.app.domain.paging import Page
from rest_service.app.models.assistant import Assistant, AssistantToolLink, Tool
from rest_service.app.models.experiment import Experiment
from rest_service.app.models.history import ConfigChange, RowState
from rest_service.app.models.llm import LLMModel, LLMProvider

#: Table model → the name the history uses.
TRACKED: dict[type[SQLModel], str] = {
    Assistant: "assistant",
    Tool: "tool",
    AssistantToolLink: "link",
    LLMProvider: "provider",
    LLMModel: "model",
    Experiment: "experiment",
}
ENTITIES: dict[str, type[SQLModel]] = {name: model for model, name in TRACKED.items()}
#: Never copied into the history.
SECRET_COLUMNS = frozenset({"api_key_encrypted"})
#: Bookkeeping that is not a change of its own.
IGNORED_COLUMNS = frozenset({"updated_at"})


#: Where a session keeps the changes it flushed until `config_changed` records them.
PENDING_KEY = "config_changes_pending"


@dataclass(frozen=True)
class PendingChange:
    entity: str
    entity_id: uuid.UUID
    action: str
    before: RowState | None
    after: RowState | None


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    found = pending_changes(session)
    if found:
        session.info.setdefault(PENDING_KEY, []).extend(found)


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, _previous: Any) -> None:
    session.info.pop(PENDING_KEY, None)


def take_pending(session: AsyncSession) -> list[PendingChange]:
    """The changes flushed since the last take (call after the final flush)."""
    return list(session.info.pop(PENDING_KEY, []))


def pending_changes(session: Session | AsyncSession) -> list[PendingChange]:
    """What the session is about to write to tracked tables (before a flush)."""
    changes: list[PendingChange] = []
    for obj in list(session.new):
        if type(obj) in TRACKED:
            changes.append(_change(obj, "created", None, _state(obj)))
    for obj in list(session.dirty):
        if type(obj) in TRACKED and session.is_modified(obj):
            before, after = _state_before(obj), _state(obj)
            if _differs(before, after):
                changes.append(_change(obj, "updated", before, after))
    for obj in list(session.deleted):
        if type(obj) in TRACKED:
            changes.append(_change(obj, "deleted", _state_before(obj), None))
    return changes


def record(session: AsyncSession, changes: list[PendingChange], actor: str, version: int) -> None:
    for change in changes:
        session.add(
            ConfigChange(
                entity=change.entity,
                entity_id=change.entity_id,
                action=change.action,
                actor=actor[:255],
                version=version,
                before=change.before,
                after=change.after,
            )
        )


async def list_changes(
    session: AsyncSession, page: Page, entity: str | None = None, entity_id: uuid.UUID | None = None
) -> tuple[list[ConfigChange], int]:
    stmt = select(ConfigChange).order_by(col(ConfigChange.id).desc())
    if entity is not None:
        stmt = stmt.where(col(ConfigChange.entity) == entity)
    if entity_id is not None:
        stmt = stmt.where(col(ConfigChange.entity_id) == entity_id)
    return await paged(session, stmt, page)


async def get_change(session: AsyncSession, change_id: int) -> ConfigChange:
    change = await session.get(ConfigChange, change_id)
    if change is None:
        raise not_found("change", change_id)
    return change


def restorable_state(change: ConfigChange) -> RowState:
    """The row as it was right after this change (or, for a deletion, right before it)."""
    state = change.after if change.after is not None else change.before
    if state is None:
        raise ValidationFailedError(f"change {change.id} has no state to restore")
    return state


def _change(
    obj: SQLModel, action: str, before: RowState | None, after: RowState | None
) -> PendingChange:
    # every tracked table has an `id`; SQLModel, their common base, does not declare one
    return PendingChange(TRACKED[type(obj)], obj.id, action, before, after)  # type: ignore[attr-defined]


def _state(obj: SQLModel) -> RowState:
    mapper = inspect(type(obj))
    loaded = inspect(obj).dict  # what is loaded: reading it never queries
    return {
        column.key: _jsonable(loaded.get(column.key))
        for column in mapper.column_attrs
        if column.key not in SECRET_COLUMNS
    }


def _state_before(obj: SQLModel) -> RowState:
    """The committed values: each changed attribute's old value replaces the new one."""
    state = _state(obj)
    attrs = inspect(obj).attrs
    for key in state:
        history = attrs[key].history
        if history.deleted:
            state[key] = _jsonable(history.deleted[0])
    return state


def _differs(before: RowState, after: RowState) -> bool:
    return any(before.get(k) != v for k, v in after.items() if k not in IGNORED_COLUMNS)


def _jsonable(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
