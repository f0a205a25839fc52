"""Lookups in the config snapshot (`common.infrastructure.wire.ConfigSnapshot`) the assistant runs
on.

The snapshot is frozen, so a message in flight keeps the config it started with while a
newer one is swapped in; only active entries are ever picked.
"""

from __future__ import annotations

from uuid import UUID

from common.infrastructure.wire import ConfigSnapshot, LLMModel, SnapshotAssistant


def find_assistant(snapshot: ConfigSnapshot, assistant_id: UUID) -> SnapshotAssistant | None:
    return next((a for a in snapshot.assistants if a.id == assistant_id and a.is_active), None)


def find_model(snapshot: ConfigSnapshot, name: str) -> LLMModel | None:
    return next((m for m in snapshot.models if m.name == name and m.is_active), None)


def default_model(snapshot: ConfigSnapshot) -> LLMModel | None:
    return next((m for m in snapshot.models if m.is_default and m.is_active), None)


def fallback_model(snapshot: ConfigSnapshot) -> LLMModel | None:
    return next((m for m in snapshot.models if m.is_fallback and m.is_active), None)
