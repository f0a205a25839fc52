"""A person's identities beyond Telegram (a WhatsApp number, a Slack user, an e-mail address, a
web visitor) and the one-time codes that link them (decision 0054). A Telegram identity stays
`users.telegram_id`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from common.features.linking import EXTERNAL_ID_MAX, LINK_CODE_LENGTH, normalise_external_id
from common.infrastructure.channels import Channel
from rest_service.app.models.base import Text, TimestampMixin, _no_nul
from rest_service.app.models.user import UserBase, UserPublic

DISPLAY_NAME_MAX = 255
CHANNEL_MAX = 32


class UserIdentity(TimestampMixin, table=True):
    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_user_identities_channel_external_id"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    channel: str = Field(max_length=CHANNEL_MAX)
    #: The channel's own sender id, normalised (`common/features/linking.py`).
    external_id: str = Field(max_length=EXTERNAL_ID_MAX)
    display_name: str | None = Field(default=None, max_length=DISPLAY_NAME_MAX)


class LinkCode(SQLModel, table=True):
    """A live code: only its SHA-256 is kept; used once (deleted), dead after `expires_at`."""

    __tablename__ = "link_codes"
    code_hash: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_at: datetime = Field(
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )


class IdentityRef(SQLModel):
    """One channel's sender: the channel and its id there."""

    channel: Channel
    external_id: Text = Field(min_length=1, max_length=EXTERNAL_ID_MAX)

    @field_validator("external_id")
    @classmethod
    def _normalised(cls, value: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        return normalise_external_id(channel, value) if isinstance(channel, Channel) else value


class IdentityCreate(IdentityRef, UserBase):
    """`POST /api/users/by-identity`: the sender's user, made with these fields when missing."""

    display_name: Text | None = Field(default=None, max_length=DISPLAY_NAME_MAX)


LinkCodeText = Annotated[str, PydanticField(min_length=1, max_length=64), AfterValidator(_no_nul)]


class LinkRequest(IdentityRef):
    """`POST /api/users/link`: the identity that sent `code` joins the code's issuer."""

    code: LinkCodeText


class IdentityPublic(SQLModel):
    channel: Channel
    external_id: str
    display_name: str | None
    created_at: datetime


class LinkCodePublic(SQLModel):
    """The code as shown (`ABCD-EFGH`) and when it stops working."""

    code: str = Field(min_length=LINK_CODE_LENGTH)
    expires_at: datetime
    ttl_seconds: int


class LinkResult(SQLModel):
    """The person after a link: the issuer, and every channel they now speak through."""

    user: UserPublic
    identities: list[IdentityPublic]
    merged_user_id: uuid.UUID | None
