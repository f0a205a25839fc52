"""/calendar: the link that connects the user's Google Calendar, or who it is connected as;
`/calendar confirm` / `/calendar decline` answer the question the calendar service asks after
a Google consent (the account is connected only on the owner's yes); `/calendar disconnect`
revokes and forgets the connection. The answers carry buttons: Connect (the link itself) and
Disconnect (for the user who asked only). Also the Yes / No under the assistant's question
before it deletes an event (`common.features.confirmations`, checked in `confirmations.py`): only
the event's owner may answer.

Only in a private chat: a connect link is bound to the user it was made for, so whoever
clicked it in a group would connect their own Google account to someone else's profile.
"""

from __future__ import annotations

from common.features.buttons import ButtonAction, ButtonData, button
from common.features.calendar_client import CalendarClient
from common.features.confirmations import Confirmations, PendingDelete
from common.features.texts import NO, YES
from common.infrastructure.errors import AppError, NotFoundError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Button
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.i18n import Markdown

log = get_logger(__name__)

#: Checked before the no-words, which hold "off" too.
DISCONNECT_WORDS = {"disconnect", "off", "remove", "отключить", "отключи"}


async def calendar(turn: Addressed, args: str, services: Services) -> str | Reply:
    if turn.is_group:
        return turn.t("calendar.private_only")
    if turn.user is None:
        return turn.t("calendar.unavailable")
    user_id = str(turn.user.id)
    client = services.calendar
    word = args.strip().casefold()
    try:
        if word in DISCONNECT_WORDS:
            return await _disconnect(turn, client, user_id)
        if word in YES:
            return await _confirm(turn, client, user_id)
        if word in NO:
            return await _decline(turn, client, user_id)
        return await _status_or_link(turn, client, user_id)
    except AppError as exc:
        log.warning("calendar_service_unavailable", error=str(exc))
        return turn.t("calendar.unavailable")


async def _status_or_link(turn: Addressed, client: CalendarClient, user_id: str) -> str | Reply:
    status = await client.status(user_id)
    if status.pending:
        return turn.t("calendar.pending", account=status.pending_account or "?")
    if status.connected and status.valid:
        disconnect = [[_disconnect_button(turn)]]
        if status.account:
            return Reply(turn.t("calendar.connected", account=status.account), disconnect)
        return Reply(turn.t("calendar.connected_unknown"), disconnect)
    link = await client.auth_url(user_id)
    key = "calendar.reconnect" if status.connected else "calendar.connect"
    minutes = max(1, link.expires_in // 60)
    connect = Button(text=turn.t("calendar.connect_button"), url=link.auth_url)
    return Reply(turn.t(key, url=Markdown(link.auth_url), minutes=minutes), [[connect]])


def _disconnect_button(turn: Addressed) -> Button:
    data = ButtonData(ButtonAction.CALENDAR_DISCONNECT, str(turn.sender.id))
    return button(turn.t("calendar.disconnect_button"), data)


async def _disconnect(turn: Addressed, client: CalendarClient, user_id: str) -> str:
    result = await client.disconnect(user_id)
    return turn.t("calendar.disconnected" if result.disconnected else "calendar.not_connected")


async def _confirm(turn: Addressed, client: CalendarClient, user_id: str) -> str:
    result = await client.confirm(user_id)
    if not result.confirmed:
        return turn.t("calendar.nothing_pending")
    if result.account:
        return turn.t("calendar.confirmed", account=result.account)
    return turn.t("calendar.confirmed_unknown")


async def _decline(turn: Addressed, client: CalendarClient, user_id: str) -> str:
    result = await client.decline(user_id)
    return turn.t("calendar.declined" if result.declined else "calendar.nothing_pending")


async def disconnect_pressed(press: Press, services: Services) -> Pressed:
    turn = press.turn
    if press.data.target != str(turn.sender.id) or turn.user is None:
        return Pressed(turn.t("button.not_yours"))
    try:
        text = await _disconnect(turn, services.calendar, str(turn.user.id))
    except AppError as exc:
        log.warning("calendar_service_unavailable", error=str(exc))
        return Pressed(turn.t("calendar.unavailable_notice"))
    return Pressed(turn.t("calendar.disconnected_notice"), Reply(text))


async def delete_confirmed(press: Press, services: Services) -> Pressed:
    """Yes under the assistant's question before an event delete (`confirmations.py` checked
    it is the presser's): the event is deleted, once (taking the pending delete is atomic, so
    a second tap finds nothing)."""
    turn = press.turn
    deletes = Confirmations(services.redis, services.names)
    pending = await deletes.take(press.data.target)
    if not isinstance(pending, PendingDelete):
        return Pressed(turn.t("button.used"))
    try:
        result = await services.calendar.delete_event(
            pending.user_id, pending.event_id, pending.calendar_id
        )
    except NotFoundError:
        return Pressed(
            turn.t("calendar.deleted_notice"),
            press.below(turn.t("calendar.deleted_already", summary=pending.summary)),
        )
    except AppError as exc:
        log.warning("calendar_delete_failed", error=str(exc))
        await deletes.restore(press.data.target, pending)
        return Pressed(turn.t("calendar.unavailable_notice"))
    key = "calendar.deleted" if result.deleted else "calendar.deleted_already"
    log.info("calendar_event_deleted_on_yes", deleted=result.deleted)
    return Pressed(
        turn.t("calendar.deleted_notice"), press.below(turn.t(key, summary=pending.summary))
    )


def delete_kept(press: Press, pending: PendingDelete) -> Pressed:
    turn = press.turn
    return Pressed(
        turn.t("calendar.kept_notice"),
        press.below(turn.t("calendar.delete_kept", summary=pending.summary)),
    )


BUTTONS: dict[ButtonAction, PressHandler] = {ButtonAction.CALENDAR_DISCONNECT: disconnect_pressed}

COMMAND = Command("calendar", calendar)
