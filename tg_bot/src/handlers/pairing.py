"""Who may talk to the default bot beyond ALLOWED_TELEGRAM_IDS, with PAIRING on: a stranger in a
private chat gets a code (the same while it waits), and the owners (the ids in
ALLOWED_TELEGRAM_IDS) are told once, with Approve / Refuse buttons. The approved are let in; the
refused are told "not approved" once a `REFUSED_TOLD_S`, silence between. And the group policy:
a group outside ALLOWED_GROUPS is told once that the bot is not enabled there, then ignored (the
bot stays, so adding the group to the list later needs no new invitation)."""

from __future__ import annotations

import uuid

from common.features.buttons import ButtonAction, pairing_buttons
from common.infrastructure.errors import NotFoundError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import ID_NAMESPACE, OutgoingKind, OutgoingMessage
from common.infrastructure.wire import Pairing, PairingStatus
from tg_bot.src.handlers.base import Addressed, Outcome, Services, claimed
from tg_bot.src.handlers.commands import Press, Pressed, PressHandler
from tg_bot.src.i18n import CATALOGUE

log = get_logger(__name__)

#: A refused person's later messages get the same short answer at most this often.
REFUSED_TOLD_S = 24 * 3600


async def gate(turn: Addressed, services: Services) -> Outcome | None:
    """None when the sender may talk to the bot; else what they are told."""
    if services.allowed(turn.sender.id):
        return None
    if not services.pairing_on or turn.is_group:
        log.info("sender_refused", telegram_id=turn.sender.id, chat_id=turn.chat_id)
        refusal = turn.t("refusal.not_allowed", telegram_id=turn.sender.id)
        return Outcome(turn.update_id, "refused", replies=[turn.reply(refusal)])
    pairing, created = await services.pairings.of(turn.sender)
    if pairing.status == PairingStatus.approved:
        return None
    if pairing.status == PairingStatus.refused:
        return await _refused(turn, services)
    ask = turn.reply(turn.t("pairing.ask", code=pairing.code))
    notices = _owner_notices(turn, services, pairing) if created else []
    return Outcome(turn.update_id, "pairing", replies=[ask, *notices])


async def press_gate(turn: Addressed, services: Services) -> Outcome | None:
    """A button's presser: None when they may press; else what they are told besides the
    button's notice (with PAIRING, in a private chat, what a message of theirs would get:
    a stranger's press asks for a code as their first message would)."""
    if services.allowed(turn.sender.id):
        return None
    if not services.pairing_on or turn.is_group:
        return Outcome(turn.update_id, "refused")
    return await gate(turn, services)


async def _refused(turn: Addressed, services: Services) -> Outcome:
    key = services.names.pairing_refused_told(turn.sender.id)
    if not await claimed(services.redis, key, str(turn.incoming_id), REFUSED_TOLD_S):
        return Outcome(turn.update_id, "refused_silent")
    return Outcome(turn.update_id, "refused", replies=[turn.reply(turn.t("pairing.refused"))])


def _owner_notices(turn: Addressed, services: Services, pairing: Pairing) -> list[OutgoingMessage]:
    """One message to each owner (in the catalogue's default language: an owner may never have
    written to the bot), its id derived so a redelivery sends it once."""
    text = CATALOGUE.text(
        None,
        "pairing.owner_notice",
        name=turn.display_name,
        telegram_id=turn.sender.id,
        code=pairing.code,
    )
    return [
        OutgoingMessage(
            message_id=uuid.uuid5(ID_NAMESPACE, f"pairing:{pairing.code}:{owner}"),
            chat_id=owner,
            text=text,
            kind=OutgoingKind.NOTIFICATION,
            correlation_id=str(turn.incoming_id),
            buttons=pairing_buttons(pairing.code, None),
        )
        for owner in sorted(services.settings.allowed_ids)
    ]


async def decide_pressed(press: Press, services: Services) -> Pressed:
    """An owner's Approve / Refuse; anyone else's press changes nothing."""
    turn = press.turn
    if turn.sender.id not in services.settings.allowed_ids:
        return Pressed(turn.t("button.refused"))
    approve = press.data.action == ButtonAction.PAIRING_APPROVE
    code = press.data.target
    try:
        await services.rest.decide_pairing(code, approve, by=f"telegram:{turn.sender.id}")
    except NotFoundError:
        return Pressed(turn.t("button.unknown"))
    line = turn.t("pairing.approved" if approve else "pairing.refused_by_owner", code=code)
    log.info("pairing_decided", code=code, approved=approve, by=turn.sender.id)
    return Pressed(line, press.below(line))


def group_allowed(chat_id: int, services: Services) -> bool:
    allowed = services.settings.allowed_group_ids
    return services.bot is not None or not allowed or chat_id in allowed


async def group_refused(turn: Addressed, services: Services) -> Outcome:
    """The first message addressed to the bot in a group not allowed is answered; the rest
    are not."""
    key = services.names.group_refused_told(turn.chat_id)
    if not await claimed(services.redis, key, str(turn.incoming_id), None):
        return Outcome(turn.update_id, "group_refused_silent")
    log.info("group_refused", chat_id=turn.chat_id)
    told = turn.reply(turn.t("group.not_enabled"))
    return Outcome(turn.update_id, "group_refused", replies=[told])


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.PAIRING_APPROVE: decide_pressed,
    ButtonAction.PAIRING_REFUSE: decide_pressed,
}
