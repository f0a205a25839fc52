"""Google Calendar OAuth credentials per user and Google account, encrypted at rest."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, UniqueConstraint, text
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import JsonObject, TimestampMixin

#: An e-mail address is at most 320 characters.
ACCOUNT_MAX = 320


class CalendarCredential(TimestampMixin, table=True):
    __tablename__ = "calendar_credentials"
    #: One active row per user and Google account, one of them the default; at most one
    #: pending row per user: a stranger's consent never replaces the owner's working connection.
    __table_args__ = (
        UniqueConstraint(
            "user_id", "status", "account", name="uq_calendar_credentials_user_id_status_account"
        ),
        CheckConstraint("status IN ('pending', 'active')", name="status"),
        Index(
            "uq_calendar_credentials_one_pending",
            "user_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "uq_calendar_credentials_one_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    #: Fernet token of the credentials' JSON (LLM_MODEL_DECRYPT_KEY).
    credentials_encrypted: str = Field(sa_type=SAText)
    #: False once a refresh failed: the user must connect again.
    valid: bool = True
    #: "pending" until the Telegram user confirms the Google account in their own chat.
    status: str = Field(
        default="active", max_length=16, sa_column_kwargs={"server_default": "active"}
    )
    pending_since: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: The Google account's address, lower-cased ("" when Google did not say): the key among a
    #: user's connections.
    account: str = Field(
        default="", max_length=ACCOUNT_MAX, sa_column_kwargs={"server_default": ""}
    )
    #: The account new events go to; exactly one of a user's active rows.
    is_default: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})


class CalendarCredentialsPut(SQLModel):
    credentials: JsonObject
    valid: bool = True


class CalendarPendingConfirm(SQLModel):
    """A pending connection older than this is expired: dropped instead of made active."""

    max_age_seconds: int = Field(default=900, ge=1, le=86_400)


class CalendarCredentialsPublic(SQLModel):
    """Only ever sent to the service token, one user at a time."""

    user_id: uuid.UUID
    credentials: dict[str, object]
    valid: bool
    status: str = "active"
    pending_since: datetime | None = None
    account: str = ""
    is_default: bool = False
    created_at: datetime
    updated_at: datetime


class CalendarDefaultAccountPut(SQLModel):
    """Which of the user's connected Google accounts takes new events."""

    account: str = Field(min_length=1, max_length=ACCOUNT_MAX)
