"""The Bot API client: python-telegram-bot's `Bot` (on aiohttp) behind our own interface.

Sending uses PTB's typed methods; getUpdates, getFile and `call` take the raw JSON, so
updates are read by our own tolerant models (`types`). Every failure becomes a type from
`errors`: PTB's request layer is ours (`transport`) and keeps what PTB's mapping drops (the
HTTP status, `error_code`, a 429 without parameters). Network errors and 5xx are retried under the
one retry policy (`common.infrastructure.retry`); PTB retries nothing. The token never appears in an
error or a log line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict, TypeVar, Unpack

import telegram
import telegram.error as ptb
from pydantic import ValidationError
from telegram.request import BaseRequest
from telegram.warnings import PTBDeprecationWarning

from common.infrastructure.logging import get_logger
from common.infrastructure.retry import RetryPolicy
from tg_bot.src.clients.errors import (
    TelegramBadRequest,
    TelegramConflict,
    TelegramError,
    TelegramForbidden,
    TelegramMigrateChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramParseError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from tg_bot.src.clients.transport import AiohttpRequest, Refused
from tg_bot.src.clients.types import TgFile, TgUpdate, TgUser

log = get_logger(__name__)
T = TypeVar("T")
Json = dict[str, Any]


class MediaOptions(TypedDict, total=False):
    """How a voice or a photo is sent: its caption (HTML unless `parse_mode` says otherwise)
    and where it goes."""

    caption: str | None
    parse_mode: str | None
    reply_markup: Json | None
    message_thread_id: int | None
    reply_to_message_id: int | None


_BY_STATUS: dict[int, type[TelegramError]] = {
    400: TelegramBadRequest,
    401: TelegramUnauthorized,
    403: TelegramForbidden,
    404: TelegramNotFound,
    409: TelegramConflict,
}
_NO_PREVIEW = telegram.LinkPreviewOptions(is_disabled=True)
#: Loggers whose lines below WARNING carry a URL or a message's text: PTB's (the API URL,
#: with the token) and httpx's request lines (PTB's own transport, installed with it, though
#: ours replaces it: a call that ever went through it would log the token).
_URL_LOGGERS = ("telegram", "httpx")


class _Bot(telegram.Bot):
    async def raw(self, method: str, params: Json, read_timeout: float | None = None) -> Any:
        """A call whose answer we read ourselves (PTB's `do_api_request` warns for methods
        it knows, and getUpdates must stay tolerant of updates PTB's models would refuse)."""
        timeout = BaseRequest.DEFAULT_NONE if read_timeout is None else read_timeout
        return await self._post(method, dict(params), read_timeout=timeout)


class TelegramClient:
    def __init__(
        self,
        api_base: str,
        token: str,
        *,
        request_timeout: float = 10.0,
        retries: int = 2,
        retry_backoff_s: float = 0.5,
        max_connections: int = 100,
        file_timeout: float = 60.0,
    ) -> None:
        for name in _URL_LOGGERS:
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.root.level))
        base = api_base.rstrip("/")
        self._token = token
        self._timeout = request_timeout
        self._file_timeout = file_timeout
        self._file_url = f"{base}/file/bot{token}/"
        self._retry = RetryPolicy(retries, retry_backoff_s)
        self._request = _request(request_timeout, max_connections)
        self._polling = _request(request_timeout, 4)
        self._bot = _Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=self._request,
            get_updates_request=self._polling,
        )
        self._open = False

    async def __aenter__(self) -> TelegramClient:
        await self._request.initialize()
        await self._polling.initialize()
        self._open = True
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._open = False
        await self._request.shutdown()
        await self._polling.shutdown()

    # -- receiving ---------------------------------------------------------------------------

    async def get_me(self) -> TgUser:
        me = await self._run("getMe", self._bot.get_me)
        if not isinstance(me, telegram.User):
            raise TelegramError("getMe", "the answer is not a User", 200)
        return TgUser.model_validate(me.to_dict())

    async def get_updates(
        self, offset: int | None, timeout: int, limit: int, allowed_updates: list[str]
    ) -> list[TgUpdate]:
        """One long poll; no retries here, the poller owns the backoff."""
        result = await self.call(
            "getUpdates",
            {
                "offset": offset,
                "timeout": timeout,
                "limit": limit,
                "allowed_updates": allowed_updates,
            },
            timeout=timeout + self._timeout,
            retries=0,
        )
        if not isinstance(result, list):
            raise TelegramError("getUpdates", "the result is not a list of updates", 200)
        return [_update(raw) for raw in result]

    async def set_webhook(self, url: str, secret_token: str, allowed_updates: list[str]) -> None:
        await self._run(
            "setWebhook",
            lambda: self._bot.set_webhook(
                url, secret_token=secret_token, allowed_updates=allowed_updates
            ),
        )

    async def delete_webhook(self) -> None:
        await self._run("deleteWebhook", self._bot.delete_webhook)

    async def get_webhook_info(self) -> Json:
        info = await self._run("getWebhookInfo", self._bot.get_webhook_info)
        if not isinstance(info, telegram.WebhookInfo):
            raise TelegramError("getWebhookInfo", "the answer is not a WebhookInfo", 200)
        return info.to_dict()

    # -- files -------------------------------------------------------------------------------

    async def get_file(self, file_id: str) -> TgFile:
        """The file's size and `file_path` (relative: it never carries the token)."""
        raw = await self.call("getFile", {"file_id": file_id})
        try:
            return TgFile.model_validate(raw)
        except ValidationError:
            raise TelegramError("getFile", "the answer is not a File", 200) from None

    async def download_file(self, file_path: str) -> bytes:
        url = self._file_url + file_path.lstrip("/")
        return await self._run(
            "download",
            lambda: self._request.retrieve(url, read_timeout=self._file_timeout),
        )

    # -- sending -----------------------------------------------------------------------------

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_to_message_id: int | None = None,
        reply_markup: Json | None = None,
        message_thread_id: int | None = None,
    ) -> Json:
        sent = await self._run(
            "sendMessage",
            lambda: self._bot.send_message(
                chat_id,
                text,
                parse_mode=parse_mode,
                reply_parameters=_reply(reply_to_message_id),
                reply_markup=self._markup(reply_markup),
                message_thread_id=message_thread_id,
                link_preview_options=_NO_PREVIEW,
            ),
        )
        return _message("sendMessage", sent)

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: Json | None = None,
    ) -> Json:
        edited = await self._run(
            "editMessageText",
            lambda: self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=parse_mode,
                reply_markup=self._inline(reply_markup),
                link_preview_options=_NO_PREVIEW,
            ),
        )
        return _message("editMessageText", edited)

    async def edit_message_reply_markup(
        self, chat_id: int, message_id: int, reply_markup: Json | None = None
    ) -> None:
        await self._run(
            "editMessageReplyMarkup",
            lambda: self._bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=self._inline(reply_markup)
            ),
        )

    async def answer_callback_query(
        self, callback_query_id: str, text: str | None = None, show_alert: bool = False
    ) -> None:
        await self._run(
            "answerCallbackQuery",
            lambda: self._bot.answer_callback_query(
                callback_query_id, text=text, show_alert=show_alert
            ),
        )

    async def send_message_draft(
        self,
        chat_id: int,
        draft_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        message_thread_id: int | None = None,
    ) -> None:
        """Best effort and not retried: the next draft replaces this one anyway."""
        await self._run(
            "sendMessageDraft",
            lambda: self._bot.send_message_draft(
                chat_id,
                draft_id,
                text,
                parse_mode=parse_mode,
                message_thread_id=message_thread_id,
            ),
            retries=0,
        )

    async def send_voice(self, chat_id: int, voice: bytes, **options: Unpack[MediaOptions]) -> Json:
        file = telegram.InputFile(voice, filename="voice.ogg")
        return await self._send_media("sendVoice", self._bot.send_voice, chat_id, file, options)

    async def send_photo(self, chat_id: int, photo: bytes, **options: Unpack[MediaOptions]) -> Json:
        file = telegram.InputFile(photo, filename="picture.png")
        return await self._send_media("sendPhoto", self._bot.send_photo, chat_id, file, options)

    async def _send_media(
        self,
        method: str,
        send: Callable[..., Awaitable[telegram.Message]],
        chat_id: int,
        file: telegram.InputFile,
        options: MediaOptions,
    ) -> Json:
        """A file uploaded (multipart) with its caption in `parse_mode` (HTML by default)."""
        caption = options.get("caption")
        sent = await self._run(
            method,
            lambda: send(
                chat_id,
                file,
                caption=caption,
                parse_mode=options.get("parse_mode", "HTML") if caption else None,
                reply_parameters=_reply(options.get("reply_to_message_id")),
                reply_markup=self._markup(options.get("reply_markup")),
                message_thread_id=options.get("message_thread_id"),
            ),
        )
        return _message(method, sent)

    async def send_chat_action(self, chat_id: int, action: str = "typing") -> None:
        await self._run(
            "sendChatAction", lambda: self._bot.send_chat_action(chat_id, action), retries=0
        )

    async def set_my_commands(
        self, commands: list[dict[str, str]], language_code: str | None = None
    ) -> None:
        listed = [telegram.BotCommand(c["command"], c["description"]) for c in commands]
        await self._run(
            "setMyCommands",
            lambda: self._bot.set_my_commands(listed, language_code=language_code),
        )

    # -- the transport -----------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Json | None = None,
        *,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> Any:
        """Any Bot API method by name, its raw JSON result; typed errors as everywhere."""
        body = params or {}
        return await self._run(
            method, lambda: self._bot.raw(method, body, timeout or self._timeout), retries=retries
        )

    async def _run(
        self, method: str, call: Callable[[], Awaitable[T]], *, retries: int | None = None
    ) -> T:
        """Call once or more: network errors and 5xx are retried; errors come out typed."""
        policy = (
            self._retry if retries is None else dataclasses.replace(self._retry, retries=retries)
        )
        return await policy.run(
            lambda: self._once(method, call),
            retry_exception=_worth_retrying,
            name=f"telegram {method}",
        )

    async def _once(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        if not self._open:
            raise RuntimeError("TelegramClient used outside `async with`")
        try:
            return await call()
        except ptb.TelegramError as exc:
            raise typed_error(method, exc, self._token) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # an odd `result`
            raise TelegramError(method, f"unreadable answer ({type(exc).__name__})", 200) from None

    def _inline(self, markup: Json | None) -> telegram.InlineKeyboardMarkup | None:
        """An edit carries inline buttons only (the Bot API's rule)."""
        return None if not markup else telegram.InlineKeyboardMarkup.de_json(markup, self._bot)

    def _markup(
        self, markup: Json | None
    ) -> telegram.InlineKeyboardMarkup | telegram.ReplyKeyboardMarkup | None:
        """The Bot API JSON shape (`domain.keyboards`) as PTB's object: the inline keyboard,
        or the reply keyboard that asks for the phone number."""
        if not markup:
            return None
        if "keyboard" in markup:
            return telegram.ReplyKeyboardMarkup.de_json(markup, self._bot)
        return self._inline(markup)


def _request(timeout: float, connections: int) -> AiohttpRequest:
    return AiohttpRequest(
        connections=connections, timeout=timeout, media_write_timeout=max(timeout, 20.0)
    )


def _reply(message_id: int | None) -> telegram.ReplyParameters | None:
    if message_id is None:
        return None
    return telegram.ReplyParameters(message_id, allow_sending_without_reply=True)


def _message(method: str, found: object) -> Json:
    """The sent or edited Message as the Bot API's dict."""
    if not isinstance(found, telegram.Message):
        raise TelegramError(method, "the answer is not a Message", 200)
    return found.to_dict()


def _worth_retrying(ending: object) -> bool:
    return isinstance(ending, TelegramNetworkError | TelegramServerError)


def _update(raw: Any) -> TgUpdate:
    """An update as the bot reads it; one it cannot read becomes a bare update (ignored,
    but its offset still moves on) instead of stopping the poll."""
    if not isinstance(raw, dict) or _int(raw.get("update_id")) is None:
        raise TelegramError("getUpdates", "an update without an update_id", 200)
    try:
        return TgUpdate.model_validate(raw)
    except ValidationError as exc:
        log.warning("update_unreadable", update_id=raw.get("update_id"), error=str(exc)[:500])
        return TgUpdate(update_id=int(raw["update_id"]))


def typed_error(method: str, exc: ptb.TelegramError, token: str = "") -> TelegramError:
    """PTB's error as ours. Ours keep the HTTP status; PTB's own types (raised where no
    HTTP answer was read) are mapped by kind."""
    if isinstance(exc, Refused):
        return error_from_answer(method, exc.status, exc.payload)
    text = exc.message.replace(token, "***") if token else exc.message
    if isinstance(exc, ptb.RetryAfter):
        with warnings.catch_warnings(action="ignore", category=PTBDeprecationWarning):
            retry_after = exc.retry_after  # an int now, a timedelta in PTB 23: both read
        return TelegramRetryAfter(method, text, _seconds(retry_after))
    if isinstance(exc, ptb.ChatMigrated):
        return TelegramMigrateChat(method, text, int(exc.new_chat_id))
    if isinstance(exc, ptb.BadRequest):  # before NetworkError: PTB derives it from that
        kind = TelegramParseError if "can't parse entities" in text.lower() else TelegramBadRequest
        return kind(method, text, 400)
    if isinstance(exc, ptb.NetworkError):  # TimedOut included
        return TelegramNetworkError(method, text)
    if isinstance(exc, ptb.Forbidden):
        return TelegramForbidden(method, text, 403)
    if isinstance(exc, ptb.EndPointNotFound):
        return TelegramNotFound(method, text, 404)
    if isinstance(exc, ptb.InvalidToken):
        return TelegramUnauthorized(method, text, 401)
    if isinstance(exc, ptb.Conflict):
        return TelegramConflict(method, text, 409)
    return TelegramError(method, text)


def error_from_answer(method: str, status: int, payload: Any) -> TelegramError:
    """The error for an HTTP answer that is not a success, read as Telegram writes it:
    `error_code`, `description` and `parameters` (retry_after, migrate_to_chat_id)."""
    if not isinstance(payload, dict):
        if status >= 500 or status == 0:
            return TelegramServerError(method, f"HTTP {status} without a Bot API body", status)
        kind = _BY_STATUS.get(status, TelegramError)
        return kind(method, f"HTTP {status} without a Bot API body", status)
    code = _int(payload.get("error_code"))
    code = code if code is not None and 400 <= code <= 599 else status
    description = str(payload.get("description") or f"HTTP {code}")
    parameters = payload.get("parameters")
    parameters = parameters if isinstance(parameters, dict) else {}
    if code == 429 or "retry_after" in parameters:
        return TelegramRetryAfter(method, description, _seconds(parameters.get("retry_after")))
    new_chat_id = _int(parameters.get("migrate_to_chat_id"))
    if new_chat_id:
        return TelegramMigrateChat(method, description, new_chat_id)
    if code == 400 and "can't parse entities" in description.lower():
        return TelegramParseError(method, description)
    if code >= 500:
        return TelegramServerError(method, description, code)
    return _BY_STATUS.get(code, TelegramError)(method, description, code)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _seconds(value: Any) -> float:
    """retry_after as seconds: a number, or a timedelta from PTB; 1 when unreadable."""
    if isinstance(value, dt.timedelta):
        return max(value.total_seconds(), 0.0)
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return 1.0
    return seconds if 0 <= seconds < 86_400 else 1.0
