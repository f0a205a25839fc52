"""Helpers every service module uses: paging with a total, lookups that 404, partial
updates, and unique-constraint violations turned into 409s that name the field."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from common.infrastructure.errors import ConflictError, FieldError, ValidationFailedError, not_found
from rest_service.app.domain.paging import Page

M = TypeVar("M", bound=SQLModel)

#: Constraint → (field, what the conflict means).
_UNIQUE_MEANING: dict[str, tuple[str, str]] = {
    "uq_assistants_name": ("name", "an assistant with this name exists"),
    "uq_assistants_one_secretary": ("is_secretary", "another assistant is the secretary"),
    "uq_tools_name": ("name", "a tool with this name exists"),
    "uq_assistant_tool_link_pair": ("tool_id", "this assistant already has this tool"),
    "uq_llm_providers_name": ("name", "a provider with this name exists"),
    "uq_llm_models_provider_model_name": ("provider_model_name", "a model with this name exists"),
    "uq_llm_models_one_default": ("is_default", "another model is the default"),
    "uq_llm_models_one_fallback": ("is_fallback", "another model is the fallback"),
    "uq_bots_name": ("name", "a bot with this name exists"),
    "uq_bots_telegram_bot_id": ("token", "another bot row has this Telegram bot"),
    "ix_users_telegram_id": ("telegram_id", "a user with this Telegram id exists"),
    "uq_cron_jobs_idempotency_key": ("idempotency_key", "a job with this key exists"),
    "uq_chat_messages_dedup_key": ("dedup_key", "a message with this key exists"),
    "uq_user_assistant_threads_pair": ("user_id", "this conversation has a thread"),
    "uq_catalogue_items_assistant_sku": ("sku", "this assistant has an item with this sku"),
    "uq_catalogue_items_shared_sku": ("sku", "a shared item has this sku"),
    "pk_catalogue_items": ("id", "an item with this id exists"),
    "uq_webhook_subscriptions_name": ("name", "a webhook with this name exists"),
    "uq_api_clients_name": ("name", "an API client with this name exists"),
}


async def paged(session: AsyncSession, stmt: Select[Any], page: Page) -> tuple[list[Any], int]:
    """One page of `stmt` (already ordered) and the total it would return unpaged."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.scalars(stmt.limit(page.limit).offset(page.offset))).all()
    return list(rows), int(total or 0)


async def paged_rows(
    session: AsyncSession, stmt: Select[*tuple[Any, ...]], page: Page
) -> tuple[list[Any], int]:
    """Like `paged`, for statements that select several entities (rows of tuples)."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = (await session.execute(stmt.limit(page.limit).offset(page.offset))).all()
    return [tuple(row) for row in rows], int(total or 0)


async def get_or_404(session: AsyncSession, model: type[M], key: uuid.UUID, kind: str) -> M:
    row = await session.get(model, key)
    if row is None:
        raise not_found(kind, key)
    return row


def apply_update(row: SQLModel, changes: Mapping[str, object]) -> SQLModel:
    for name, value in changes.items():
        setattr(row, name, value)
    return row


def constraint_name(exc: IntegrityError) -> str | None:
    cause = getattr(exc.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None)


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    cause = getattr(exc.orig, "__cause__", None)
    return getattr(cause, "sqlstate", None) == "23503"


def conflict_from(exc: IntegrityError) -> ConflictError:
    name = constraint_name(exc) or ""
    field, meaning = _UNIQUE_MEANING.get(name, ("", "conflicts with stored data"))
    return ConflictError(meaning, [FieldError(field, meaning)] if field else [])


async def flush_or_conflict(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise conflict_from(exc) from exc


def name_taken(kind: str, field: str, name: str) -> ConflictError:
    reason = f"a {kind} named {name!r} exists"
    return ConflictError(reason, [FieldError(field, reason)])


def non_null(model: type[SQLModel], changes: dict[str, Any]) -> dict[str, Any]:
    """A partial update may clear nullable columns only: null for another is a 422."""
    # SQLAlchemy sets __table__ when the table class is made; SQLModel's type does not declare it
    table = model.__table__  # type: ignore[attr-defined]
    for name, value in changes.items():
        if value is None and name in table.c and not table.c[name].nullable:
            reason = "must not be null"
            raise ValidationFailedError(f"{name}: {reason}", [FieldError(name, reason)])
    return changes


async def count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    """Rows matching a condition on one table (the table comes from the condition)."""
    stmt = select(func.count()).where(where)
    return int(await session.scalar(stmt) or 0)
