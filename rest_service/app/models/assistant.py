"""Assistants, tools and the links between them (the design notes' configuration tables)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlalchemy import Column, Index, UniqueConstraint, false, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.infrastructure.wire import AssistantType, ToolType
from rest_service.app.models.base import JsonObject, Name, Text, TimestampMixin
from rest_service.app.models.enums import varchar_enum

#: What a tool's name may be: the function name the LLM sees (OpenAI's pattern).
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
ToolName = Annotated[str, StringConstraints(pattern=TOOL_NAME_PATTERN)]
MAX_INSTRUCTIONS = 100_000


class AssistantBase(SQLModel):
    name: Name = Field(max_length=255)
    is_secretary: bool = False
    model: Text | None = Field(default=None, max_length=255)
    instructions: Text = Field(default="", max_length=MAX_INSTRUCTIONS, sa_type=SAText)
    assistant_type: AssistantType = Field(
        default=AssistantType.llm, sa_type=varchar_enum(AssistantType, 50)
    )
    openai_assistant_id: Text | None = Field(default=None, max_length=255)
    is_active: bool = True
    #: 👍 / 👎 under its answers, and a comment asked after a 👎 (decision 0051).
    feedback_buttons: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Assistant(AssistantBase, TimestampMixin, table=True):
    __tablename__ = "assistants"
    __table_args__ = (
        UniqueConstraint("name", name="uq_assistants_name"),
        Index(
            "uq_assistants_one_secretary",
            "is_secretary",
            unique=True,
            postgresql_where=text("is_secretary"),
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class AssistantCreate(AssistantBase):
    pass


class AssistantUpdate(SQLModel):
    name: Name | None = Field(default=None, max_length=255)
    is_secretary: bool | None = None
    model: Text | None = Field(default=None, max_length=255)
    instructions: Text | None = Field(default=None, max_length=MAX_INSTRUCTIONS)
    assistant_type: AssistantType | None = None
    openai_assistant_id: Text | None = Field(default=None, max_length=255)
    is_active: bool | None = None
    feedback_buttons: bool | None = None


class AssistantPublic(AssistantBase):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class ToolBase(SQLModel):
    name: ToolName = Field(max_length=64)
    tool_type: ToolType = Field(
        sa_column_kwargs={"nullable": False},
        sa_type=SAEnum(ToolType, name="tool_type", values_callable=lambda e: [m.value for m in e]),
    )
    description: Text = Field(default="", max_length=10_000, sa_type=SAText)
    assistant_id: uuid.UUID | None = Field(default=None, foreign_key="assistants.id")
    is_active: bool = True
    #: An mcp tool's server: `{"transport": "http", "url"}` or `{"transport": "stdio",
    #: "server": <a name in MCP_STDIO_SERVERS>}` (checked by
    #: `common.infrastructure.wire.mcp_config_error`).
    config: JsonObject | None = Field(default=None, sa_type=JSONB)


class Tool(ToolBase, TimestampMixin, table=True):
    __tablename__ = "tools"
    __table_args__ = (UniqueConstraint("name", name="uq_tools_name"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: The JSON Schema of the arguments, as text (the design notes' column).
    input_schema: str = Field(sa_column=Column(SAText, nullable=False))


class ToolCreate(ToolBase):
    #: A JSON Schema object (or its JSON text); checked against the meta-schema.
    input_schema: JsonObject | Text = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


class ToolUpdate(SQLModel):
    name: ToolName | None = Field(default=None, max_length=64)
    tool_type: ToolType | None = None
    description: Text | None = Field(default=None, max_length=10_000)
    input_schema: JsonObject | Text | None = None
    assistant_id: uuid.UUID | None = None
    is_active: bool | None = None
    config: JsonObject | None = None


class ToolPublic(ToolBase):
    id: uuid.UUID
    input_schema: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class AssistantToolLinkBase(SQLModel):
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id")
    tool_id: uuid.UUID = Field(foreign_key="tools.id", index=True)
    #: For a sub_assistant tool: the assistant it hands the query to (else the tool's own).
    sub_assistant_id: uuid.UUID | None = Field(default=None, foreign_key="assistants.id")
    is_active: bool = True


class AssistantToolLink(AssistantToolLinkBase, TimestampMixin, table=True):
    __tablename__ = "assistant_tool_link"
    __table_args__ = (
        UniqueConstraint("assistant_id", "tool_id", name="uq_assistant_tool_link_pair"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class AssistantToolLinkCreate(AssistantToolLinkBase):
    pass


class AssistantToolLinkPublic(AssistantToolLinkBase):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime


class AssistantToolPublic(ToolPublic):
    """A tool as one assistant has it: the tool plus its link."""

    link_id: uuid.UUID
    link_is_active: bool
    sub_assistant_id: uuid.UUID | None
