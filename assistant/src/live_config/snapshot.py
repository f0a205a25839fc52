"""The config snapshot (`GET /api/config`) as the assistant reads it: frozen, so a message in
flight keeps the config it started with while a newer one is swapped in."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ToolSpec(_Frozen):
    id: str
    name: str
    tool_type: str
    description: str | None = None
    input_schema: dict[str, Any] = {"type": "object", "properties": {}}
    sub_assistant_id: str | None = None

    @field_validator("input_schema", mode="before")
    @classmethod
    def _parse_schema(cls, value: Any) -> Any:
        """The table stores the schema as text; the snapshot parses it, but accept both."""
        if value is None or value == "":
            return {"type": "object", "properties": {}}
        return json.loads(value) if isinstance(value, str) else value


class AssistantSpec(_Frozen):
    id: str
    name: str
    is_secretary: bool = False
    model: str | None = None
    instructions: str | None = None
    assistant_type: str = "llm"
    is_active: bool = True
    tools: tuple[ToolSpec, ...] = ()


class ProviderSpec(_Frozen):
    id: str
    name: str
    base_url: str


class ModelSpec(_Frozen):
    id: str
    name: str
    display_name: str | None = None
    provider: ProviderSpec | None = None
    is_default: bool = False
    is_fallback: bool = False
    is_active: bool = True


class ConfigSnapshot(_Frozen):
    version: int
    secretary: AssistantSpec | None = None
    assistants: tuple[AssistantSpec, ...] = ()
    models: tuple[ModelSpec, ...] = ()

    def assistant(self, assistant_id: str) -> AssistantSpec | None:
        return next((a for a in self.assistants if a.id == assistant_id and a.is_active), None)

    def model(self, name: str) -> ModelSpec | None:
        return next((m for m in self.models if m.name == name and m.is_active), None)

    @property
    def default_model(self) -> ModelSpec | None:
        return next((m for m in self.models if m.is_default and m.is_active), None)

    @property
    def fallback_model(self) -> ModelSpec | None:
        return next((m for m in self.models if m.is_fallback and m.is_active), None)
