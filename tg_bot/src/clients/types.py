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


class TgContact(_TgObject):
    """A phone number shared in chat (Telegram's `Contact`): the sender's own when
    `user_id` is theirs, else someone else's card."""

    phone_number: str
    first_name: str = ""
    last_name: str | None = None
    user_id: int | None = None


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


class TgFileRef(_TgObject):
    """The part of Voice, Audio, PhotoSize and Document that fetching a file needs."""

    file_id: str
    file_unique_id: str = ""
    file_size: int | None = None
    #: Voice and Audio: seconds.
    duration: int | None = None
    mime_type: str | None = None
    file_name: str | None = None
    #: PhotoSize: pixels.
    width: int | None = None
    height: int | None = None


class TgFile(TgFileRef):
    """getFile's answer: the file's path under `{api_base}/file/bot<token>/`."""

    file_path: str | None = None


class TgMessage(_TgObject):
    message_id: int
    date: int
    chat: TgChat
    sender: TgUser | None = Field(default=None, alias="from")
    #: Forum topics: the topic the message is in (answers go there too).
    message_thread_id: int | None = None
    is_topic_message: bool = False
    #: Set on an edited message: when it was edited.
    edit_date: int | None = None
    #: The parts of one album share it.
    media_group_id: str | None = None
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
    #: The inline keyboard under a message of the bot's (a tapped button's message).
    reply_markup: Any = None

    def file(self, field: str) -> TgFileRef | None:
        """The voice, audio or document as a file reference (None when absent or unreadable)."""
        raw = getattr(self, field, None)
        if not isinstance(raw, dict) or not isinstance(raw.get("file_id"), str):
            return None
        try:
            return TgFileRef.model_validate(raw)
        except ValueError:
            return None

    @property
    def largest_photo(self) -> TgFileRef | None:
        """A photo comes in several sizes; the last is the largest."""
        if not isinstance(self.photo, list):
            return None
        sizes = [s for s in self.photo if isinstance(s, dict) and isinstance(s.get("file_id"), str)]
        try:
            return TgFileRef.model_validate(sizes[-1]) if sizes else None
        except ValueError:
            return None

    @property
    def shared_contact(self) -> TgContact | None:
        """The contact the message shares (None when absent or unreadable)."""
        if not isinstance(self.contact, dict):
            return None
        try:
            return TgContact.model_validate(self.contact)
        except ValueError:
            return None

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


class TgCallbackQuery(_TgObject):
    """A button under one of the bot's messages was tapped."""

    id: str
    sender: TgUser = Field(alias="from")
    #: The message the button was under (absent when too old for Telegram to say).
    message: TgMessage | None = None
    data: str | None = None
    chat_instance: str = ""


class TgUpdate(_TgObject):
    update_id: int
    message: TgMessage | None = None
    edited_message: TgMessage | None = None
    callback_query: TgCallbackQuery | None = None
    my_chat_member: TgChatMemberUpdated | None = None
