"""Profile facts: what a user told the assistant about themselves ("my wife is Anna"), shown
to them by /memory and put into the system prompt of their private chat only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from common.infrastructure.wire import PROFILE_FACT_MAX_CHARS, fact_key
from rest_service.app.models.base import CreatedMixin, _no_nul, one_line

FactText = Annotated[
    str,
    BeforeValidator(one_line),
    PydanticField(min_length=1, max_length=PROFILE_FACT_MAX_CHARS),
    AfterValidator(_no_nul),
]


class ProfileFact(CreatedMixin, table=True):
    __tablename__ = "profile_facts"
    #: `text_key` (the text casefolded) keeps one copy of a fact however it is spelled.
    __table_args__ = (
        UniqueConstraint("user_id", "text_key", name="uq_profile_facts_user_id_text_key"),
        Index("ix_profile_facts_user_id_created_at", "user_id", "created_at"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    text: str = Field(max_length=PROFILE_FACT_MAX_CHARS)
    #: Casefolding may lengthen a text (ß -> ss), at most threefold.
    text_key: str = Field(max_length=PROFILE_FACT_MAX_CHARS * 3)


class ProfileFactCreate(SQLModel):
    text: FactText

    @property
    def key(self) -> str:
        return fact_key(self.text)


class ProfileFactPublic(SQLModel):
    id: uuid.UUID
    user_id: uuid.UUID
    text: str
    created_at: datetime
