"""LLM providers (OpenAI-compatible endpoints with encrypted keys) and their models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints
from pydantic import Field as PydanticField
from sqlalchemy import CheckConstraint, Dialect, Index, TypeDecorator, UniqueConstraint, text
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.infrastructure.wire import ModelCapability, ProviderRef
from rest_service.app.models.base import Name, Text, TimestampMixin

URL_PATTERN = r"^https?://[^\s]+$"


def _parsable_url(value: str) -> str:
    """The pattern lets `http://[` through; an LLM client could not use it."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as exc:
        raise ValueError(f"not a URL: {exc}") from exc
    if not parts.hostname:
        raise ValueError("the URL needs a host")
    return value


#: An http(s) URL of an OpenAI-compatible API (`https://api.openai.com/v1`).
BaseUrl = Annotated[str, StringConstraints(pattern=URL_PATTERN), AfterValidator(_parsable_url)]
#: Money per million tokens (the deployment's one currency).
Price = Annotated[float, PydanticField(ge=0, le=1_000_000, allow_inf_nan=False)]


def _distinct_in_order(value: list[ModelCapability]) -> list[ModelCapability]:
    """Each capability once, kept in the enum's order, so equal sets compare equal (an import
    of the same document changes nothing)."""
    if len(set(value)) != len(value):
        raise ValueError("each capability may appear only once")
    return [c for c in ModelCapability if c in value]


#: What a model can do: at least one of `chat`, `vision`, `transcription`, `speech`, `image`,
#: `embedding`.
Capabilities = Annotated[
    list[ModelCapability],
    PydanticField(min_length=1, max_length=len(ModelCapability)),
    AfterValidator(_distinct_in_order),
]


class CapabilityList(TypeDecorator[list[ModelCapability]]):
    """JSONB read back as the enum, so a row dumps (history, export) as it validates."""

    impl = JSONB
    cache_ok = True

    def process_result_value(
        self, value: list[str] | None, dialect: Dialect
    ) -> list[ModelCapability] | None:
        return None if value is None else [ModelCapability(v) for v in value]


#: A model made without naming its capabilities (and every model older than them) chats.
DEFAULT_CAPABILITIES = (ModelCapability.chat,)
#: Postgres holds only a non-empty array of known names, whatever wrote the row.
CAPABILITIES_CHECK = (
    "jsonb_typeof(capabilities) = 'array' AND jsonb_array_length(capabilities) > 0 "
    'AND capabilities <@ \'["chat", "vision", "transcription", "speech", "image", '
    '"embedding"]\'::jsonb'
)


class ProviderBase(SQLModel):
    name: Name = Field(max_length=255)
    base_url: BaseUrl = Field(max_length=1024)
    is_active: bool = True


class LLMProvider(ProviderBase, TimestampMixin, table=True):
    __tablename__ = "llm_providers"
    __table_args__ = (UniqueConstraint("name", name="uq_llm_providers_name"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Fernet token of the key (LLM_MODEL_DECRYPT_KEY); never leaves except via /api-key.
    api_key_encrypted: str | None = Field(default=None, sa_type=SAText)
    #: What an admin sees (`sk-…abcd`), kept so a list never decrypts.
    api_key_masked: str | None = Field(default=None, max_length=32)


class ProviderCreate(ProviderBase):
    #: Write-only.
    api_key: Text | None = Field(default=None, max_length=4096)


class ProviderUpdate(SQLModel):
    name: Name | None = Field(default=None, max_length=255)
    base_url: BaseUrl | None = Field(default=None, max_length=1024)
    is_active: bool | None = None
    #: Write-only; null removes the key.
    api_key: Text | None = Field(default=None, max_length=4096)


class ProviderPublic(ProviderBase):
    id: uuid.UUID
    api_key_masked: str | None
    has_api_key: bool
    created_at: datetime
    updated_at: datetime


class ProviderApiKey(SQLModel):
    api_key: str | None


class LLMModelBase(SQLModel):
    provider_id: uuid.UUID = Field(foreign_key="llm_providers.id")
    #: The name sent in chat completion requests; unique across providers.
    provider_model_name: Name = Field(max_length=255)
    display_name: Text | None = Field(default=None, max_length=255)
    is_default: bool = False
    is_fallback: bool = False
    is_active: bool = True
    #: The transcription and speech models are the active ones with that capability.
    capabilities: Capabilities = Field(
        default_factory=lambda: list(DEFAULT_CAPABILITIES),
        sa_type=CapabilityList,
        sa_column_kwargs={"server_default": text("'[\"chat\"]'::jsonb"), "nullable": False},
    )
    #: Money per million input / output tokens, for the experiments' cost (None: unpriced).
    input_price: Price | None = None
    output_price: Price | None = None


class LLMModel(LLMModelBase, TimestampMixin, table=True):
    __tablename__ = "llm_models"
    __table_args__ = (
        UniqueConstraint("provider_model_name", name="uq_llm_models_provider_model_name"),
        Index(
            "uq_llm_models_one_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        Index(
            "uq_llm_models_one_fallback",
            "is_fallback",
            unique=True,
            postgresql_where=text("is_fallback"),
        ),
        CheckConstraint(CAPABILITIES_CHECK, name="capabilities_known"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)


class LLMModelCreate(LLMModelBase):
    pass


class LLMModelUpdate(SQLModel):
    provider_id: uuid.UUID | None = None
    provider_model_name: Name | None = Field(default=None, max_length=255)
    display_name: Text | None = Field(default=None, max_length=255)
    is_default: bool | None = None
    is_fallback: bool | None = None
    is_active: bool | None = None
    capabilities: Capabilities | None = None
    input_price: Price | None = None
    output_price: Price | None = None


class LLMModelPublic(LLMModelBase):
    id: uuid.UUID
    #: The same as `provider_model_name`: what the snapshot and /model call a model.
    name: str
    provider: ProviderRef
    created_at: datetime
    updated_at: datetime
