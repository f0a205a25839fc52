"""Live answers in the Telegram stand-in: `sendMessageDraft`, `editMessageText` and
`deleteMessage`, checked as the Bot API documents them.

`sendMessageDraft` (Bot API 9.x) is for private chats only, with a non-zero `draft_id` and
0-4096 characters of text (HTML checked like `sendMessage`); every draft is recorded in
`drafts`. `editMessageText` changes a message the bot sent in that chat (400 when there is
none, or when the text would not change: "message is not modified"); the message in `sent`
takes the new text, and the edit is recorded in `edits`, so a test sees both what a reader
sees now and every call that counts against Telegram's limits. `deleteMessage` records the
deletion in `deleted`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.telegram_buttons import inline_keyboard
from sandbox.telegram_errors import BotApiError, int_or_none
from sandbox.telegram_html import utf16_len

if TYPE_CHECKING:
    from sandbox.telegram_api import TelegramStandIn

Json = dict[str, Any]

MAX_TEXT = 4096
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass
class Draft:
    chat_id: int
    draft_id: int
    text: str
    html: str
    parse_mode: str | None
    message_thread_id: int | None
    at: float  # time.monotonic() of acceptance


@dataclass
class Edit:
    chat_id: int
    message_id: int
    text: str
    html: str
    parse_mode: str | None
    at: float  # time.monotonic() of acceptance


@dataclass
class LiveMessages:
    api: TelegramStandIn
    drafts: list[Draft] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    deleted: list[tuple[int, int]] = field(default_factory=list)

    def methods(self) -> dict[str, Any]:
        return {
            "sendmessagedraft": self._send_message_draft,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
        }

    def reset(self) -> None:
        self.drafts.clear()
        self.edits.clear()
        self.deleted.clear()

    def drafts_to(self, chat_id: int) -> list[Draft]:
        return [d for d in self.drafts if d.chat_id == chat_id]

    def edits_in(self, chat_id: int) -> list[Edit]:
        return [e for e in self.edits if e.chat_id == chat_id]

    # -- Bot API methods -----------------------------------------------------------------------

    async def _send_message_draft(self, params: Json) -> bool:
        chat_id = self.api._chat_id(params)
        if chat_id <= 0:
            raise BotApiError(400, "Bad Request: drafts can be sent only to private chats")
        draft_id = int_or_none(params.get("draft_id"))
        if not draft_id:
            raise BotApiError(400, "Bad Request: draft_id must be non-zero")
        source = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        text, _entities = self.api._parse(source, parse_mode)
        if utf16_len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: text is too long")
        thread = int_or_none(params.get("message_thread_id"))
        self.drafts.append(
            Draft(chat_id, draft_id, text, source, parse_mode, thread, time.monotonic())
        )
        return True

    async def _edit_message_text(self, params: Json) -> Json:
        chat_id = self.api._chat_id(params)
        message_id = int_or_none(params.get("message_id"))
        found = next(
            (m for m in self.api.sent if m.chat_id == chat_id and m.message_id == message_id),
            None,
        )
        if found is None or (chat_id, message_id) in self.deleted:
            raise BotApiError(400, "Bad Request: message to edit not found")
        source = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        text, entities = self.api._parse(source, parse_mode)
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = inline_keyboard(params.get("reply_markup"))  # none given: the keyboard goes
        if text == found.text and entities == found.entities and markup == found.reply_markup:
            raise BotApiError(400, NOT_MODIFIED)
        found.reply_markup = markup
        found.text, found.html, found.parse_mode, found.entities = (
            text,
            source,
            parse_mode,
            entities,
        )
        self.edits.append(
            Edit(chat_id, found.message_id, text, source, parse_mode, time.monotonic())
        )
        message = found.as_message(self.api.bot)
        message["edit_date"] = int(time.time())
        return message

    async def _delete_message(self, params: Json) -> bool:
        chat_id = self.api._chat_id(params)
        message_id = int_or_none(params.get("message_id"))
        if message_id is None or not any(
            m.chat_id == chat_id and m.message_id == message_id for m in self.api.sent
        ):
            raise BotApiError(400, "Bad Request: message to delete not found")
        self.deleted.append((chat_id, message_id))
        return True
