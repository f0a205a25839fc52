"""The closed sets of values the API accepts (stored as VARCHAR, except `tool_type`)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum as SAEnum


def varchar_enum(enum: type[StrEnum], length: int) -> SAEnum:
    """A VARCHAR column that reads back as the enum (so models never hold a bare string)."""
    return SAEnum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class AssistantType(StrEnum):
    llm = "llm"
    openai_api = "openai_api"


class ToolType(StrEnum):
    calendar = "calendar"
    reminder = "reminder"
    time = "time"
    weather = "weather"
    sub_assistant = "sub_assistant"


class MessageRole(StrEnum):
    system = "system"
    user = "user"
    assistant = "assistant"
    tool = "tool"


class CronJobType(StrEnum):
    reminder = "reminder"
    assistant_prompt = "assistant_prompt"


class CronJobStatus(StrEnum):
    active = "active"
    paused = "paused"
    done = "done"
    cancelled = "cancelled"
    missed = "missed"


class RunOutcome(StrEnum):
    on_time = "on_time"
    late = "late"
    missed = "missed"
    failed = "failed"
