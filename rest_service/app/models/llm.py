"""LLM providers (OpenAI-compatible endpoints with encrypted keys) and their models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints
from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from common.wire import ProviderRef
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


class LLMModelPublic(LLMModelBase):
    id: uuid.UUID
    #: The same as `provider_model_name`: what the snapshot and /model call a model.
    name: str
    provider: ProviderRef
    created_at: datetime
    updated_at: datetime
