"""A local Telegram Bot API server for tests, the demo and the benchmark.

Bot API (`/bot<token>/<method>`, JSON, form or query parameters): `getMe`, `getUpdates`
(long poll; offset, limit, timeout and allowed_updates as the Bot API documents them, and a
409 when a second poller takes over, or while a webhook is set), `setWebhook`,
`deleteWebhook`, `getWebhookInfo` (delivery to the bot's URL: sandbox/telegram_webhook.py),
`sendMessage` (HTML checked like Telegram: malformed
markup is a 400), `sendChatAction`, `setMyCommands`, `getMyCommands`; `sendMessageDraft`,
`editMessageText`, `deleteMessage` (sandbox/telegram_live.py); inline keyboards,
`editMessageReplyMarkup`, `answerCallbackQuery` and button presses (sandbox/telegram_buttons.py);
`getFile`, file downloads, `sendVoice` and `sendPhoto` (sandbox/telegram_files.py). Sends, edits
and drafts are timed against Telegram's limits and violations counted (sandbox/telegram_limits.py).

Control API (`/control/...`, JSON) and the same operations in-process on `TelegramStandIn`:
inject updates (raw, or built by `sandbox.telegram_updates`), read what the bot sent and
the chat actions it showed (with timestamps), force errors (429 with retry_after, 5xx, 403,
timeouts) for a method and optionally one chat, block a chat (403 until unblocked), restart
the update_id sequence (as Telegram does after a week without updates, or for a new token).

Updates are served as Telegram serves them: JSON with non-ASCII escaped, so text with a lone
surrogate (which JSON can carry as "\\ud800" and UTF-8 cannot) reaches the bot as it would.

    python -m sandbox.telegram_api --port 8081 --token 123456:TEST-token
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from sandbox import telegram_updates as build
from sandbox.telegram_buttons import Buttons, sent_keyboard
from sandbox.telegram_errors import BotApiError
from sandbox.telegram_errors import int_or_none as _int_or_none
from sandbox.telegram_files import Files
from sandbox.telegram_html import HtmlParseError, parse_html, utf16_len
from sandbox.telegram_limits import RateWatch
from sandbox.telegram_live import LiveMessages
from sandbox.telegram_webhook import WebhookDelivery

Json = dict[str, Any]

MAX_TEXT = 4096
#: Update types delivered when getUpdates has not been told otherwise (the Bot API's default).
DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
_COMMAND_NAME = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    text: str
    html: str
    parse_mode: str | None
    entities: list[Json]
    reply_to_message_id: int | None
    at: float  # time.monotonic() of acceptance
    wall: float  # time.time() of acceptance
    #: The forum topic it was sent into.
    message_thread_id: int | None = None
    #: The inline keyboard under the message now (`{"inline_keyboard": [[...]]}`), or the
    #: reply keyboard it was sent with (`{"keyboard": [[...]], ...}`).
    reply_markup: Json | None = None
    #: A voice message: its audio (`text` is then the caption).
    voice: bytes | None = None
    voice_file_id: str | None = None
    #: A photo: the picture uploaded (`text` is then the caption).
    photo: bytes | None = None
    photo_file_id: str | None = None

    def as_message(self, bot: Json) -> Json:
        """The Bot API Message object, e.g. to build a user's reply to it."""
        found: Json = {
            "message_id": self.message_id,
            "from": bot,
            "chat": {"id": self.chat_id, "type": "private" if self.chat_id > 0 else "supergroup"},
            "date": int(self.wall),
        }
        if self.voice is not None:
            found["voice"] = {"file_id": self.voice_file_id or "", "duration": 1,
                              "file_unique_id": (self.voice_file_id or "")[-16:],
                              "mime_type": "audio/ogg", "file_size": len(self.voice)}  # fmt: skip
            self._caption(found)
        elif self.photo is not None:
            file_id = self.photo_file_id or ""
            found["photo"] = [{"file_id": file_id, "file_unique_id": file_id[-16:],
                               "width": 1, "height": 1, "file_size": len(self.photo)}]  # fmt: skip
            self._caption(found)
        else:
            found["text"] = self.text
            if self.entities:
                found["entities"] = self.entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            # a Message shows its inline keyboard only: a reply keyboard is not part of it
            found["reply_markup"] = self.reply_markup
        if self.message_thread_id is not None:
            found["message_thread_id"] = self.message_thread_id
            found["is_topic_message"] = True
        return found

    def _caption(self, found: Json) -> None:
        if self.text:
            found["caption"] = self.text
        if self.entities:
            found["caption_entities"] = self.entities

    def as_record(self) -> Json:
        """For the control API: the voice's and the photo's sizes instead of their bytes."""
        record = asdict(self)
        record["voice"] = None if self.voice is None else len(self.voice)
        record["photo"] = None if self.photo is None else len(self.photo)
        return record


@dataclass
class ChatAction:
    chat_id: int
    action: str
    at: float
    wall: float


@dataclass
class ForcedError:
    """The next `times` calls of `method` (to `chat_id`, if set) fail this way.

    `delay` hangs the call first (beyond the client's timeout it is a timeout); then `status`
    answers it: 429 (with `retry_after`), 403, any other 4xx/5xx, or 0 to carry on and
    handle the call normally after all (a slow Telegram that did send the message)."""

    method: str
    status: int = 500
    description: str = ""
    retry_after: float | None = None
    delay: float = 0.0  # seconds to hang before answering (a timeout when > client timeout)
    chat_id: int | None = None
    times: int = 1
    after: int = 0  # matching calls let through before the failures start

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (
            self.times > 0
            and self.method == method
            and (self.chat_id is None or self.chat_id == chat_id)
        )

    def take(self) -> bool:
        """Count one matching call; True when this one fails."""
        if self.after > 0:
            self.after -= 1
            return False
        self.times -= 1
        return True


@dataclass
class Rejection:
    """A call the stand-in answered with an error (forced or not)."""

    method: str
    chat_id: int | None
    status: int
    description: str
    at: float


@dataclass
class PollRecord:
    offset: int | None
    returned: list[int]
    at: float


@dataclass
class _Poller:
    token: object = field(default_factory=object)


class TelegramStandIn:
    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "smart_assistant_test_bot",
        bot_name: str = "Smart Assistant",
        latency: float = 0.0,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.latency = latency
        #: When a send or a refusal is recorded (`at`): a test may set its own clock.
        self.clock: Callable[[], float] = time.monotonic
        self.updates: list[Json] = []  # not yet confirmed
        self.sent: list[SentMessage] = []
        self.actions: list[ChatAction] = []
        self.commands: dict[str, list[Json]] = {}
        self.polls: list[PollRecord] = []
        self.rejected: list[Rejection] = []
        self.forced: list[ForcedError] = []
        self.blocked_chats: set[int] = set()
        self.calls: dict[str, int] = {}
        self._next_update_id = 100_000
        self._message_ids: dict[int, int] = {}
        self._allowed: set[str] | None = None
        self._changed = asyncio.Event()
        self._poller: _Poller | None = None
        #: Set by `stop`: a long poll still open answers at once instead of at its timeout.
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.webhook = WebhookDelivery(self)
        self.live = LiveMessages(self)
        self.buttons = Buttons(self)
        self.files = Files(self)
        self.rates = RateWatch()
        #: getUpdates calls open right now (0: nobody polls this bot).
        self.polling = 0
        #: Other bots this server answers for (`add_bot`), by token.
        self.others: dict[str, TelegramStandIn] = {}
        self.app = self._make_app()

    # -- in-process API ----------------------------------------------------------------------

    @property
    def bot(self) -> Json:
        return build.user(
            self.bot_id, self.bot_name, username=self.bot_username, language_code=None,
            is_bot=True,
        )  # fmt: skip

    def inject(self, update: Json, *, unfiltered: bool = False) -> int:
        """Queue an update (ids and dates filled in); returns its update_id, or -1 when
        the bot's allowed_updates filter drops it (`unfiltered`: delivered all the same, as
        a kind the bot did not ask for may still come)."""
        update = json.loads(json.dumps(update))
        kind = next(k for k in update if k != "update_id")
        if not unfiltered and not self._is_allowed(kind):
            return -1
        body = update[kind]
        body.setdefault("date", int(time.time()))
        if "chat" in body and "message_id" not in body and kind.endswith(("message", "post")):
            body["message_id"] = self._next_message_id(int(body["chat"]["id"]))
        self._next_update_id += 1
        update["update_id"] = self._next_update_id
        self.updates.append(update)
        self._wake()
        return self._next_update_id

    def add_bot(
        self, token: str, *, bot_username: str, bot_name: str = "Another bot"
    ) -> TelegramStandIn:
        """Another bot on this server (`/bot<token>/...`, as Telegram serves every bot): a
        stand-in of its own (its updates, sends, chat actions, webhook), driven in-process.
        Its file downloads and the control API stay this bot's."""
        other = TelegramStandIn(token, bot_username=bot_username, bot_name=bot_name)
        other.url = self.url
        other.clock = self.clock
        self.others[token] = other
        return other

    def restart_update_ids(self, next_id: int) -> None:
        """The next update gets `next_id` (lower than before, say), as when Telegram picks
        the next id at random after a week without updates."""
        self._next_update_id = next_id - 1

    @property
    def callback_answers(self) -> list[Json]:
        """Every answerCallbackQuery accepted (`buttons.answers`)."""
        return self.buttons.answers

    def press(self, chat_id: int, message_id: int, button: str, **how: Any) -> str:
        """A person taps a button under a sent message (`Buttons.press`); the query id."""
        return self.buttons.press(chat_id, message_id, button, **how)

    def register_file(self, data: bytes, **how: Any) -> Json:
        """Bytes a person sent, as Telegram holds them (`Files.register`): the File object."""
        return self.files.register(data, **how)

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def actions_in(self, chat_id: int) -> list[ChatAction]:
        return [a for a in self.actions if a.chat_id == chat_id]

    def fail(self, method: str, **how: Any) -> ForcedError:
        """Force errors: `fail("sendMessage", status=429, retry_after=2, chat_id=5)`."""
        forced = ForcedError(method, **how)
        self.forced.append(forced)
        return forced

    def reset(self) -> None:
        self.updates.clear()
        self.sent.clear()
        self.actions.clear()
        self.polls.clear()
        self.rejected.clear()
        self.forced.clear()
        self.blocked_chats.clear()
        self.calls.clear()
        self.live.reset()
        self.buttons.reset()
        self.files.reset()
        self.rates.reset()

    async def wait_sent(
        self, count: int, chat_id: int | None = None, timeout: float = 10
    ) -> list[SentMessage]:
        """Wait until at least `count` messages went to `chat_id` (or anywhere)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sent if chat_id is None else self.sent_to(chat_id)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} messages sent in {timeout}s")
            await asyncio.sleep(0.02)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._stopping = False
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"
        for other in self.others.values():
            other.url = self.url
        return self.url

    async def stop(self) -> None:
        for other in self.others.values():
            await other.stop()
        self._stopping = True
        self._wake()
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.asynccontextmanager
    async def running(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> AsyncIterator[TelegramStandIn]:
        await self.start(host, port)
        try:
            yield self
        finally:
            await self.stop()

    # -- Bot API -----------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._bot_api)
        app.router.add_post("/control/updates", self._control_inject)
        app.router.add_get("/control/sent", self._control_sent)
        app.router.add_get("/control/actions", self._control_actions)
        app.router.add_get("/control/commands", self._control_commands)
        app.router.add_get("/control/polls", self._control_polls)
        app.router.add_get("/control/rejected", self._control_rejected)
        app.router.add_post("/control/errors", self._control_errors)
        app.router.add_post("/control/blocked", self._control_blocked)
        app.router.add_post("/control/reset", self._control_reset)
        app.router.add_post("/control/update_ids", self._control_update_ids)
        app.router.add_post("/control/press", self._control_press)
        app.router.add_post("/control/files", self._control_files)
        app.router.add_get("/control/violations", self._control_violations)
        app.router.add_post("/control/limits", self._control_limits)
        self.files.routes(app)
        return app

    async def _bot_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        other = self.others.get(request.match_info["token"])
        if other is not None:
            return await other._bot_api(request)
        if request.match_info["token"] != self.token:
            return _error(BotApiError(401, "Unauthorized"))
        handler = self._methods().get(method.lower())
        if handler is None:
            return _error(BotApiError(404, "Not Found: method not found"))
        self.calls[method] = self.calls.get(method, 0) + 1
        params: Json = {}
        try:
            params = await _params(request)
            await self._forced_error(method, params)
            if self.latency and method != "getUpdates":
                await asyncio.sleep(self.latency)
            watched = self._watched(method, params)
            result = await handler(params)
            if watched is not None:
                self.rates.record(method, watched)
        except BotApiError as exc:
            chat_id = _int_or_none(params.get("chat_id"))
            self.rejected.append(
                Rejection(method, chat_id, exc.status, exc.description, self.clock())
            )
            return _error(exc)
        return web.json_response({"ok": True, "result": result})

    def _methods(self) -> dict[str, Any]:
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            **self.webhook.methods(),
            **self.live.methods(),
            **self.buttons.methods(),
            **self.files.methods(),
        }

    def _watched(self, method: str, params: Json) -> int | None:
        """The chat a send, edit or draft counts against (None for other calls); over a
        limit with `rates.enforce` it is refused with a 429, as Telegram does."""
        chat_id = _int_or_none(params.get("chat_id"))
        if chat_id is None or not self.rates.counts(method):
            return None
        if self.rates.enforce and self.rates.wait_needed(method, chat_id) > 0:
            retry_after = self.rates.retry_after(method, chat_id)
            raise BotApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        return chat_id

    @staticmethod
    def _markup(params: Json) -> Json | None:
        return sent_keyboard(params.get("reply_markup"))

    async def _forced_error(self, method: str, params: Json) -> None:
        chat_id = _int_or_none(params.get("chat_id"))
        forced = next((f for f in self.forced if f.matches(method, chat_id)), None)
        if forced is None or not forced.take():
            return
        if forced.delay:
            await asyncio.sleep(forced.delay)
        if forced.status == 429:
            retry_after = forced.retry_after if forced.retry_after is not None else 1
            raise BotApiError(
                429,
                forced.description or f"Too Many Requests: retry after {retry_after:g}",
                {"retry_after": retry_after},
            )
        if forced.status == 403:
            raise BotApiError(403, forced.description or "Forbidden: bot was blocked by the user")
        if forced.status >= 400:
            raise BotApiError(forced.status, forced.description or _reason(forced.status))

    async def _get_me(self, _params: Json) -> Json:
        return {**self.bot, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    async def _get_updates(self, params: Json) -> list[Json]:
        self.polling += 1
        try:
            return await self._long_poll(params)
        finally:
            self.polling -= 1

    async def _long_poll(self, params: Json) -> list[Json]:
        self.webhook.refuse_get_updates()
        offset = _int_or_none(params.get("offset"))
        limit = min(max(_int_or_none(params.get("limit")) or 100, 1), 100)
        timeout = max(_int_or_none(params.get("timeout")) or 0, 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if allowed is not None:
            self._allowed = set(allowed) or None
        me = _Poller()
        self._poller = me
        self._wake()  # an older poll, if any, is terminated with a 409
        self._confirm(offset)
        deadline = time.monotonic() + timeout
        while not self.updates and not self._stopping and time.monotonic() < deadline:
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), deadline - time.monotonic())
            if self._poller is not me:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
        batch = self.updates[:limit]
        self.polls.append(PollRecord(offset, [u["update_id"] for u in batch], time.monotonic()))
        return batch

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            del self.updates[: max(len(self.updates) + offset, 0)]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    async def _send_message(self, params: Json) -> Json:
        chat_id = self._chat_id(params)
        source = str(params.get("text") or "")
        parse_mode = params.get("parse_mode")
        text, entities = self._parse(source, parse_mode)
        if not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise BotApiError(400, "Bad Request: message is too long")
        reply_to = self._reply_to(params)
        markup = self._markup(params)
        message_id = self._next_message_id(chat_id)
        sent = SentMessage(
            message_id, chat_id, text, source, parse_mode, entities, reply_to,
            self.clock(), time.time(), _int_or_none(params.get("message_thread_id")),
            reply_markup=markup,
        )  # fmt: skip
        self.sent.append(sent)
        found = sent.as_message(self.bot)
        if reply_to is not None:
            found["reply_to_message"] = {"message_id": reply_to, "chat": found["chat"],
                                         "date": found["date"]}  # fmt: skip
        return found

    def _parse(self, source: str, parse_mode: Any) -> tuple[str, list[Json]]:
        if parse_mode in (None, ""):
            return source.strip(), []
        if str(parse_mode).lower() != "html":
            raise BotApiError(
                400, f"Bad Request: unsupported parse_mode {parse_mode} in the stand-in"
            )
        try:
            parsed = parse_html(source)
        except HtmlParseError as exc:
            raise BotApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        stripped = parsed.text.lstrip()
        shift = utf16_len(parsed.text) - utf16_len(stripped)
        for entity in parsed.entities:
            entity["offset"] -= shift
        return stripped.rstrip(), parsed.entities

    def _chat_id(self, params: Json) -> int:
        chat_id = _int_or_none(params.get("chat_id"))
        if chat_id is None:
            raise BotApiError(400, "Bad Request: chat_id is empty")
        if chat_id in self.blocked_chats:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    @staticmethod
    def _reply_to(params: Json) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        if isinstance(reply, dict):
            return _int_or_none(reply.get("message_id"))
        return _int_or_none(params.get("reply_to_message_id"))

    async def _send_chat_action(self, params: Json) -> bool:
        chat_id = self._chat_id(params)
        action = str(params.get("action") or "")
        if not action:
            raise BotApiError(400, "Bad Request: action is empty")
        self.actions.append(ChatAction(chat_id, action, time.monotonic(), time.time()))
        return True

    async def _set_my_commands(self, params: Json) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list) or len(commands) > 100:
            raise BotApiError(400, "Bad Request: commands must be a list of at most 100")
        for item in commands:
            name, description = str(item.get("command", "")), str(item.get("description", ""))
            if not (1 <= len(name) <= 32) or not set(name) <= _COMMAND_NAME:
                raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not (1 <= len(description) <= 256):
                raise BotApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[str(params.get("language_code") or "")] = commands
        return True

    async def _get_my_commands(self, params: Json) -> list[Json]:
        return self.commands.get(str(params.get("language_code") or ""), [])

    # -- control API -------------------------------------------------------------------------

    async def _control_inject(self, request: web.Request) -> web.Response:
        body = await request.json()
        update = body.get("update") or self._built(body)
        return web.json_response({"update_id": self.inject(update)})

    def _built(self, body: Json) -> Json:
        """Build an update from `{"kind": ..., ...}`: private, group, mention, command,
        reply, voice, photo, sticker, document, blocked, unblocked."""
        kind = body["kind"]
        sender = build.user(
            int(body.get("user_id", 1001)), body.get("first_name", "Anna"),
            username=body.get("username"), language_code=body.get("language_code", "en"),
        )  # fmt: skip
        chat = (
            build.group_chat(int(body["chat_id"]), body.get("title", "Team"))
            if "chat_id" in body
            else build.private_chat(sender)
        )
        text = body.get("text", "")
        builders: dict[str, Any] = {
            "private": lambda: build.message(chat, sender, text=text),
            "group": lambda: build.message(chat, sender, text=text),
            "mention": lambda: build.mention(
                chat, sender, self.bot_username, before=body.get("before", ""),
                after=body.get("after", ""),
            ),
            "command": lambda: build.command(
                chat, sender, body["command"], body.get("args", ""),
                bot_username=self.bot_username if body.get("with_username") else None,
            ),
            "reply": lambda: build.reply(chat, sender, text, self._sent_message(body)),
            "voice": lambda: build.voice(chat, sender),
            "photo": lambda: build.photo(chat, sender, caption=body.get("caption")),
            "sticker": lambda: build.sticker(chat, sender),
            "document": lambda: build.document(chat, sender),
            "blocked": lambda: build.bot_membership(sender, self.bot, blocked=True),
            "unblocked": lambda: build.bot_membership(sender, self.bot, blocked=False),
        }  # fmt: skip
        if kind not in builders:
            raise web.HTTPBadRequest(text=f"unknown kind {kind!r}; one of {sorted(builders)}")
        return builders[kind]()

    def _sent_message(self, body: Json) -> Json:
        wanted = int(body["reply_to_message_id"])
        found = next((m for m in self.sent if m.message_id == wanted), None)
        if found is None:
            raise web.HTTPNotFound(text=f"no sent message {wanted}")
        return found.as_message(self.bot)

    async def _control_sent(self, request: web.Request) -> web.Response:
        chat = _int_or_none(request.query.get("chat_id"))
        found = self.sent if chat is None else self.sent_to(chat)
        return web.json_response([m.as_record() for m in found])

    async def _control_actions(self, request: web.Request) -> web.Response:
        chat = _int_or_none(request.query.get("chat_id"))
        found = self.actions if chat is None else self.actions_in(chat)
        return web.json_response([asdict(a) for a in found])

    async def _control_commands(self, _request: web.Request) -> web.Response:
        return web.json_response(self.commands)

    async def _control_polls(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(p) for p in self.polls])

    async def _control_rejected(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(r) for r in self.rejected])

    async def _control_errors(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(asdict(self.fail(**body)))

    async def _control_blocked(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat_id = int(body["chat_id"])
        if body.get("blocked", True):
            self.blocked_chats.add(chat_id)
        else:
            self.blocked_chats.discard(chat_id)
        return web.json_response({"blocked": sorted(self.blocked_chats)})

    async def _control_update_ids(self, request: web.Request) -> web.Response:
        """`{"next": 5}`: restart the update_id sequence at 5."""
        body = await request.json()
        self.restart_update_ids(int(body["next"]))
        return web.json_response({"next": int(body["next"])})

    async def _control_press(self, request: web.Request) -> web.Response:
        """`{"chat_id", "message_id", "button"}` (callback data or a part of the label)."""
        body = await request.json()
        try:
            query_id = self.press(
                int(body["chat_id"]), int(body["message_id"]), str(body["button"])
            )
        except LookupError as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return web.json_response({"callback_query_id": query_id})

    async def _control_files(self, request: web.Request) -> web.Response:
        """The request body is the file; `?kind=voice&file_name=a.ogg&mime_type=...`."""
        wanted = ("kind", "file_name", "mime_type")
        how = {k: request.query[k] for k in wanted if k in request.query}
        return web.json_response(self.register_file(await request.read(), **how))

    async def _control_violations(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(v) for v in self.rates.violations])

    async def _control_limits(self, request: web.Request) -> web.Response:
        """`{"enforce": true}`: calls over Telegram's limits are refused with a 429."""
        body = await request.json()
        self.rates.enforce = bool(body.get("enforce", self.rates.enforce))
        return web.json_response({"enforce": self.rates.enforce})

    async def _control_reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    # -- helpers -----------------------------------------------------------------------------

    def _is_allowed(self, kind: str) -> bool:
        if self._allowed is None:
            return kind not in DEFAULT_EXCLUDED
        return kind in self._allowed

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


async def _params(request: web.Request) -> Json:
    """Bot API parameters come as a query string, a form or a JSON body."""
    params: Json = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(dict(await request.post()))
    return params


def _error(exc: BotApiError) -> web.Response:
    body: Json = {"ok": False, "error_code": exc.status, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.status)


def _reason(status: int) -> str:
    return {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}.get(status, f"Error {status}")  # fmt: skip


async def _serve(args: argparse.Namespace) -> None:
    api = TelegramStandIn(args.token, bot_username=args.bot_username, latency=args.latency)
    url = await api.start(args.host, args.port)
    print(f"Telegram stand-in on {url} (token {args.token}, bot @{args.bot_username})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Telegram Bot API stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--bot-username", default="smart_assistant_test_bot")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
