"""The bot's own membership: in a private chat `kicked` means the user blocked the bot and
`member` that they unblocked (or restarted) it; the user's `blocked` flag follows."""

from __future__ import annotations

from common.infrastructure.logging import get_logger
from tg_bot.src.clients.types import TgChatMemberUpdated
from tg_bot.src.handlers.base import Services

log = get_logger(__name__)


async def membership_changed(change: TgChatMemberUpdated, services: Services) -> str:
    status = change.new_chat_member.status
    if change.chat.type != "private" or services.bot is not None:
        # `blocked` is about the default bot: a bots row's bot blocked leaves it be
        log.info("bot_membership_changed", chat_id=change.chat.id, status=status)
        return "membership"
    if status == "kicked":
        await services.users.set_blocked(change.sender.id, True)
    elif status == "member":
        await services.users.set_blocked(change.sender.id, False)
    return "membership"
