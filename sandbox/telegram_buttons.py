"""Inline keyboards in the Telegram stand-in: `reply_markup` checked and kept on the messages
the bot sends, `editMessageReplyMarkup`, `answerCallbackQuery`, and a person's press of a
kept button injected as the callback_query update Telegram would send.

Checked as the Bot API documents them: rows of buttons, each with a 1-64 byte
`callback_data` or a `url`; a callback query is answered at most once, with at most 200
characters; a markup edit that changes nothing is a 400 "message is not modified".
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox import telegram_updates as build
from sandbox.telegram_errors import BotApiError

if TYPE_CHECKING:
    from sandbox.telegram_api import SentMessage, TelegramStandIn

Json = dict[str, Any]

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MAX_ANSWER = 200


def inline_keyboard(raw: Any) -> Json | None:
    """`reply_markup` as sent (a JSON string in a form, an object in JSON), checked; None
    when absent. Only inline keyboards: what this bot sends."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BotApiError(
                400, "Bad Request: can't parse reply keyboard markup JSON object"
            ) from None
    rows = raw.get("inline_keyboard") if isinstance(raw, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise BotApiError(400, "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup "
                       "should be an Array of Arrays")  # fmt: skip
    return {"inline_keyboard": [[_button(b) for b in row] for row in rows]}


def sent_keyboard(raw: Any) -> Json | None:
    """`reply_markup` of a sent message: an inline keyboard, or a reply keyboard (buttons in
    place of the keyboard; `request_contact` asks for the phone number). An edit takes
    inline keyboards only, as on Telegram."""
    parsed = json.loads(raw) if isinstance(raw, str) and raw.startswith("{") else raw
    if not isinstance(parsed, dict) or "keyboard" not in parsed:
        return inline_keyboard(raw)
    rows = parsed["keyboard"]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, list) for r in rows):
        raise BotApiError(400, 'Bad Request: field "keyboard" of the ReplyKeyboardMarkup '
                       "should be an Array of Arrays")  # fmt: skip
    buttons = [[_reply_button(b) for b in row] for row in rows]
    flags = {k: bool(parsed[k]) for k in ("one_time_keyboard", "resize_keyboard") if k in parsed}
    return {"keyboard": buttons, **flags}


def _reply_button(raw: Any) -> Json:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not raw["text"]:
        raise BotApiError(400, "Bad Request: can't parse keyboard button: Text must be non-empty")
    return {
        "text": raw["text"],
        **({"request_contact": True} if raw.get("request_contact") else {}),
    }


def _button(raw: Any) -> Json:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str) or not raw["text"]:
        raise BotApiError(
            400, "Bad Request: can't parse inline keyboard button: Text must be non-empty"
        )
    data, url = raw.get("callback_data"), raw.get("url")
    if data is not None:
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return {"text": raw["text"], "callback_data": data}
    if isinstance(url, str) and url.startswith(("http://", "https://", "tg://")):
        return {"text": raw["text"], "url": url}
    raise BotApiError(400, "Bad Request: can't parse inline keyboard button: "
                   "InlineKeyboardButton must have exactly one optional field")  # fmt: skip


@dataclass
class MarkupEdit:
    chat_id: int
    message_id: int
    reply_markup: Json | None
    at: float


@dataclass
class Buttons:
    api: TelegramStandIn
    #: Every answerCallbackQuery accepted: {"id"/"callback_query_id", "text", "show_alert"}.
    answers: list[Json] = field(default_factory=list)
    markup_edits: list[MarkupEdit] = field(default_factory=list)

    def methods(self) -> dict[str, Any]:
        return {
            "answercallbackquery": self._answer_callback_query,
            "editmessagereplymarkup": self._edit_message_reply_markup,
        }

    def reset(self) -> None:
        self.answers.clear()
        self.markup_edits.clear()

    def press(
        self,
        chat_id: int,
        message_id: int,
        button: str,
        *,
        sender: Json | None = None,
    ) -> str:
        """A person taps the button under a message the bot sent (matched by its callback
        data, else by a part of its label): the callback_query update is injected. Returns
        the query's id, to find how the bot answered it in `answers`."""
        message = self.message(chat_id, message_id)
        data = self._data_of(message, button)
        query_id = uuid.uuid4().hex
        person = sender or build.user(chat_id if chat_id > 0 else 1001, "Anna")
        query = {
            "id": query_id,
            "from": person,
            "message": message.as_message(self.api.bot),
            "data": data,
            "chat_instance": str(chat_id),
        }
        self.api.inject({"callback_query": query}, unfiltered=True)
        return query_id

    def answer_to(self, query_id: str) -> Json | None:
        return next((a for a in self.answers if a["id"] == query_id), None)

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        found = next(
            (m for m in self.api.sent if m.chat_id == chat_id and m.message_id == message_id),
            None,
        )
        if found is None:
            raise LookupError(f"no message {message_id} sent to chat {chat_id}")
        return found

    @staticmethod
    def _data_of(message: SentMessage, button: str) -> str:
        buttons = [
            b for row in (message.reply_markup or {}).get("inline_keyboard", []) for b in row
        ]
        for wanted in (lambda b: b.get("callback_data") == button,
                       lambda b: button in b["text"]):  # fmt: skip
            found = [b for b in buttons if "callback_data" in b and wanted(b)]
            if found:
                return str(found[0]["callback_data"])
        raise LookupError(f"no button {button!r} under message {message.message_id}: {buttons}")

    # -- Bot API methods -----------------------------------------------------------------------

    async def _answer_callback_query(self, params: Json) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id or self.answer_to(query_id) is not None:
            raise BotApiError(400, QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(str(text)) > MAX_ANSWER:
            raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        show_alert = str(params.get("show_alert", "")).lower() in ("true", "1")
        self.answers.append(
            {"id": query_id, "callback_query_id": query_id, "text": text,
             "show_alert": show_alert, "at": time.monotonic()}
        )  # fmt: skip
        return True

    async def _edit_message_reply_markup(self, params: Json) -> Json:
        chat_id = self.api._chat_id(params)
        try:
            found = self.message(chat_id, int(params.get("message_id") or 0))
        except (LookupError, ValueError):
            raise BotApiError(400, "Bad Request: message to edit not found") from None
        markup = inline_keyboard(params.get("reply_markup"))
        if markup == found.reply_markup:
            raise BotApiError(400, NOT_MODIFIED)
        found.reply_markup = markup
        self.markup_edits.append(MarkupEdit(chat_id, found.message_id, markup, time.monotonic()))
        message = found.as_message(self.api.bot)
        message["edit_date"] = int(time.time())
        return message
