"""The config import/export document (the snapshot itself is
`common.infrastructure.wire.ConfigSnapshot`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from common.infrastructure.wire import AssistantType, ToolType
from rest_service.app.models.assistant import TOOL_NAME_PATTERN
from rest_service.app.models.base import JsonObject, Name, Text
from rest_service.app.models.llm import BaseUrl, Capabilities, Price


class AssistantDoc(BaseModel):
    name: Name
    is_secretary: bool = False
    model: Text | None = Field(default=None, max_length=255)
    instructions: Text = Field(default="", max_length=100_000)
    assistant_type: AssistantType = AssistantType.llm
    openai_assistant_id: Text | None = Field(default=None, max_length=255)
    is_active: bool = True
    feedback_buttons: bool = False


class ToolDoc(BaseModel):
    name: str = Field(max_length=64, pattern=TOOL_NAME_PATTERN)
    tool_type: ToolType
    description: Text = Field(default="", max_length=10_000)
    input_schema: JsonObject = Field(default_factory=lambda: {"type": "object", "properties": {}})
    #: For a sub_assistant tool: the name of the assistant it hands queries to.
    sub_assistant: Name | None = None
    is_active: bool = True
    #: For an mcp tool: its server (`common.infrastructure.wire.mcp_config_error` checks it).
    config: JsonObject | None = None


class LinkDoc(BaseModel):
    assistant: Name
    tool: str = Field(max_length=64, pattern=TOOL_NAME_PATTERN)
    sub_assistant: Name | None = None
    is_active: bool = True


class ProviderDoc(BaseModel):
    name: Name
    base_url: BaseUrl = Field(max_length=1024)
    is_active: bool = True
    #: Write-only: accepted on import (the seed sets OPENAI_API_KEY), never exported.
    api_key: Text | None = Field(default=None, max_length=4096, exclude=True)


class ModelDoc(BaseModel):
    provider: Name
    provider_model_name: Name
    display_name: Text | None = Field(default=None, max_length=255)
    is_default: bool = False
    is_fallback: bool = False
    is_active: bool = True
    #: Left out: a new model chats, an existing one keeps what it has (a document from
    #: before capabilities existed, or the seed's DEFAULT_MODEL that an admin gave `vision`).
    capabilities: Capabilities | None = None
    input_price: Price | None = None
    output_price: Price | None = None


class ConfigDocument(BaseModel):
    """Assistants, tools, links, providers (without keys) and models, referenced by name."""

    format: int = 1
    providers: list[ProviderDoc] = Field(default_factory=list, max_length=1000)
    models: list[ModelDoc] = Field(default_factory=list, max_length=1000)
    assistants: list[AssistantDoc] = Field(default_factory=list, max_length=1000)
    tools: list[ToolDoc] = Field(default_factory=list, max_length=1000)
    links: list[LinkDoc] = Field(default_factory=list, max_length=10_000)


class ImportCounts(BaseModel):
    created: int = 0
    updated: int = 0


class ImportResult(BaseModel):
    version: int
    providers: ImportCounts
    models: ImportCounts
    assistants: ImportCounts
    tools: ImportCounts
    links: ImportCounts
