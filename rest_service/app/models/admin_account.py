"""Named admins of the web admin: a name and an argon2id hash of the password, never the
password itself (created with `./manage.py admin create NAME`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel

from common.infrastructure.clock import utcnow
from rest_service.app.models.base import TimestampMixin


class AdminAccount(TimestampMixin, table=True):
    __tablename__ = "admin_accounts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Lower case, checked by `services.admin_accounts.clean_name`.
    name: str = Field(max_length=64, unique=True)
    #: argon2id in PHC form (`$argon2id$v=19$m=…`).
    password_hash: str = Field(max_length=255)
    password_changed_at: datetime = Field(
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )


class AdminAccountPublic(SQLModel):
    name: str
    created_at: datetime
    password_changed_at: datetime
