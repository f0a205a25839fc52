"""/calendar in Telegram: the real tg_bot process against the Telegram stand-in, asking the
calendar service for the link, then the pending account to confirm or decline, then
"connected as …", then `/calendar disconnect`."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.processes import ServiceProcess, Stack
from sandbox import telegram_updates as build
from sandbox.telegram_api import SentMessage, TelegramStandIn
from tests.calendar_stack import Browser
from tests.waiting import NotInTime, until

_LINK = re.compile(r'href="([^"]+)"')
T = TypeVar("T")


@contextlib.contextmanager
def telegram_in_thread() -> Iterator[tuple[TelegramStandIn, asyncio.AbstractEventLoop]]:
    """The stand-in on a loop of its own: `stack.start` blocks while the bot calls getMe."""
    loop = asyncio.new_event_loop()
    stand_in = TelegramStandIn()
    thread = threading.Thread(target=loop.run_forever, name="telegram-stand-in", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(stand_in.start(), loop).result(10)
        yield stand_in, loop
    finally:
        asyncio.run_coroutine_threadsafe(stand_in.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class Telegram:
    def __init__(self, stand_in: TelegramStandIn, loop: asyncio.AbstractEventLoop) -> None:
        self.stand_in, self.loop = stand_in, loop

    async def send(self, update: dict[str, Any], chat_id: int) -> SentMessage:
        """Inject an update (on the stand-in's loop) and wait for the bot's next message."""
        before = len(self.stand_in.sent_to(chat_id))
        self.loop.call_soon_threadsafe(self.stand_in.inject, update)
        sent = await until(
            lambda: self.stand_in.sent_to(chat_id)[before:], 15, f"a message to {chat_id}"
        )
        return sent[0]

    async def on_loop(self, call: Callable[[], T]) -> T:
        """`call` run on the stand-in's loop (it is not thread-safe)."""

        async def run() -> T:
            return call()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


@pytest.fixture
def telegram(
    stack: Stack,
    secrets: dict[str, str],
    rest_process: ServiceProcess,
    calendar_process: ServiceProcess,
) -> Iterator[Telegram]:
    with telegram_in_thread() as (stand_in, loop):
        stack.start(
            "tg_bot",
            env={
                "TELEGRAM_TOKEN": stand_in.token,
                "TELEGRAM_API_BASE": stand_in.url,
                "REST_SERVICE_URL": rest_process.url,
                "GOOGLE_CALENDAR_SERVICE_URL": calendar_process.url,
                "POLL_TIMEOUT_SECONDS": "1",
                "SEND_LIMIT_CHAT_PER_SECOND": "1000",
                "USER_CACHE_SECONDS": "0",
                "SHUTDOWN_GRACE_SECONDS": "1",
            },
        )
        yield Telegram(stand_in, loop)
        stack["tg_bot"].stop()


async def test_calendar_gives_the_link_then_who_is_connected_then_disconnects(
    telegram: Telegram, browser: Browser
) -> None:
    ann = build.user(uuid.uuid4().int % 10**9, "Ann")
    chat = build.private_chat(ann)

    first = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])

    assert "connect Google Calendar" in first.text
    [link] = [html.unescape(url) for url in _LINK.findall(first.html)]
    page = await browser.open(await browser.consent_redirect(link))
    assert page.status_code == 200
    pending = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert browser.email in pending.text and "/calendar confirm" in pending.text
    confirmed = await telegram.send(build.command(chat, ann, "calendar", "confirm"), ann["id"])
    assert f"connected as {browser.email}" in confirmed.text
    connected = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert f"connected as {browser.email}" in connected.text
    assert "/calendar disconnect" in connected.text
    gone = await telegram.send(build.command(chat, ann, "calendar", "disconnect"), ann["id"])
    assert "disconnected" in gone.text
    again = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert "connect Google Calendar" in again.text


async def test_calendar_buttons_connect_by_link_and_disconnect_by_a_tap(
    telegram: Telegram, browser: Browser
) -> None:
    """Connect is a URL button with the link itself; once connected, Disconnect is a button
    that, tapped, disconnects and leaves the message without buttons."""
    ann = build.user(uuid.uuid4().int % 10**9, "Ann")
    chat = build.private_chat(ann)
    first = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    [[connect]] = (first.reply_markup or {})["inline_keyboard"]
    [link] = [html.unescape(url) for url in _LINK.findall(first.html)]
    assert connect == {"text": "Connect Google Calendar", "url": link}
    assert (await browser.open(await browser.consent_redirect(link))).status_code == 200
    await telegram.send(build.command(chat, ann, "calendar", "confirm"), ann["id"])
    connected = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    [[disconnect]] = (connected.reply_markup or {})["inline_keyboard"]
    assert disconnect["text"] == "Disconnect"

    stand_in, message_id = telegram.stand_in, connected.message_id
    query = await telegram.on_loop(lambda: stand_in.press(ann["id"], message_id, "Disconnect"))
    with contextlib.suppress(NotInTime):
        await until(
            lambda: "disconnected" in connected.text and stand_in.buttons.answer_to(query), 15
        )
    assert "disconnected" in connected.text and connected.reply_markup is None
    assert (stand_in.buttons.answer_to(query) or {})["text"] == "Disconnected."
    again = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert "connect Google Calendar" in again.text


async def test_calendar_decline_drops_the_pending_account(
    telegram: Telegram, browser: Browser
) -> None:
    ann = build.user(uuid.uuid4().int % 10**9, "Ann")
    chat = build.private_chat(ann)
    first = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    [link] = [html.unescape(url) for url in _LINK.findall(first.html)]
    assert (await browser.open(await browser.consent_redirect(link))).status_code == 200

    declined = await telegram.send(build.command(chat, ann, "calendar", "decline"), ann["id"])

    assert "Declined" in declined.text
    late = await telegram.send(build.command(chat, ann, "calendar", "confirm"), ann["id"])
    assert "No Google account is waiting" in late.text
    again = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert "connect Google Calendar" in again.text


async def test_calendar_in_a_group_sends_no_link(telegram: Telegram) -> None:
    ann = build.user(uuid.uuid4().int % 10**9, "Ann")
    group = build.group_chat(-1000000000000 - uuid.uuid4().int % 10**9)
    command = build.command(group, ann, "calendar", bot_username=telegram.stand_in.bot_username)

    answer = await telegram.send(command, group["id"])

    assert "private chat" in answer.text and "href" not in answer.html


#: Every answer `/calendar …` may give to someone with nothing connected or pending.
_ANSWERS = ("connect Google Calendar", "No Google account is waiting", "isn't connected")


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    args=st.one_of(
        st.sampled_from(["confirm", "CONFIRM ", "decline", "yes", "да", "нет", "disconnect"]),
        st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t),
    )
)
def test_any_calendar_argument_gets_an_answer_and_connects_nothing(
    telegram: Telegram, args: str
) -> None:
    """Whatever follows /calendar (the owner's answer words in any case, or noise), the
    user gets one of the bot's answers, and nothing is ever connected by words alone."""
    ann = build.user(uuid.uuid4().int % 10**9, "Ann")
    chat = build.private_chat(ann)

    answer = asyncio.run(telegram.send(build.command(chat, ann, "calendar", args), ann["id"]))

    assert any(text in answer.text for text in _ANSWERS), answer.text
    assert "connected as" not in answer.text


async def test_calendar_connects_a_second_account_lists_both_and_chooses_the_default(
    telegram: Telegram, browser: Browser
) -> None:
    """`/calendar add` links another Google account; `/calendar` then lists both with a
    Disconnect and a Make default each; `/calendar default` and `/calendar disconnect` take
    an account by a part of its address, and ask which when none is named."""
    ann = build.user(uuid.uuid4().int % 10**9, "Ann")
    chat = build.private_chat(ann)
    home = Browser(browser.google, f"home-{uuid.uuid4().hex[:8]}@example.com", browser.service_url)
    first = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    [link] = [html.unescape(url) for url in _LINK.findall(first.html)]
    assert (await browser.open(await browser.consent_redirect(link))).status_code == 200
    await telegram.send(build.command(chat, ann, "calendar", "confirm"), ann["id"])

    add = await telegram.send(build.command(chat, ann, "calendar", "add"), ann["id"])
    [link] = [html.unescape(url) for url in _LINK.findall(add.html)]
    assert "another Google account" in add.text
    assert (await home.open(await home.consent_redirect(link))).status_code == 200
    also = await telegram.send(build.command(chat, ann, "calendar", "confirm"), ann["id"])
    listed = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    which = await telegram.send(build.command(chat, ann, "calendar", "disconnect"), ann["id"])
    chosen = await telegram.send(build.command(chat, ann, "calendar", "default home-"), ann["id"])
    unknown = await telegram.send(build.command(chat, ann, "calendar", "default nope"), ann["id"])
    gone = await telegram.send(
        build.command(chat, ann, "calendar", f"disconnect {home.email}"), ann["id"]
    )

    assert f"{home.email} connected too" in also.text
    assert f"{browser.email} (default" in listed.text and home.email in listed.text
    buttons = [b["text"] for row in (listed.reply_markup or {})["inline_keyboard"] for b in row]
    assert buttons == [
        f"Disconnect {browser.email}",
        f"Disconnect {home.email}",
        f"Make {home.email} default",
    ]
    assert "Which Google account?" in which.text and home.email in which.text
    assert f"New events now go to {home.email}" in chosen.text
    assert "Which Google account?" in unknown.text
    assert f"{home.email} is disconnected" in gone.text
    assert f"New events now go to {browser.email}" in gone.text
    single = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert f"connected as {browser.email}" in single.text


#: The account buttons' texts in two languages: the labels, the pressed notice, the edit.
_BUTTONS = {
    "en": (
        "Make {} default",
        "Default changed.",
        "New events now go to {}",
        "Disconnect {}",
        "Disconnected.",
        "{} is disconnected",
        "connected as {}",
    ),
    "de": (
        "{} als Standard",
        "Standard geändert.",
        "Neue Termine landen jetzt in {}",
        "{} trennen",
        "Getrennt.",
        "{} ist getrennt",
        "als {} verbunden",
    ),
}


async def _press(telegram: Telegram, ann: dict[str, Any], listed: SentMessage, label: str) -> str:
    """`label` tapped under `listed`; the notice the tap was answered with."""
    stand_in = telegram.stand_in
    query = await telegram.on_loop(
        lambda: stand_in.press(ann["id"], listed.message_id, label, sender=ann)
    )
    await until(lambda: stand_in.buttons.answer_to(query), 15, f"{label} pressed")
    return str((stand_in.buttons.answer_to(query) or {})["text"])


@pytest.mark.parametrize("language", sorted(_BUTTONS))
async def test_calendar_buttons_make_default_and_disconnect_one_account(
    telegram: Telegram, browser: Browser, language: str
) -> None:
    make, default_changed, goes_to, drop, dropped, gone, single_text = _BUTTONS[language]
    ann = build.user(uuid.uuid4().int % 10**9, "Ann", language_code=language)
    chat = build.private_chat(ann)
    home = Browser(browser.google, f"home-{uuid.uuid4().hex[:8]}@example.com", browser.service_url)
    for one, word in ((browser, ""), (home, "add")):
        answer = await telegram.send(build.command(chat, ann, "calendar", word), ann["id"])
        [link] = [html.unescape(url) for url in _LINK.findall(answer.html)]
        assert (await one.open(await one.consent_redirect(link))).status_code == 200
        await telegram.send(build.command(chat, ann, "calendar", "confirm"), ann["id"])
    listed = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])

    assert await _press(telegram, ann, listed, make.format(home.email)) == default_changed
    await until(lambda: goes_to.format("") in listed.text, 15, "the list replaced")
    assert goes_to.format(home.email) in listed.text
    relisted = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert await _press(telegram, ann, relisted, drop.format(browser.email)) == dropped
    await until(lambda: gone.format(browser.email) in relisted.text, 15, "the list replaced")
    single = await telegram.send(build.command(chat, ann, "calendar"), ann["id"])
    assert single_text.format(home.email) in single.text
