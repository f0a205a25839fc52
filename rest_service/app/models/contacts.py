"""A customer's contact details for one business (an assistant): name, phone in E.164,
e-mail, and the consent text they agreed to with when. One row per (user, business); never
shared with another business."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, EmailStr, model_validator
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import TimestampMixin, _no_nul

NAME_MAX = 200
#: E.164: a plus and at most 15 digits.
PHONE_MAX = 16
#: RFC 5321's longest address.
EMAIL_MAX = 254
CONSENT_MAX = 2000
SOURCE_MAX = 100


def _stripped_or_none(value: object) -> object:
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    return value


ContactName = Annotated[
    Annotated[str, PydanticField(max_length=NAME_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]
#: As the customer wrote it; the domain normalises it to E.164 (its default region is a
#: setting) or refuses it naming `phone`.
RawPhone = Annotated[
    Annotated[str, PydanticField(max_length=64), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]
#: email-validator also holds an address to RFC 5321's length.
Email = Annotated[EmailStr | None, BeforeValidator(_stripped_or_none)]
ConsentText = Annotated[
    str,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    PydanticField(min_length=1, max_length=CONSENT_MAX),
    AfterValidator(_no_nul),
]
Source = Annotated[
    Annotated[str, PydanticField(max_length=SOURCE_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_stripped_or_none),
]


class Contact(TimestampMixin, table=True):
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("user_id", "assistant_id", name="uq_contacts_user_assistant"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    #: The business whose customer this is (the assistant a bot speaks as).
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id", ondelete="CASCADE", index=True)
    name: str | None = Field(default=None, max_length=NAME_MAX)
    phone: str | None = Field(default=None, max_length=PHONE_MAX)
    email: str | None = Field(default=None, max_length=EMAIL_MAX)
    #: The words the customer agreed to, kept as shown to them.
    consent_text: str = Field(sa_type=SAText)
    consented_at: datetime = Field(sa_type=DateTime(timezone=True))
    #: Where the details came from (`telegram`, a shared phone number, …).
    source: str | None = Field(default=None, max_length=SOURCE_MAX)


class ContactIn(SQLModel):
    """A save: fields left out keep their stored values; the consent is given again with each
    save, and the row needs a phone or an e-mail once saved."""

    name: ContactName = None
    phone: RawPhone = None
    email: Email = None
    consent_text: ConsentText
    source: Source = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if self.phone is None and self.email is None and self.name is None:
            raise ValueError("give a name, a phone or an e-mail to save")
        return self


class ContactPublic(SQLModel):
    id: uuid.UUID
    user_id: uuid.UUID
    assistant_id: uuid.UUID
    name: str | None
    phone: str | None
    email: str | None
    consent_text: str
    consented_at: datetime
    source: str | None
    created_at: datetime
    updated_at: datetime
