"""One update in, one `Outcome` out: who is talking, whether the bot is addressed, and
whether it is a command, text for the assistant, or something the bot cannot read."""

from __future__ import annotations

from dataclasses import replace

from redis.exceptions import RedisError

from common.features.language import choose_language
from common.features.linking import is_link_phrase
from common.infrastructure.errors import DependencyUnavailableError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import OutgoingKind, incoming_message_id
from tg_bot.src.clients.types import TgMessage, TgUpdate
from tg_bot.src.domain.albums import AlbumStore
from tg_bot.src.handlers.addressing import CommandCall, addressed_text, parse_command
from tg_bot.src.handlers.base import Addressed, BotIdentity, Outcome, Services
from tg_bot.src.handlers.buttons import button_pressed
from tg_bot.src.handlers.commands import CommandRegistry, reply_to
from tg_bot.src.handlers.contact import shared_contact_text
from tg_bot.src.handlers.edits import LastMessages
from tg_bot.src.handlers.feedback import comment_taken
from tg_bot.src.handlers.flood import over_limit
from tg_bot.src.handlers.handoffs import operator_reply
from tg_bot.src.handlers.language import user_language, written_language
from tg_bot.src.handlers.media import FileSource, MediaIntake
from tg_bot.src.handlers.membership import membership_changed
from tg_bot.src.handlers.pairing import gate, group_allowed, group_refused
from tg_bot.src.handlers.timezone import set_from_location
from tg_bot.src.i18n import CATALOGUE

log = get_logger(__name__)

_CHAT_TYPES = ("private", "group", "supergroup")


class UpdateRouter:
    def __init__(
        self,
        services: Services,
        commands: CommandRegistry,
        bot: BotIdentity,
        *,
        files: FileSource,
        albums: AlbumStore,
    ) -> None:
        self._services = services
        self._commands = commands
        self._bot = bot
        self._albums = albums
        self._media = MediaIntake(services, files, albums, bot.id)
        self._last = LastMessages(
            services.redis, services.names, services.settings.edit_window_seconds
        )

    async def route(self, update: TgUpdate) -> Outcome:
        """Transient failures (rest_service or Redis down) propagate, so the update is tried again;
        anything else is logged and answered with an apology instead of silence."""
        try:
            return await self._route(update)
        except (DependencyUnavailableError, RedisError):
            raise
        except Exception:
            log.exception("update_failed", update_id=update.update_id)
            return self._apology(update)

    async def _route(self, update: TgUpdate) -> Outcome:
        if update.my_chat_member is not None:
            kind = await membership_changed(update.my_chat_member, self._services)
            return Outcome(update.update_id, kind)
        if update.callback_query is not None:
            query = update.callback_query
            return await button_pressed(update.update_id, query, self._services, self._bot)
        edited = update.message is None and update.edited_message is not None
        message = update.edited_message if edited else update.message
        if message is None or message.sender is None or message.sender.is_bot:
            return Outcome(update.update_id)
        if message.chat.type not in _CHAT_TYPES:
            return Outcome(update.update_id)
        text = message.body
        if message.chat.is_group and not edited:
            relayed = await operator_reply(update.update_id, message, self._services, self._bot)
            if relayed is not None:
                return relayed
        if message.chat.is_group:
            found = addressed_text(message, self._bot.id, self._bot.username)
            if found is None and not await self._joins_album(message):
                return Outcome(update.update_id)
            text = found or ""
        if edited and not await self._last.answerable(message):
            return Outcome(update.update_id, "edit_ignored")
        return await self._addressed(update.update_id, message, text, edited)

    async def _joins_album(self, message: TgMessage) -> bool:
        """A group's album is addressed by one part's caption; its other parts join it."""
        group = message.media_group_id
        return group is not None and await self._albums.gathering(message.chat.id, group)

    async def _addressed(
        self, update_id: int, message: TgMessage, text: str, edited: bool = False
    ) -> Outcome:
        sender = message.sender
        assert sender is not None
        written = written_language(text)
        turn = Addressed(
            update_id=update_id,
            message=message,
            sender=sender,
            text=text,
            incoming_id=incoming_message_id(self._bot.id, update_id),
            catalogue=CATALOGUE.speaking(
                choose_language(written=written, app=sender.language_code)
            ),
            edited=edited,
            bot_id=self._services.bot_id,
        )
        if turn.is_group and not group_allowed(turn.chat_id, self._services):
            return await group_refused(turn, self._services)
        refused = await gate(turn, self._services)
        if refused is not None:
            return refused
        user, created = await self._services.users.identify(sender)
        if user.blocked:
            log.info("blocked_user_ignored", user_id=str(user.id))
            return Outcome(update_id, "blocked")
        turn = replace(turn, user=user, created=created)
        language = await user_language(turn, self._services, written)
        turn = replace(turn, catalogue=CATALOGUE.speaking(language))
        outcome = await self._answer(turn)
        if outcome.incoming is not None:
            await self._last.remember(message)
        return outcome

    async def _answer(self, turn: Addressed) -> Outcome:
        command = parse_command(turn.text)
        if command is None and not turn.is_group and is_link_phrase(turn.text):
            command = CommandCall("link", "", None)
        if command is not None and turn.edited:
            return Outcome(turn.update_id, "edit_ignored")  # a command runs once
        if command is not None:
            answer = await self._commands.run(command, turn, self._services)
            log.info("command_handled", command=command.name, chat_id=turn.chat_id)
            return Outcome(turn.update_id, "command", replies=[reply_to(turn, answer)])
        if turn.message.location is not None and not turn.is_group:
            answer = await set_from_location(turn, self._services)
            return Outcome(turn.update_id, "location", replies=[turn.reply(answer)])
        card = turn.message.shared_contact if not turn.is_group else None
        shared = shared_contact_text(card, turn.sender.id) if card is not None else None
        if shared is not None:
            turn = replace(turn, text=shared)
        media = turn.message.media_kind
        if turn.message.text is None and media is not None and shared is None:
            return await self._media.receive(turn, media)
        if not turn.text.strip():
            return Outcome(
                turn.update_id, "empty", replies=[turn.reply(turn.t("group.empty_mention"))]
            )
        commented = await comment_taken(turn, self._services)
        if commented is not None:
            return commented
        limited = await over_limit(turn, self._services)
        if limited is not None:
            return limited
        return Outcome(turn.update_id, "queued", incoming=turn.incoming())

    def _apology(self, update: TgUpdate) -> Outcome:
        message = update.message or update.edited_message
        if message is None or message.sender is None:
            return Outcome(update.update_id, "error")
        turn = Addressed(
            update_id=update.update_id,
            message=message,
            sender=message.sender,
            text="",
            incoming_id=incoming_message_id(self._bot.id, update.update_id),
            bot_id=self._services.bot_id,
            catalogue=CATALOGUE.speaking(
                choose_language(
                    written=written_language(message.body), app=message.sender.language_code
                )
            ),
        )
        apology = turn.reply(turn.t("error.generic"), kind=OutgoingKind.ERROR)
        return Outcome(update.update_id, "error", replies=[apology])
