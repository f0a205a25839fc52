"""The Yes / No under the assistant's question before a calendar delete, handler by handler
on real Redis and rest_service: only the user it was asked for may answer, No keeps the
event and answers once, an expired question says so. (Yes deleting at Google, once, is in
tests/test_calendar_scenarios.py with every service running.)"""

from __future__ import annotations

import pytest

from common.features.buttons import ButtonAction, ButtonData, confirm_buttons
from common.features.confirmations import Confirmations, PendingDelete
from common.infrastructure.rest_client import RestClient
from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.handlers.base import Services
from tg_bot.src.i18n import CATALOGUE
from tg_bot.tests.handlers.test_buttons import ann_and_bob, answered, services, the_edit

__all__ = ["services"]  # the fixture, shared with the other button tests


async def _asked(services: Services, user_id: str) -> str:
    pending = PendingDelete(user_id, "abcdef123456", "primary", "Dentist", "2030-01-02T10:00")
    return await Confirmations(services.redis, services.names).ask(pending)


async def test_only_the_user_asked_may_answer_and_no_keeps_the_event_once(
    services: Services, rest: RestClient, telegram: TelegramStandIn
) -> None:
    ann, bob = ann_and_bob(services)
    await ann.command("/start")
    owner = await rest.get_user_by_telegram(ann.sender["id"])
    token = await _asked(services, str(owner.id))
    [[yes, no]] = confirm_buttons(token, "en", deleting=True)

    bobs = bob.query(yes.data, 20, "Delete Dentist?")
    assert (await bob.tap(bobs)).replies == []
    assert answered(telegram, bobs) == ["This button is for someone else."]
    assert await Confirmations(services.redis, services.names).peek(token) is not None

    kept = await ann.press(no, 20, "Delete Dentist?")
    assert the_edit(kept, 20).text.endswith(
        CATALOGUE.text("en", "calendar.delete_kept", summary="Dentist")
    )
    assert the_edit(kept, 20).buttons == []
    assert await Confirmations(services.redis, services.names).peek(token) is None
    assert (await ann.press(yes, 20)).kind == "button_used"


async def test_an_expired_question_says_so_and_deletes_nothing(services: Services) -> None:
    ann, _bob = ann_and_bob(services)
    [[yes, _no]] = confirm_buttons("0" * 32, "en", deleting=True)

    outcome = await ann.press(yes, 30, "Delete Dentist?")

    assert CATALOGUE.text("en", "confirm.expired") in the_edit(outcome, 30).text


@pytest.fixture
def calendar_down(bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The calendar service is not running (nothing listens on the discard port)."""
    monkeypatch.setenv("GOOGLE_CALENDAR_SERVICE_URL", "http://127.0.0.1:9")


async def test_yes_while_the_calendar_service_is_down_keeps_the_question_for_a_later_tap(
    calendar_down: None, services: Services, rest: RestClient, telegram: TelegramStandIn
) -> None:
    ann, _bob = ann_and_bob(services)
    await ann.command("/start")
    owner = await rest.get_user_by_telegram(ann.sender["id"])
    token = await _asked(services, str(owner.id))
    [[yes, _no]] = confirm_buttons(token, "en", deleting=True)

    query = ann.query(yes.data, 20, "Delete Dentist?")
    outcome = await ann.tap(query)

    assert outcome.replies == []  # the question stays as it was
    assert answered(telegram, query) == [CATALOGUE.text("en", "calendar.unavailable_notice")]
    assert await Confirmations(services.redis, services.names).peek(token) is not None


async def test_calendar_with_its_service_down_says_so_and_disconnect_taps_answer_honestly(
    calendar_down: None, services: Services, telegram: TelegramStandIn
) -> None:
    ann, bob = ann_and_bob(services)
    unavailable = CATALOGUE.text("en", "calendar.unavailable")

    assert await ann.command("/calendar") == unavailable
    assert await ann.command("/calendar disconnect") == unavailable

    disconnect = ButtonData(ButtonAction.CALENDAR_DISCONNECT, str(ann.sender["id"]))
    [anns, bobs] = [t.query(disconnect.encode(), 21, "connected as a@b.c") for t in (ann, bob)]
    assert (await bob.tap(bobs)).replies == []
    assert answered(telegram, bobs) == [CATALOGUE.text("en", "button.not_yours")]
    assert (await ann.tap(anns)).replies == []
    assert answered(telegram, anns) == [CATALOGUE.text("en", "calendar.unavailable_notice")]
