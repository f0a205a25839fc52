"""API clients: the outside programs that call the public API (the channels service's
`/v1/chat/completions` and `/api/v1/messages`), each with its own key. Only the key's
SHA-256 is stored; the key itself is shown once, when it is made. The secret that signs
what is posted to the client's webhook is kept encrypted (it must be read to sign) and is
shown once too."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field as PydanticField
from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import INT_MAX, Name, TimestampMixin
from rest_service.app.models.llm import BaseUrl

#: Assistants one client may name; more is a 422.
ASSISTANTS_LISTED_MAX = 100
#: `sa_` and the first 8 characters of the random part: enough to tell keys apart on a page.
KEY_PREFIX_LENGTH = 11


def _distinct(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


#: Assistant names; empty: the default secretary only.
AllowedAssistants = Annotated[
    list[Name], PydanticField(max_length=ASSISTANTS_LISTED_MAX), AfterValidator(_distinct)
]
#: Requests a minute or a day; 0: no limit.
Limit = Annotated[int, PydanticField(ge=0, le=INT_MAX)]


class ApiClientBase(SQLModel):
    name: Name = Field(max_length=255)
    #: Where the channels service posts this client's asynchronous answers; None: nowhere.
    webhook_url: BaseUrl | None = Field(default=None, max_length=2048)
    allowed_assistants: AllowedAssistants = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False)
    )
    per_minute_limit: Limit = 0
    daily_limit: Limit = 0


class ApiClient(ApiClientBase, TimestampMixin, table=True):
    __tablename__ = "api_clients"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_clients_name"),
        UniqueConstraint("key_hash", name="uq_api_clients_key_hash"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: The key's first characters, what an admin sees and what `authenticate` looks up by.
    key_prefix: str = Field(max_length=KEY_PREFIX_LENGTH, index=True)
    #: Hex SHA-256 of the key (`domain/api_clients.py` says why not argon2); never the key.
    key_hash: str = Field(max_length=64)
    #: Set by a revoke: the key stops at once and the row stays, as a record.
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: Fernet token of the webhook signing secret (LLM_MODEL_DECRYPT_KEY); None for a client
    #: made before there were any, until an admin makes one.
    webhook_secret_encrypted: str | None = Field(default=None, sa_type=SAText)
    #: What an admin sees (`…abcd`).
    webhook_secret_masked: str | None = Field(default=None, max_length=32)


class ApiClientCreate(ApiClientBase):
    pass


class ApiClientUpdate(SQLModel):
    name: Name | None = Field(default=None, max_length=255)
    webhook_url: BaseUrl | None = Field(default=None, max_length=2048)
    allowed_assistants: AllowedAssistants | None = None
    per_minute_limit: Limit | None = None
    daily_limit: Limit | None = None


class ApiClientPublic(ApiClientBase):
    id: uuid.UUID
    key_prefix: str
    webhook_secret_masked: str | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApiClientWithKey(ApiClientPublic):
    """The create and rotate answers: the one time the key is shown."""

    key: str


class ApiClientCreated(ApiClientWithKey):
    """The create answer: the key and the webhook signing secret, each shown this once."""

    webhook_secret: str


class ApiClientWithWebhookSecret(ApiClientPublic):
    """The answer of a new webhook secret: the one time it is shown."""

    webhook_secret: str


class KeyCheck(SQLModel):
    """`POST /api/api-clients/authenticate`: the key an outside caller sent."""

    key: str


class AuthenticatedClient(SQLModel):
    """What the channels service needs to serve a live key's caller."""

    id: uuid.UUID
    name: str
    webhook_url: str | None
    allowed_assistants: list[str]
    per_minute_limit: int
    daily_limit: int
