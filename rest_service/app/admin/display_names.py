"""Readable tables: column headers as words, names instead of UUIDs (loaded once per list
page), times without microseconds, long text truncated with the whole on hover, and the
choices of the relationship selects."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text as SAText
from sqlmodel import col

from rest_service.app.models.assistant import Assistant, Tool
from rest_service.app.models.bot import Bot
from rest_service.app.models.cron import CronJob
from rest_service.app.models.llm import LLMModel, LLMProvider
from rest_service.app.models.user import User

#: Longest text a list cell shows; the whole is in the hover title and the detail page.
CELL_CHARS = 80
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

LABELS = {
    "is_active": "Active",
    "is_secretary": "Secretary",
    "is_default": "Default",
    "is_fallback": "Fallback",
    "created_at": "Created",
    "updated_at": "Updated",
    "provider_model_name": "Model name",
    "api_key_masked": "API key",
    "assistant_id": "Assistant",
    "tool_id": "Tool",
    "sub_assistant_id": "Sub-assistant",
    "provider_id": "Provider",
    "user_id": "User",
    "job_id": "Reminder",
    "telegram_id": "Telegram id",
    "run_at": "Runs at",
    "next_run_at": "Next run",
    "last_run_at": "Last run",
    "cron_expression": "Schedule (cron)",
    "scheduled_for": "Due",
    "delivered_at": "Delivered",
    "input_schema": "Input schema (JSON)",
    "openai_assistant_id": "OpenAI assistant id",
    "preferred_model": "Model",
    "tool_type": "Type",
    "assistant_type": "Type",
    "base_url": "Base URL",
    "chat_id": "Chat id",
}


def word_label(field: str) -> str:
    """`is_secretary` -> "Secretary", `updated_at` -> "Updated", `first_name` -> "First name"."""
    if field in LABELS:
        return LABELS[field]
    words = field.removeprefix("is_").removesuffix("_at").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def when(value: datetime | None, zone: ZoneInfo = ZoneInfo("UTC")) -> str:
    """A time in `zone`, to the second, with the zone's abbreviation or offset (`CEST`,
    `-03`); a naive time is UTC (how the database hands them back)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(f"{TIME_FORMAT} %Z")


@dataclass
class AdminClock:
    """The admin's time zone, one per app: set from ADMIN_TIMEZONE when the app starts
    (`bind_admin`), read by the tables' formatters and the pages' `admin_time` filter."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def when(self, value: datetime | None) -> str:
        return when(value, self.zone)


def truncated(text: Any, limit: int = CELL_CHARS) -> Markup | str:
    if text is None:
        return ""
    whole = str(text)
    if len(whole) <= limit:
        return whole
    return Markup('<span title="{}">{}…</span>').format(whole, whole[: limit - 1])


def pretty_json(text: str | None) -> str:
    """Stored JSON text indented for editing; text that is not JSON is left as it is."""
    try:
        return json.dumps(json.loads(text or ""), ensure_ascii=False, indent=2)
    except ValueError:
        return text or ""


# -- names instead of UUIDs ----------------------------------------------------------------

#: The names a list page shows, by id, loaded by `load_names` before its rows are drawn
#: (sqladmin draws them in the same task right after `ModelView.list`).
SHOWN: ContextVar[dict[uuid.UUID, str] | None] = ContextVar("admin_shown_names", default=None)


def _user_name() -> Any:
    return func.coalesce(
        "@" + col(User.username),
        col(User.first_name),
        func.cast(col(User.telegram_id), SAText),
        func.cast(col(User.id), SAText),  # a person without Telegram (decision 0054)
    )


def _model_label() -> Any:
    """`gpt-4o — GPT 4o`: the stored name first, the display name (if any) to search by."""
    name = col(LLMModel.provider_model_name)
    return func.coalesce(name + " — " + col(LLMModel.display_name), name)


NAME_OF: dict[str, Callable[[], tuple[Any, Any]]] = {
    "assistant": lambda: (col(Assistant.id), col(Assistant.name)),
    "tool": lambda: (col(Tool.id), col(Tool.name)),
    "provider": lambda: (col(LLMProvider.id), col(LLMProvider.name)),
    "user": lambda: (col(User.id), _user_name()),
    "cron_job": lambda: (col(CronJob.id), col(CronJob.name)),
    "bot": lambda: (col(Bot.id), col(Bot.name)),
    # Assistants and users name their model by `provider_model_name` (a string, no key).
    "model": lambda: (col(LLMModel.provider_model_name), _model_label()),
}


async def names_of(
    session: AsyncSession, kind: str, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    key, name = NAME_OF[kind]()
    rows = await session.execute(select(key, name).where(key.in_(wanted)))
    return {row_id: str(text) for row_id, text in rows.all()}


async def load_names(session: AsyncSession, columns: dict[str, str], rows: Iterable[Any]) -> None:
    """Look up the names of every id in `rows` under `columns` (attribute -> kind)."""
    rows = list(rows)
    found: dict[uuid.UUID, str] = {}
    for attribute, kind in columns.items():
        found |= await names_of(session, kind, (getattr(r, attribute, None) for r in rows))
    SHOWN.set(found)


def named(model: Any, attribute: Any) -> Markup | str:
    """A list cell: the name of the id, the id itself on hover (the id if no name is known)."""
    value = getattr(model, attribute if isinstance(attribute, str) else attribute.key, None)
    if value is None:
        return ""
    name = (SHOWN.get() or {}).get(value)
    if name is None:
        return str(value)
    return Markup('<span title="{}">{}</span>').format(str(value), escape(name))


async def choices(
    session: AsyncSession, kind: str, *, blank: str | None = None
) -> list[tuple[str, str]]:
    """(id, name) of every row of `kind`, by name, for a select; `blank` first if given."""
    key, name = NAME_OF[kind]()
    rows = await session.execute(select(key, name).order_by(name))
    found = [(str(row_id), str(text)) for row_id, text in rows.all()]
    return [("", blank), *found] if blank is not None else found
