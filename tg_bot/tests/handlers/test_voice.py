"""/voice against a real rest_service: it says the state, sets `voice_replies` for on and off
in English and Russian, refuses other words without changing anything, warns when no speech
model exists, and never answers from a stale cached user."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.texts import NO, OFF, ON, YES
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import ModelCapability
from sandbox import telegram_updates as build
from sandbox.telegram_api import TelegramStandIn
from tg_bot.src.handlers.voice import wanted_state
from tg_bot.src.i18n import Markdown
from tg_bot.src.main import default_commands
from tg_bot.tests.handlers.test_commands import Chat, shown


def someone(language: str) -> dict:
    return build.user(random.randint(10**8, 10**9), "Anna", language_code=language)


@pytest.fixture
async def rest(rest_url: str, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    """The service token's client; asking for it points the bot at the shared rest_service."""
    async with RestClient(rest_url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def admin(rest_url: str, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_url, secrets["ADMIN_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def speech_model(admin: RestClient) -> AsyncIterator[str]:
    """An active speech model of this test's own, deleted afterwards (the rest_service
    process is shared by the session)."""
    suffix = uuid.uuid4().hex[:6]
    provider = await admin.post_json(
        "/api/llm-providers/", {"name": f"voice-{suffix}", "base_url": "http://127.0.0.1:9/v1"}
    )
    model = await admin.post_json(
        "/api/llm-models/",
        {
            "provider_id": provider["id"],
            "provider_model_name": f"tts-{suffix}",
            "capabilities": ["speech"],
        },
    )
    yield model["name"]
    await admin.delete(f"/api/llm-providers/{provider['id']}", cascade=True)


async def stored(rest: RestClient, chat: Chat) -> bool:
    return (await rest.get_user_by_telegram(chat.user["id"])).voice_replies


@pytest.mark.parametrize(("language", "on", "off"), [("en", "on", "OFF"), ("ru", "вкл", "выкл")])
async def test_voice_says_the_state_and_on_off_set_it(
    run_bot, telegram: TelegramStandIn, rest: RestClient, speech_model: str, language, on, off
) -> None:
    chat = Chat(telegram, someone(language))
    async with run_bot():
        assert await chat.text("/voice") == shown(language, "voice.state_off")
        assert await stored(rest, chat) is False
        assert await chat.text(f"/voice {on}") == shown(language, "voice.on")
        assert await stored(rest, chat) is True
        assert await chat.text("/voice") == shown(language, "voice.state_on")
        assert await chat.text(f"/voice {off}") == shown(language, "voice.off")
        assert await stored(rest, chat) is False
        assert await chat.text("/voice") == shown(language, "voice.state_off")


@pytest.mark.parametrize("typed", ["loud", "on please", "🔊"])
async def test_another_word_shows_the_usage_and_changes_nothing(
    run_bot, telegram: TelegramStandIn, rest: RestClient, typed: str
) -> None:
    chat = Chat(telegram, someone("en"))
    async with run_bot():
        assert await chat.text(f"/voice {typed}") == shown("en", "voice.unknown", word=typed)
    assert await stored(rest, chat) is False


async def test_on_without_a_speech_model_says_answers_stay_text(
    run_bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    """The warning follows the models rest_service has right now (the session's rest_service
    is shared, so another test's speech model may exist)."""
    chat = Chat(telegram, someone("en"))
    async with run_bot():
        answer = await chat.text("/voice on")
    can_speak = bool(await rest.list_models(capability=ModelCapability.speech))
    warning = shown("en", "voice.no_model")
    assert answer.startswith(shown("en", "voice.on"))
    assert (warning in answer) is not can_speak
    assert await stored(rest, chat) is True


async def test_a_change_made_elsewhere_is_shown_despite_the_cache(
    run_bot, telegram: TelegramStandIn, rest: RestClient, speech_model: str
) -> None:
    """Another tg_bot replica, or the admin, turned it on: `/voice` reads rest_service, not
    the cached user; and `/voice off` is what the next `/voice` sees."""
    chat = Chat(telegram, someone("en"))
    async with run_bot(USER_CACHE_SECONDS="300"):
        assert await chat.text("/voice") == shown("en", "voice.state_off")
        user = await rest.get_user_by_telegram(chat.user["id"])
        await rest.update_user(user.id, voice_replies=True)
        assert await chat.text("/voice") == shown("en", "voice.state_on")
        assert await chat.text("/voice off") == shown("en", "voice.off")
        assert await chat.text("/voice") == shown("en", "voice.state_off")


async def test_model_offers_no_voice_model(
    run_bot, telegram: TelegramStandIn, rest: RestClient, admin: RestClient, speech_model: str
) -> None:
    """A speech model cannot answer a conversation: /model neither lists nor takes it."""
    (voice,) = [m for m in await admin.list_models() if m.name == speech_model]
    talker = f"talk-{speech_model}"
    body = {"provider_id": str(voice.provider_id), "provider_model_name": talker}
    await admin.post_json("/api/llm-models/", body)  # goes with the fixture's provider
    chat = Chat(telegram, someone("en"))
    async with run_bot():
        listing = await chat.text("/model")
        refused = await chat.text(f"/model {speech_model}")
    assert talker in listing and speech_model not in listing.replace(talker, "")
    assert refused.startswith(shown("en", "model.unknown", name=speech_model, models=Markdown("")))
    assert (await rest.get_user_by_telegram(chat.user["id"])).preferred_model is None


def test_voice_is_in_the_command_menu_of_every_language() -> None:
    for language, menu in default_commands().menus().items():
        assert "voice" in {entry["command"] for entry in menu}, language


#: Every language's yes and "on" words turn it on (German "an"), its no and "off" words off.
ON_WORDS = YES | ON
OFF_WORDS = NO | OFF


def test_the_german_on_and_off_words_are_taken_in_any_case() -> None:
    assert wanted_state("AN") is True
    assert wanted_state("Aus") is False


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=20), st.sampled_from(sorted(ON_WORDS | OFF_WORDS))))
def test_only_the_on_and_off_words_change_the_setting(typed: str) -> None:
    word = typed.strip().casefold()
    expected = True if word in ON_WORDS else False if word in OFF_WORDS else None
    assert wanted_state(typed) is expected
    assert wanted_state(f"  {typed.upper()}\n") is wanted_state(typed.upper())
