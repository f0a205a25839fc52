"""/calendar: the link that connects the user's Google Calendar, or who it is connected as;
`/calendar confirm` / `/calendar decline` answer the question the calendar service asks after
a Google consent (the account is connected only on the owner's yes); `/calendar disconnect`
revokes and forgets the connection. The answers carry buttons: Connect (the link itself) and
Disconnect (for the user who asked only).

A user may connect several Google accounts (work and personal): `/calendar add` gives a link
for another one, `/calendar` then lists them with their state and a Disconnect (and a Make
default) per account, `/calendar default <account>` chooses where new events go and
`/calendar disconnect <account>` drops one (an account is named by its address or a part of
it, "work"). Also the Yes / No under the assistant's question
before it deletes an event (`common.features.confirmations`, checked in `confirmations.py`): only
the event's owner may answer.

Only in a private chat: a connect link is bound to the user it was made for, so whoever
clicked it in a group would connect their own Google account to someone else's profile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from common.features.buttons import ButtonAction, ButtonData, button
from common.features.calendar_client import AccountState, AuthStatus, CalendarClient
from common.features.confirmations import Confirmations, PendingDelete
from common.features.texts import NO, YES
from common.infrastructure.errors import AppError, NotFoundError, ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import Button
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command, Press, Pressed, PressHandler, Reply
from tg_bot.src.i18n import Markdown

log = get_logger(__name__)

#: Checked before the no-words, which hold "off" too.
DISCONNECT_WORDS = {"disconnect", "off", "remove", "отключить", "отключи"}
DEFAULT_WORDS = {"default", "main", "основной", "основний", "standard"}
ADD_WORDS = {"add", "another", "добавить", "додати", "hinzufügen"}


async def calendar(turn: Addressed, args: str, services: Services) -> str | Reply:
    if turn.is_group:
        return turn.t("calendar.private_only")
    if turn.user is None:
        return turn.t("calendar.unavailable")
    user_id = str(turn.user.id)
    client = services.calendar
    word, _, rest = args.strip().partition(" ")
    word, account = word.casefold(), rest.strip()
    try:
        if word in DISCONNECT_WORDS:
            return await _disconnect(turn, client, user_id, account)
        if word in DEFAULT_WORDS:
            return await _make_default(turn, client, user_id, account)
        if word in ADD_WORDS:
            return await _link(turn, client, user_id, "calendar.add")
        if word in YES:
            return await _confirm(turn, client, user_id)
        if word in NO:
            return await _decline(turn, client, user_id)
        return await _status_or_link(turn, client, user_id)
    except ValidationFailedError:
        return await _which_account(turn, client, user_id)
    except AppError as exc:
        log.warning("calendar_service_unavailable", error=str(exc))
        return turn.t("calendar.unavailable")


async def _status_or_link(turn: Addressed, client: CalendarClient, user_id: str) -> str | Reply:
    status = await client.status(user_id)
    if status.pending:
        return turn.t("calendar.pending", account=status.pending_account or "?")
    if len(status.accounts) > 1:
        return await _accounts(turn, client, user_id, status)
    if status.connected and status.valid:
        disconnect = [[_disconnect_button(turn)]]
        if status.account:
            return Reply(turn.t("calendar.connected", account=status.account), disconnect)
        return Reply(turn.t("calendar.connected_unknown"), disconnect)
    return await _link(
        turn, client, user_id, "calendar.reconnect" if status.connected else "calendar.connect"
    )


async def _link(turn: Addressed, client: CalendarClient, user_id: str, key: str) -> Reply:
    link = await client.auth_url(user_id)
    minutes = max(1, link.expires_in // 60)
    connect = Button(text=turn.t("calendar.connect_button"), url=link.auth_url)
    return Reply(turn.t(key, url=Markdown(link.auth_url), minutes=minutes), [[connect]])


async def _accounts(
    turn: Addressed, client: CalendarClient, user_id: str, status: AuthStatus
) -> Reply:
    """Every connected account with its state, a Disconnect (and a Make default) each, and a
    link when one needs reconnecting."""
    lines = [turn.t("calendar.accounts")]
    rows: list[list[Button]] = []
    for one in status.accounts:
        key = "calendar.account_line" if one.valid else "calendar.account_line_reconnect"
        line = turn.t(key, account=one.account or "?")
        lines.append(line + (turn.t("calendar.account_default") if one.default else ""))
        row = [_disconnect_button(turn, one)]
        if not one.default:
            data = ButtonData(ButtonAction.CALENDAR_DEFAULT, str(turn.sender.id), _tag(one))
            label = turn.t("calendar.default_button", account=Markdown(one.account))
            row.append(button(label, data))
        rows.append(row)
    lines.append(turn.t("calendar.accounts_help"))
    if not all(one.valid for one in status.accounts):
        link = await client.auth_url(user_id)
        rows.append([Button(text=turn.t("calendar.reconnect_button"), url=link.auth_url)])
    return Reply("\n".join(lines), rows)


def _tag(account: AccountState) -> str:
    """An account in a button's data (its address has characters the data may not)."""
    return hashlib.sha256(account.account.encode()).hexdigest()[:10]


def _disconnect_button(turn: Addressed, account: AccountState | None = None) -> Button:
    tag = _tag(account) if account else ""
    data = ButtonData(ButtonAction.CALENDAR_DISCONNECT, str(turn.sender.id), tag)
    if account is None:
        return button(turn.t("calendar.disconnect_button"), data)
    return button(
        turn.t("calendar.disconnect_account_button", account=Markdown(account.account)), data
    )


async def _which_account(turn: Addressed, client: CalendarClient, user_id: str) -> str:
    status = await client.status(user_id)
    names = ", ".join(f"`{one.account}`" for one in status.accounts) or "—"
    return turn.t("calendar.which_account", accounts=Markdown(names))


async def _disconnect(
    turn: Addressed, client: CalendarClient, user_id: str, account: str = ""
) -> str:
    """One account when named; with several and none named, the question which."""
    if not account:
        status = await client.status(user_id)
        if len(status.accounts) > 1:
            return await _which_account(turn, client, user_id)
    result = await client.disconnect(user_id, account or None)
    if not result.disconnected:
        return turn.t("calendar.not_connected")
    if result.account is None:
        return turn.t("calendar.disconnected")
    text = turn.t("calendar.disconnected_account", account=result.account)
    if result.default_account:
        text += "\n\n" + turn.t("calendar.default_now", account=result.default_account)
    return text


async def _make_default(turn: Addressed, client: CalendarClient, user_id: str, account: str) -> str:
    if not account:
        return await _which_account(turn, client, user_id)
    status = await client.set_default_account(user_id, account)
    return turn.t("calendar.default_now", account=status.account or account)


async def _confirm(turn: Addressed, client: CalendarClient, user_id: str) -> str:
    result = await client.confirm(user_id)
    if not result.confirmed:
        return turn.t("calendar.nothing_pending")
    if result.account and not result.default:
        return turn.t("calendar.confirmed_another", account=result.account)
    if result.account:
        return turn.t("calendar.confirmed", account=result.account)
    return turn.t("calendar.confirmed_unknown")


async def _decline(turn: Addressed, client: CalendarClient, user_id: str) -> str:
    result = await client.decline(user_id)
    return turn.t("calendar.declined" if result.declined else "calendar.nothing_pending")


async def disconnect_pressed(press: Press, services: Services) -> Pressed:
    """Disconnect: the account the button names, or (a button from before several accounts)
    the connection, asking which when there are several."""
    return await _account_pressed(
        press, services, _disconnect, "calendar.disconnected_notice", untagged=True
    )


async def default_pressed(press: Press, services: Services) -> Pressed:
    return await _account_pressed(
        press, services, _make_default, "calendar.default_notice", untagged=False
    )


#: What an account button does: (turn, client, user id, account) -> the answer.
AccountStep = Callable[[Addressed, CalendarClient, str, str], Awaitable[str]]


async def _account_pressed(
    press: Press, services: Services, step: AccountStep, notice: str, *, untagged: bool
) -> Pressed:
    """What the account buttons share: only the presser's own button works, the account it
    names must still be connected (a button naming none only where `untagged`), and a
    calendar service failure is a short notice."""
    turn = press.turn
    if press.data.target != str(turn.sender.id) or turn.user is None:
        return Pressed(turn.t("button.not_yours"))
    user_id, client = str(turn.user.id), services.calendar
    try:
        account = await _tagged(client, user_id, press.data.option)
        if account is None or not (account or untagged):
            return Pressed(turn.t("button.used"))
        text = await step(turn, client, user_id, account)
    except AppError as exc:
        log.warning("calendar_service_unavailable", error=str(exc))
        return Pressed(turn.t("calendar.unavailable_notice"))
    return Pressed(turn.t(notice), Reply(text))


async def _tagged(client: CalendarClient, user_id: str, tag: str) -> str | None:
    """The account a button names ("" for none named); None when it is connected no more."""
    if not tag:
        return ""
    status = await client.status(user_id)
    return next((one.account for one in status.accounts if _tag(one) == tag), None)


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
            pending.user_id, pending.event_id, pending.calendar_id, pending.account
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


BUTTONS: dict[ButtonAction, PressHandler] = {
    ButtonAction.CALENDAR_DISCONNECT: disconnect_pressed,
    ButtonAction.CALENDAR_DEFAULT: default_pressed,
}

COMMAND = Command("calendar", calendar)
