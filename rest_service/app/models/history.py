"""Change history of the live config: who changed which assistant, tool, link, provider or
model, when, and what it looked like before and after (written by the service layer)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import CreatedMixin

#: A tracked row's columns as JSON values, its secrets left out: what the history records
#: before and after a change, and what a revert restores.
RowState = dict[str, object]


class ConfigChange(CreatedMixin, table=True):
    __tablename__ = "config_changes"
    __table_args__ = (Index("ix_config_changes_entity", "entity", "entity_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=False), primary_key=True)
    )
    #: `assistant`, `tool`, `link`, `provider` or `model`.
    entity: str = Field(max_length=32)
    entity_id: uuid.UUID
    #: `created`, `updated` or `deleted`.
    action: str = Field(max_length=16)
    #: Who: `admin-token`, `service-token`, `admin:<username>`, `seed`.
    actor: str = Field(max_length=255)
    #: The config version this change produced.
    version: int = Field(sa_type=BigInteger)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONB)


class ConfigChangePublic(SQLModel):
    id: int
    entity: str
    entity_id: uuid.UUID
    action: str
    actor: str
    version: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime
