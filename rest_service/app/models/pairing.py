"""A pairing: a stranger who wrote to a private bot, their code, and the owner's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, Column, DateTime
from sqlmodel import Field, SQLModel

from common.features.pairing import LENGTH
from common.infrastructure.wire import PairingStatus
from rest_service.app.models.base import BIGINT_MAX, TimestampMixin, _no_nul, one_line
from rest_service.app.models.enums import varchar_enum

NAME_MAX = 255
DECIDER_MAX = 100

TelegramId = Annotated[int, PydanticField(ge=-BIGINT_MAX, le=BIGINT_MAX)]
ShortText = Annotated[
    str, BeforeValidator(one_line), PydanticField(max_length=NAME_MAX), AfterValidator(_no_nul)
]
Decider = Annotated[
    str,
    BeforeValidator(one_line),
    PydanticField(min_length=1, max_length=DECIDER_MAX),
    AfterValidator(_no_nul),
]


class Pairing(TimestampMixin, table=True):
    __tablename__ = "pairings"
    code: str = Field(primary_key=True, max_length=LENGTH)
    #: One pairing per person: writing again gives the same code.
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    username: str | None = Field(default=None, max_length=NAME_MAX)
    first_name: str | None = Field(default=None, max_length=NAME_MAX)
    status: PairingStatus = Field(
        default=PairingStatus.pending, sa_type=varchar_enum(PairingStatus, 16), index=True
    )
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: Who answered: `admin-token`, `admin:<username>`, `telegram:<owner id>`.
    decided_by: str | None = Field(default=None, max_length=DECIDER_MAX)


class PairingCreate(SQLModel):
    telegram_id: TelegramId
    username: ShortText | None = None
    first_name: ShortText | None = None


class PairingDecisionIn(SQLModel):
    """Who answered, when not the token's holder (tg_bot says which owner pressed)."""

    by: Decider | None = None


class PairingPublic(SQLModel):
    code: str
    telegram_id: int
    username: str | None
    first_name: str | None
    status: PairingStatus
    decided_at: datetime | None
    decided_by: str | None
    created_at: datetime
