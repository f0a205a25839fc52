"""/timezone from what people type (IANA names in any case, cities in English and Russian
through the Open-Meteo stand-in, UTC offsets), a shared location, refusals that ask back,
and the offer to move reminders made under the assumed zone."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.infrastructure.rest_client import RestClient
from sandbox import telegram_updates as build
from sandbox.open_meteo import OpenMeteoStandIn
from sandbox.telegram_api import TelegramStandIn
from tg_bot.tests.handlers.test_commands import Chat, shown

TIME = re.compile(r"\d\d:\d\d")


@pytest.fixture(scope="module")
def open_meteo() -> Iterator[OpenMeteoStandIn]:
    with OpenMeteoStandIn() as server:
        yield server


@pytest.fixture
async def rest(rest_url: str, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(rest_url, secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
def bot(run_bot, rest_url: str, open_meteo: OpenMeteoStandIn):
    """The bot with Open-Meteo pointed at the stand-in."""
    return lambda: run_bot(
        GEOCODING_API_URL=open_meteo.geocoding_url, WEATHER_API_URL=open_meteo.forecast_url
    )


def someone(language: str = "en") -> dict:
    return build.user(random.randint(10**8, 10**9), "Anna", language_code=language)


def zone_set(language: str, zone: str, offset: str) -> str:
    """The confirmation with any clock time."""
    text = shown(language, "timezone.set", zone=zone, offset=offset, time="HH:MM")
    return re.escape(text).replace("HH:MM", r"\d\d:\d\d")


@pytest.mark.parametrize(
    ("typed", "zone", "offset"),
    [
        ("europe/berlin", "Europe/Berlin", None),
        ("Berlin", "Europe/Berlin", None),
        ("new york", "America/New_York", None),
        ("UTC+3", "Etc/GMT-3", "UTC+03:00"),
        ("GMT-5", "Etc/GMT+5", "UTC-05:00"),
        ("+05:30", "Asia/Kolkata", "UTC+05:30"),
        ("UTC+5:45", "Asia/Kathmandu", "UTC+05:45"),
    ],
)
async def test_names_cities_and_offsets_set_the_zone(
    bot, telegram: TelegramStandIn, rest: RestClient, typed: str, zone: str, offset: str | None
) -> None:
    chat = Chat(telegram, someone())
    async with bot():
        answer = await chat.text(f"/timezone {typed}")
    stored = (await rest.get_user_by_telegram(chat.user["id"])).timezone
    assert stored == zone
    offset = offset or _offset(zone)
    assert re.fullmatch(zone_set("en", zone, offset), answer), answer


@pytest.mark.parametrize(
    ("typed", "zone", "place"),
    [
        ("Москва", "Europe/Moscow", "Moscow, Russia"),
        ("Токио", "Asia/Tokyo", "Tokyo, Japan"),
        ("новосибирск", "Asia/Novosibirsk", "Novosibirsk, Russia"),
    ],
)
async def test_russian_city_names_through_the_geocoder(
    bot, telegram: TelegramStandIn, rest: RestClient, typed: str, zone: str, place: str
) -> None:
    chat = Chat(telegram, someone("ru"))
    async with bot():
        answer = await chat.text(f"/timezone {typed}")
    assert (await rest.get_user_by_telegram(chat.user["id"])).timezone == zone
    confirmed, found = answer.split("\n\n")[:2]
    assert re.fullmatch(zone_set("ru", zone, _offset(zone)), confirmed)
    assert found == shown("ru", "timezone.found_place", place=place)


async def test_refusals_ask_back_and_change_nothing(
    bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    chat = Chat(telegram, someone())
    async with bot():
        ambiguous = await chat.text("/timezone Springfield")
        half_hour = await chat.text("/timezone UTC-03:30")
        unknown = await chat.text("/timezone Atlantis")
        path = await chat.text("/timezone Mars/Olympus")
    assert "Springfield" in ambiguous
    assert "/timezone America/Chicago" in ambiguous and "/timezone America/New_York" in ambiguous
    assert half_hour == shown("en", "timezone.offset_unsupported", offset="UTC-03:30")
    assert unknown == shown("en", "timezone.invalid", zone="Atlantis")
    assert path == shown("en", "timezone.invalid", zone="Mars/Olympus")
    assert (await rest.get_user_by_telegram(chat.user["id"])).timezone is None


async def test_a_lookup_that_is_down_gets_an_apology_with_other_ways(
    run_bot, rest_url: str, telegram: TelegramStandIn, rest: RestClient
) -> None:
    chat = Chat(telegram, someone())
    async with run_bot(GEOCODING_API_URL="http://127.0.0.1:9/v1/search"):
        assert await chat.text("/timezone Москва") == shown("en", "timezone.lookup_down")
        assert "Etc/GMT-3" in await chat.text("/timezone UTC+3")


async def test_a_shared_location_sets_the_zone(
    bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    anna = someone()
    here = {"latitude": 52.520008, "longitude": 13.404954}
    async with bot():
        telegram.inject(build.message(build.private_chat(anna), anna, location=here))
        [answer] = await telegram.wait_sent(1, anna["id"])
    assert re.fullmatch(zone_set("en", "Europe/Berlin", _offset("Europe/Berlin")), answer.text)
    assert (await rest.get_user_by_telegram(anna["id"])).timezone == "Europe/Berlin"


async def test_reminders_made_under_the_assumed_zone_are_offered_and_moved(
    bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    chat = Chat(telegram, someone())
    async with bot():
        await chat.text("/timezone")  # makes the user, who has no zone
        user = await rest.get_user_by_telegram(chat.user["id"])
        in_two_days = (datetime.now(UTC) + timedelta(days=2)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        once = await rest.create_cron_job(
            name="dentist", chat_id=chat.user["id"], user_id=user.id, text="dentist",
            run_at=in_two_days,
        )  # fmt: skip
        daily = await rest.create_cron_job(
            name="water", chat_id=chat.user["id"], user_id=user.id, text="drink water",
            cron_expression="30 8 * * *",
        )  # fmt: skip
        assert once.timezone == "UTC" and once.timezone_assumed

        offered = await chat.text("/timezone Tokyo")
        assert "dentist" in offered and "drink water" in offered
        assert "/timezone move" in offered and "**" not in offered
        moved = await chat.text("/timezone move")
        again = await chat.text("/timezone move")

    assert "dentist" in moved and "drink water" in moved
    assert again == shown("en", "timezone.nothing_to_move")
    tokyo = ZoneInfo("Asia/Tokyo")
    once = await rest.get_cron_job(once.id)
    daily = await rest.get_cron_job(daily.id)
    assert once.timezone == daily.timezone == "Asia/Tokyo"
    assert not once.timezone_assumed and not daily.timezone_assumed
    once_local = datetime.fromisoformat(str(once.run_at)).astimezone(tokyo)
    assert (once_local.date(), once_local.hour, once_local.minute) == (in_two_days.date(), 9, 0)
    assert datetime.fromisoformat(str(once.next_run_at)) == once_local
    daily_local = datetime.fromisoformat(str(daily.next_run_at)).astimezone(tokyo)
    assert (daily_local.hour, daily_local.minute) == (8, 30)


async def test_keep_leaves_reminders_and_stops_offering(
    bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    chat = Chat(telegram, someone("ru"))
    async with bot():
        await chat.text("/timezone")
        user = await rest.get_user_by_telegram(chat.user["id"])
        job = await rest.create_cron_job(
            name="x", chat_id=chat.user["id"], user_id=user.id, text="позвонить маме",
            cron_expression="0 19 * * *",
        )  # fmt: skip
        assert "позвонить маме" in await chat.text("/timezone Москва")
        assert await chat.text("/timezone оставить") == shown("ru", "timezone.kept", count=1)
        second = await chat.text("/timezone UTC+3")
    assert "позвонить маме" not in second
    kept = await rest.get_cron_job(job.id)
    assert (kept.timezone, kept.timezone_assumed) == ("UTC", False)


async def test_move_before_any_zone_asks_for_one(bot, telegram: TelegramStandIn) -> None:
    chat = Chat(telegram, someone())
    async with bot():
        assert await chat.text("/timezone move") == shown("en", "timezone.move_needs_zone")


def _offset(zone: str) -> str:
    offset = datetime.now(ZoneInfo(zone)).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    return f"UTC{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


async def test_a_location_when_the_lookup_is_down_says_so_and_keeps_the_zone(
    run_bot, rest_url: str, telegram: TelegramStandIn, rest: RestClient
) -> None:
    chat = Chat(telegram, someone())
    here = {"latitude": 52.520008, "longitude": 13.404954}
    dead = "http://127.0.0.1:9/v1"
    async with run_bot(GEOCODING_API_URL=f"{dead}/search", WEATHER_API_URL=f"{dead}/forecast"):
        assert "Europe/Berlin" in await chat.text("/timezone Europe/Berlin")
        chat.telegram.inject(build.message(build.private_chat(chat.user), chat.user, location=here))
        [_, answer] = await telegram.wait_sent(2, chat.user["id"])
    assert answer.text == shown("en", "timezone.location_failed")
    assert (await rest.get_user_by_telegram(chat.user["id"])).timezone == "Europe/Berlin"


async def test_a_reminder_already_past_in_the_new_zone_is_not_moved_and_says_so(
    bot, telegram: TelegramStandIn, rest: RestClient
) -> None:
    """Half an hour from now in UTC, as the same clock time twelve hours ahead of UTC, has
    passed: moving it would make a reminder for the past."""
    chat = Chat(telegram, someone())
    async with bot():
        await chat.text("/timezone")  # makes the user, who has no zone
        user = await rest.get_user_by_telegram(chat.user["id"])
        soon = (datetime.now(UTC) + timedelta(minutes=30)).replace(second=0, microsecond=0)
        job = await rest.create_cron_job(
            name="tea", chat_id=chat.user["id"], user_id=user.id, text="make tea", run_at=soon
        )
        assert "make tea" in await chat.text("/timezone UTC+12")
        answer = await chat.text("/timezone move")
    assert answer.startswith(shown("en", "timezone.move_passed", zone="Etc/GMT-12", reminders=""))
    assert "make tea" in answer and "Moved" not in answer
    kept = await rest.get_cron_job(job.id)
    assert kept.timezone == "UTC" and datetime.fromisoformat(str(kept.run_at)) == soon
