"""/link and /unlink: one person across channels (decision 0054). `/link` gives a one-time
code to send from another account; `/link CODE` joins this Telegram account to the code's
issuer; `/unlink` makes this Telegram account a person of its own again. Private chats only:
a code shown in a group would be anyone's. The commands are read by
`common/features/linking.py`, as the other channels read them."""

from __future__ import annotations

from common.features.linking import BRANDS, parse_link_command
from common.infrastructure.channels import Channel
from common.infrastructure.errors import ConflictError, NotFoundError
from common.infrastructure.wire import Identity
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import Markdown


def channel_names(turn: Addressed, identities: list[Identity]) -> str:
    """The channels, each once, in the order listed, as the user's language names them."""
    seen = dict.fromkeys(i.channel for i in identities)
    return ", ".join(BRANDS.get(c) or turn.t(f"channel.{c.value}") for c in seen)


async def link(turn: Addressed, args: str, services: Services) -> str:
    if turn.is_group:
        return turn.t("link.private_only")
    if turn.user is None:
        return turn.t("error.generic")
    asked = parse_link_command(f"/link {args}")
    if asked is None or asked.action == "issue":
        issued = await services.rest.issue_link_code(turn.user.id)
        minutes = max(1, issued.ttl_seconds // 60)
        # Inside a code span, as it is: a code is letters, digits and one dash.
        return turn.t("link.code", code=Markdown(issued.code), minutes=minutes)
    if asked.code is None:
        return turn.t("link.bad_code")
    try:
        linked = await services.rest.link_identity(
            asked.code, Channel.TELEGRAM, str(turn.sender.id)
        )
    except NotFoundError:
        return turn.t("link.unknown_code")
    except ConflictError:
        return turn.t("link.second_telegram")
    services.users.drop(turn.sender.id)
    return turn.t("link.done", channels=channel_names(turn, linked.identities))


async def unlink(turn: Addressed, _args: str, services: Services) -> str:
    if turn.is_group:
        return turn.t("link.private_only")
    if turn.user is None:
        return turn.t("error.generic")
    identities = await services.rest.list_identities(turn.user.id)
    others = [i for i in identities if i.channel is not Channel.TELEGRAM]
    try:
        await services.rest.unlink_identity(turn.user.id, Channel.TELEGRAM, str(turn.sender.id))
    except (ConflictError, NotFoundError):
        return turn.t("unlink.alone")
    services.users.drop(turn.sender.id)
    return turn.t("unlink.done", channels=channel_names(turn, others))


COMMAND = Command("link", link)
UNLINK_COMMAND = Command("unlink", unlink)
