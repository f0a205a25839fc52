"""The parts of Bot API objects the bot reads; unknown fields are ignored, not rejected."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Content a message can carry instead of text; the bot names it when it cannot read it.
MEDIA_FIELDS = (
    "voice",
    "audio",
    "video_note",
    "video",
    "photo",
    "animation",
    "sticker",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


class _TgObject(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class TgUser(_TgObject):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TgChat(_TgObject):
    id: int
    type: str
    title: str | None = None
    username: str | None = None

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


class TgEntity(_TgObject):
    type: str
    offset: int
    length: int
    user: TgUser | None = None
    url: str | None = None


class TgMessage(_TgObject):
    message_id: int
    date: int
    chat: TgChat
    sender: TgUser | None = Field(default=None, alias="from")
    text: str | None = None
    entities: list[TgEntity] = []
    caption: str | None = None
    caption_entities: list[TgEntity] = []
    reply_to_message: TgMessage | None = None
    voice: Any = None
    audio: Any = None
    video_note: Any = None
    video: Any = None
    photo: Any = None
    animation: Any = None
    sticker: Any = None
    document: Any = None
    location: Any = None
    venue: Any = None
    contact: Any = None
    poll: Any = None
    dice: Any = None

    @property
    def media_kind(self) -> str | None:
        """What non-text content the message carries, if any."""
        return next((name for name in MEDIA_FIELDS if getattr(self, name) is not None), None)

    @property
    def body(self) -> str:
        """The words of the message: its text, or a media caption."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def body_entities(self) -> list[TgEntity]:
        return self.entities if self.text is not None else self.caption_entities


class TgChatMember(_TgObject):
    status: str
    user: TgUser


class TgChatMemberUpdated(_TgObject):
    chat: TgChat
    sender: TgUser = Field(alias="from")
    date: int
    old_chat_member: TgChatMember
    new_chat_member: TgChatMember


class TgUpdate(_TgObject):
    update_id: int
    message: TgMessage | None = None
    my_chat_member: TgChatMemberUpdated | None = None
