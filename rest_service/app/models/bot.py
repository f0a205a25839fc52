"""Bots: one row per bot an admin runs beside the default one (`TELEGRAM_TOKEN`), each
speaking as one assistant. The token is stored encrypted, as a provider's key is."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import BigInteger, Column, UniqueConstraint
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from common.infrastructure.wire import BotChannel
from rest_service.app.models.base import BIGINT_MAX, Name, Text, TimestampMixin
from rest_service.app.models.enums import varchar_enum


def _not_zero(chat_id: int) -> int:
    if chat_id == 0:
        raise ValueError("a chat id is not 0 (leave it out for no operator chat)")
    return chat_id


#: `123456789:AA…`: Telegram's bot token; the number before the colon is the bot's id.
TELEGRAM_TOKEN_PATTERN = re.compile(r"^([1-9][0-9]{0,18}):[A-Za-z0-9_-]{20,}$")
GREETING_MAX = 4096
MAX_ALLOWED_USERS = 10_000

TelegramUserId = Annotated[int, PydanticField(gt=0, le=BIGINT_MAX)]
AllowedUsers = Annotated[
    list[TelegramUserId],
    PydanticField(max_length=MAX_ALLOWED_USERS),
    AfterValidator(lambda ids: sorted(set(ids))),
]
Token = Annotated[Text, PydanticField(min_length=1, max_length=4096)]
Greeting = Annotated[Text, PydanticField(max_length=GREETING_MAX)]
#: A Telegram chat id (a group's is negative); 0 is no chat.
OperatorChat = Annotated[
    int, PydanticField(ge=-BIGINT_MAX, le=BIGINT_MAX), AfterValidator(_not_zero)
]
WaitMinutes = Annotated[int, PydanticField(ge=1, le=10080)]


def telegram_bot_id(token: str) -> int:
    """The bot's id, which Telegram puts before the colon of its token (ValueError if it is
    not a Telegram token)."""
    found = TELEGRAM_TOKEN_PATTERN.match(token)
    if found is None or int(found.group(1)) > BIGINT_MAX:
        raise ValueError("not a Telegram bot token (`<bot id>:<secret>`, as @BotFather gives it)")
    return int(found.group(1))


class BotBase(SQLModel):
    name: Name = Field(max_length=255)
    channel: BotChannel = Field(
        default=BotChannel.telegram, sa_type=varchar_enum(BotChannel, 16), nullable=False
    )
    #: The assistant that answers this bot's conversations.
    assistant_id: uuid.UUID = Field(foreign_key="assistants.id")
    #: What /start says; None: the default greeting.
    greeting: Greeting | None = Field(default=None, sa_type=SAText)
    #: Telegram user ids allowed to talk to it; empty: everyone.
    allowed_user_ids: AllowedUsers = Field(
        default_factory=list, sa_column_kwargs={"nullable": False}, sa_type=JSONB
    )
    is_active: bool = True
    #: The Telegram group its conversations are handed to people in (decision 0052); None:
    #: no operators, the assistant says no one is available.
    operator_chat_id: OperatorChat | None = Field(default=None, sa_type=BigInteger)
    #: How long a handoff waits for an operator before the customer is told no one is free.
    operator_wait_minutes: WaitMinutes = Field(
        default=10, sa_column_kwargs={"server_default": "10"}
    )


class Bot(BotBase, TimestampMixin, table=True):
    __tablename__ = "bots"
    __table_args__ = (
        UniqueConstraint("name", name="uq_bots_name"),
        UniqueConstraint("telegram_bot_id", name="uq_bots_telegram_bot_id"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: From the token (`<bot id>:…`), so two rows never poll one bot.
    telegram_bot_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    #: The bot's @username, as tg_bot's getMe reports it (for mentions in groups).
    telegram_username: str | None = Field(default=None, max_length=64)
    #: Fernet token of the bot token (LLM_MODEL_DECRYPT_KEY); never leaves except via /token.
    token_encrypted: str | None = Field(default=None, sa_type=SAText)
    #: What an admin sees (`…abcd`), kept so a list never decrypts.
    token_masked: str | None = Field(default=None, max_length=32)


class BotCreate(BotBase):
    #: Write-only: the bot token (Telegram) or the channel's credentials.
    token: Token

    @field_validator("token")
    @classmethod
    def _telegram_token(cls, token: str, info: ValidationInfo) -> str:
        if info.data.get("channel") == BotChannel.telegram:
            telegram_bot_id(token)
        return token


class BotUpdate(SQLModel):
    name: Name | None = Field(default=None, max_length=255)
    assistant_id: uuid.UUID | None = None
    greeting: Greeting | None = None
    allowed_user_ids: AllowedUsers | None = None
    is_active: bool | None = None
    #: Write-only; a new token replaces the old one (a Telegram one names a new bot id).
    token: Token | None = None
    telegram_username: Annotated[str, PydanticField(pattern=r"^[A-Za-z0-9_]{5,64}$")] | None = None
    operator_chat_id: OperatorChat | None = None
    operator_wait_minutes: WaitMinutes | None = None


class BotPublic(BotBase):
    id: uuid.UUID
    telegram_bot_id: int | None
    telegram_username: str | None
    token_masked: str | None
    created_at: datetime
    updated_at: datetime


class BotToken(SQLModel):
    token: str


class BotUsername(SQLModel):
    """What tg_bot's getMe says the bot's @username is."""

    telegram_username: Annotated[str, PydanticField(pattern=r"^[A-Za-z0-9_]{5,64}$")]
