"""Google Calendar OAuth credentials per user, encrypted at rest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text as SAText
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import JsonObject, TimestampMixin


class CalendarCredential(TimestampMixin, table=True):
    __tablename__ = "calendar_credentials"
    __table_args__ = (UniqueConstraint("user_id", name="uq_calendar_credentials_user_id"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    #: Fernet token of the credentials' JSON (LLM_MODEL_DECRYPT_KEY).
    credentials_encrypted: str = Field(sa_type=SAText)
    #: False once a refresh failed: the user must connect again.
    valid: bool = True


class CalendarCredentialsPut(SQLModel):
    credentials: JsonObject
    valid: bool = True


class CalendarCredentialsPublic(SQLModel):
    """Only ever sent to the service token, one user at a time."""

    user_id: uuid.UUID
    credentials: dict[str, object]
    valid: bool
    created_at: datetime
    updated_at: datetime
