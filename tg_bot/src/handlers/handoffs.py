"""The operator chat of a handoff (decision 0052): an operator's Telegram reply to a message
the bot sent there about a handoff (its announcement, a forwarded customer message) goes to
rest_service, which sends it to the customer on their channel; the announcement's button
hands the conversation back to the bot. The messages are known by `Names.handoff_relay`,
which the sender writes as it sends them, so no setting says which chat is an operator chat:
a reply to one of them is proof enough."""

from __future__ import annotations

import uuid

from common.features.buttons import ButtonAction
from common.features.language import choose_language
from common.infrastructure.errors import ConflictError, NotFoundError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    OutgoingKind,
    OutgoingMessage,
    answer_message_id,
    incoming_message_id,
)
from common.infrastructure.wire import HandoffReply
from tg_bot.src.clients.types import TgMessage, TgUser
from tg_bot.src.handlers.base import BotIdentity, Outcome, Services
from tg_bot.src.handlers.commands import Press, Pressed, PressHandler
from tg_bot.src.i18n import CATALOGUE

log = get_logger(__name__)


async def operator_reply(
    update_id: int, message: TgMessage, services: Services, bot: BotIdentity
) -> Outcome | None:
    """A reply in a group to one of the bot's handoff messages: relayed to the customer (the
    operator is told when the handoff is closed). None: not such a reply."""
    replied = message.reply_to_message
    sender = message.sender
    if replied is None or replied.sender is None or replied.sender.id != bot.id or sender is None:
        return None
    bot_row = str(services.bot_id) if services.bot_id else None
    found = await services.redis.get(
        services.names.handoff_relay(bot_row, message.chat.id, replied.message_id)
    )
    if found is None:
        return None
    handoff_id = found.decode() if isinstance(found, bytes) else str(found)
    text = message.body.strip()
    if not text:
        return Outcome(update_id, "handoff_nontext")
    reply = HandoffReply(
        text=text, author=operator_name(sender), key=f"tg:{message.chat.id}:{message.message_id}"
    )
    try:
        await services.rest.reply_to_handoff(handoff_id, reply)
    except (ConflictError, NotFoundError):
        closed = CATALOGUE.text(choose_language(app=sender.language_code), "handoff.closed")
        notice = OutgoingMessage(
            message_id=answer_message_id(incoming_message_id(bot.id, update_id)),
            chat_id=message.chat.id,
            text=closed,
            kind=OutgoingKind.NOTIFICATION,
            reply_to_telegram_message_id=message.message_id,
            message_thread_id=message.message_thread_id,
            bot_id=services.bot_id,
        )
        return Outcome(update_id, "handoff_closed", replies=[notice])
    log.info("operator_reply_relayed", handoff_id=handoff_id, chat_id=message.chat.id)
    return Outcome(update_id, "handoff_reply")


async def hand_back_pressed(press: Press, services: Services) -> Pressed:
    """The conversation goes back to the bot; the announcement says who handed it back."""
    turn = press.turn
    who = operator_name(turn.sender)
    try:
        await services.rest.return_handoff(uuid.UUID(press.data.target), by=who)
    except (ConflictError, NotFoundError, ValueError):  # closed, or no handoff's button
        return Pressed(turn.t("handoff.closed"), press.below(turn.t("handoff.closed")))
    return Pressed(turn.t("handoff.notice"), press.below(turn.t("handoff.handed_back", who=who)))


def operator_name(sender: TgUser) -> str:
    return (sender.first_name or (f"@{sender.username}" if sender.username else "operator"))[:100]


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.HAND_BACK: hand_back_pressed}
