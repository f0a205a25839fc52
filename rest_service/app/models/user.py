"""Users (one person, whatever channels they speak through) and their settings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, false
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import BIGINT_MAX, Text, TimestampMixin

#: The longest lead of an event alert: a day.
MAX_EVENT_ALERT_MINUTES = 1440


class UserBase(SQLModel):
    username: Text | None = Field(default=None, max_length=255)
    first_name: Text | None = Field(default=None, max_length=255)
    language: Text | None = Field(default=None, max_length=16)
    #: An IANA zone name (`Europe/Moscow`); None: DEFAULT_TIMEZONE applies.
    timezone: Text | None = Field(default=None, max_length=64)
    #: An `llm_models` name the user chose with /model.
    preferred_model: Text | None = Field(default=None, max_length=255)


class User(UserBase, TimestampMixin, table=True):
    __tablename__ = "users"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: The person's Telegram identity; None for one who speaks through other channels only
    #: (their identities are `user_identities`, decision 0054).
    telegram_id: int | None = Field(default=None, unique=True, index=True, sa_type=BigInteger)
    blocked: bool = False
    #: `/voice on`: answers come as voice messages too.
    voice_replies: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    #: An alert this many minutes before each calendar event; 0: none (the default).
    event_alert_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class UserCreate(UserBase):
    telegram_id: int = Field(gt=0, le=BIGINT_MAX)


class UserUpdate(SQLModel):
    username: Text | None = Field(default=None, max_length=255)
    first_name: Text | None = Field(default=None, max_length=255)
    language: Text | None = Field(default=None, max_length=16)
    timezone: Text | None = Field(default=None, max_length=64)
    preferred_model: Text | None = Field(default=None, max_length=255)
    blocked: bool | None = None
    voice_replies: bool | None = None
    event_alert_minutes: int | None = Field(default=None, ge=0, le=MAX_EVENT_ALERT_MINUTES)


class UserPublic(UserBase):
    id: uuid.UUID
    telegram_id: int | None
    blocked: bool
    voice_replies: bool
    event_alert_minutes: int = 0
    created_at: datetime
    updated_at: datetime


class TelegramUserPublic(UserPublic):
    """A user found or made by their Telegram id, which is therefore set."""

    telegram_id: int
