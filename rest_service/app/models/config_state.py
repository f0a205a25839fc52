"""The config version: one row, bumped in the same transaction as every config write."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import TimestampMixin

CONFIG_STATE_ID = 1


class ConfigState(TimestampMixin, table=True):
    __tablename__ = "config_state"
    id: int = Field(
        default=CONFIG_STATE_ID, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    version: int = Field(default=0, sa_type=BigInteger)


class ConfigVersion(SQLModel):
    version: int
