"""The time zone resolver: IANA names in any case, cities, offsets, places in English and
Russian through the Open-Meteo stand-in, and a clear refusal for anything else."""

from __future__ import annotations

import sys
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from common.features.geocoding import GeocodingUnavailable, OpenMeteoGeocoder
from common.features.timezones import (
    _FRACTIONAL_ZONES,
    AmbiguousTimezone,
    ResolvedZone,
    TimezoneError,
    TimezoneLookupUnavailable,
    UnknownTimezone,
    UnsupportedOffset,
    _canonical_zones,
    format_offset,
    known_zone,
    resolve_timezone,
    zone_or_default,
)
from common.infrastructure.http_client import client_session
from sandbox.open_meteo import OpenMeteoStandIn
from sandbox.server import ScriptedServer


@pytest.fixture(scope="module")
def open_meteo() -> Iterator[OpenMeteoStandIn]:
    with OpenMeteoStandIn() as server:
        yield server


@pytest.fixture
async def places(open_meteo: OpenMeteoStandIn) -> AsyncIterator[OpenMeteoGeocoder]:
    async with client_session() as http:
        yield OpenMeteoGeocoder(http, open_meteo.geocoding_url, open_meteo.forecast_url, 5)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("america/new york", "America/New_York"),
        ("  Asia/Tokyo \n", "Asia/Tokyo"),
        ("UTC", "UTC"),
        ("gmt", "UTC"),
        ("Etc/GMT-3", "Etc/GMT-3"),
    ],
)
async def test_iana_names_in_any_case(typed: str, zone: str) -> None:
    assert await resolve_timezone(typed) == ResolvedZone(zone, "iana")


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("Istanbul", "Europe/Istanbul"),
        ("kolkata", "Asia/Kolkata"),
    ],
)
async def test_the_city_part_of_a_zone_name(typed: str, zone: str) -> None:
    """No lookup needed: the zone database names the city (a canonical zone, not a link)."""
    assert await resolve_timezone(typed) == ResolvedZone(zone, "iana")


@pytest.mark.parametrize(
    ("typed", "zone", "offset"),
    [
        ("UTC+3", "Etc/GMT-3", "UTC+03:00"),
        ("utc+3", "Etc/GMT-3", "UTC+03:00"),
        ("GMT-5", "Etc/GMT+5", "UTC-05:00"),
        ("UTC−5", "Etc/GMT+5", "UTC-05:00"),  # a typographic minus
        ("+3", "Etc/GMT-3", "UTC+03:00"),
        ("UTC +03:00", "Etc/GMT-3", "UTC+03:00"),
        ("UTC+14", "Etc/GMT-14", "UTC+14:00"),
        ("UTC-12", "Etc/GMT+12", "UTC-12:00"),
        ("UTC+0", "UTC", "UTC+00:00"),
        ("+05:30", "Asia/Kolkata", "UTC+05:30"),
        ("+0530", "Asia/Kolkata", "UTC+05:30"),
        ("UTC+5:45", "Asia/Kathmandu", "UTC+05:45"),
        ("GMT+3:30", "Asia/Tehran", "UTC+03:30"),
        ("-9:30", "Pacific/Marquesas", "UTC-09:30"),
    ],
)
async def test_offsets_become_a_zone_with_that_offset(typed: str, zone: str, offset: str) -> None:
    found = await resolve_timezone(typed)
    assert found.name == zone
    assert format_offset(found.now().utcoffset()) == offset


@pytest.mark.parametrize("typed", ["UTC+15", "GMT-13", "+05:20", "UTC-03:30", "+3:75"])
async def test_offsets_no_zone_keeps_all_year_are_refused(typed: str) -> None:
    with pytest.raises(UnsupportedOffset):
        await resolve_timezone(typed)


def test_fractional_offsets_map_to_zones_that_keep_them_all_year() -> None:
    start = datetime.now(UTC)
    for minutes, name in _FRACTIONAL_ZONES.items():
        for day in range(0, 730, 7):
            at = (start + timedelta(days=day)).astimezone(ZoneInfo(name))
            assert at.utcoffset() == timedelta(minutes=minutes), (name, at)


@pytest.mark.parametrize(
    ("typed", "zone", "place"),
    [
        ("Москва", "Europe/Moscow", "Moscow, Russia"),
        ("москва", "Europe/Moscow", "Moscow, Russia"),
        ("Токио", "Asia/Tokyo", "Tokyo, Japan"),
        ("Новосибирск", "Asia/Novosibirsk", "Novosibirsk, Russia"),
        ("Санкт-Петербург", "Europe/Moscow", "Saint Petersburg, St.-Petersburg, Russia"),
        ("Beijing", "Asia/Shanghai", "Beijing, China"),
        ("Moscow", "Europe/Moscow", None),  # the zone database's own city, no lookup
        ("Paris", "Europe/Paris", None),
    ],
)
async def test_places_in_english_and_russian_through_geocoding(
    places: OpenMeteoGeocoder, typed: str, zone: str, place: str | None
) -> None:
    found = await resolve_timezone(typed, places, "ru")
    assert (found.name, found.place) == (zone, place)


async def test_a_place_far_larger_than_its_namesakes_wins(
    places: OpenMeteoGeocoder, open_meteo: OpenMeteoStandIn
) -> None:
    """Paris, Texas and Moscow, Idaho exist; asked by the Russian name, Moscow is Moscow."""
    found = await resolve_timezone("Moskva", places)
    assert found.name == "Europe/Moscow"


async def test_several_places_with_other_zones_get_a_question(places: OpenMeteoGeocoder) -> None:
    with pytest.raises(AmbiguousTimezone) as raised:
        await resolve_timezone("Springfield", places)
    zones = [p.timezone for p in raised.value.candidates]
    assert zones == ["America/Chicago", "America/New_York"]
    assert "Massachusetts" in str(raised.value)


@pytest.mark.parametrize(
    "typed", ["", "   ", "Mars/Olympus", "Atlantis", "12345", "🙂", "x" * 500, "\x00"]
)
async def test_unknown_input_is_refused(places: OpenMeteoGeocoder, typed: str) -> None:
    with pytest.raises(UnknownTimezone):
        await resolve_timezone(typed, places)


async def test_a_zone_path_never_goes_to_the_lookup(
    places: OpenMeteoGeocoder, open_meteo: OpenMeteoStandIn
) -> None:
    before = open_meteo.hits["search"]
    with pytest.raises(UnknownTimezone):
        await resolve_timezone("Mars/Olympus", places)
    assert open_meteo.hits["search"] == before


async def test_a_lookup_that_is_down_says_so() -> None:
    async with client_session() as http:
        down = OpenMeteoGeocoder(http, "http://127.0.0.1:9/v1/search", "http://127.0.0.1:9/", 2)
        with pytest.raises(TimezoneLookupUnavailable):
            await resolve_timezone("Москва", down)
        assert (await resolve_timezone("UTC+3", down)).name == "Etc/GMT-3"


async def test_coordinates_give_the_zone_there(places: OpenMeteoGeocoder) -> None:
    assert await places.zone_at(52.52, 13.40) == "Europe/Berlin"
    assert await places.zone_at(35.68, 139.69) == "Asia/Tokyo"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=st.text(max_size=120))
async def test_any_text_is_a_zone_or_a_clear_refusal(places: OpenMeteoGeocoder, text: str) -> None:
    try:
        found = await resolve_timezone(text, places, "en")
    except TimezoneError as refused:
        assert str(refused)
        return
    assert ZoneInfo(found.name).key == found.name


@settings(max_examples=100, deadline=None)
@given(
    sign=st.sampled_from(["+", "-"]),
    hours=st.integers(0, 14),
    prefix=st.sampled_from(["", "UTC", "GMT", "utc ", "Gmt"]),
    colon=st.booleans(),
)
async def test_every_whole_hour_offset_has_its_offset(
    sign: str, hours: int, prefix: str, colon: bool
) -> None:
    text = f"{prefix}{sign}{hours}{':00' if colon else ''}"
    wanted = hours * (1 if sign == "+" else -1)
    if not -12 <= wanted <= 14:
        with pytest.raises(UnsupportedOffset):
            await resolve_timezone(text)
        return
    found = await resolve_timezone(text)
    assert found.now().utcoffset() == timedelta(hours=wanted)


def _corpus() -> list[tuple[str, str]]:
    path = Path(__file__).parent / "data" / "timezone_inputs.tsv"
    rows = (line.split("\t") for line in path.read_text("utf-8").splitlines())
    return [(row[0], row[1]) for row in rows if len(row) == 2 and not row[0].startswith("#")]


_REFUSALS = {
    "!unknown": UnknownTimezone,
    "!ambiguous": AmbiguousTimezone,
    "!offset": UnsupportedOffset,
}


@pytest.mark.parametrize(("typed", "expected"), _corpus())
async def test_the_corpus_of_what_people_type(
    places: OpenMeteoGeocoder, typed: str, expected: str
) -> None:
    if expected in _REFUSALS:
        with pytest.raises(_REFUSALS[expected]):
            await resolve_timezone(typed, places, "ru")
        return
    assert (await resolve_timezone(typed, places, "ru")).name == expected


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(latitude=st.floats(allow_nan=True), longitude=st.floats(allow_infinity=True))
async def test_any_coordinates_give_a_zone_or_a_clear_failure(
    places: OpenMeteoGeocoder, latitude: float, longitude: float
) -> None:
    """What a shared location may carry: the zone there, or `GeocodingUnavailable`."""
    try:
        found = await places.zone_at(latitude, longitude)
    except GeocodingUnavailable:
        return
    assert found is None or ZoneInfo(found if found != "GMT" else "UTC")


@pytest.mark.parametrize("name", [None, "", "Mars/Olympus", "../etc/passwd", "Europe/Berlin\0"])
def test_a_name_that_is_no_zone_is_none(name: str | None) -> None:
    assert known_zone(name) is None


def test_a_users_zone_falls_back_to_the_default_then_utc() -> None:
    assert zone_or_default("Asia/Tokyo", "Europe/Berlin") == ZoneInfo("Asia/Tokyo")
    assert zone_or_default("Mars/Olympus", "Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert zone_or_default(None, "nowhere") == ZoneInfo("UTC")


@settings(max_examples=60)
@given(sign=st.sampled_from("+-"), hours=st.integers(min_value=0, max_value=99))
@example(sign="+", hours=99)
@example(sign="+", hours=97)  # was UTC+1: `UTC+100` read as one hour and 00 minutes
async def test_moscow_time_plus_hours_is_that_offset_or_refused_naming_it(
    sign: str, hours: int
) -> None:
    """МСК±N is Moscow's UTC+3 moved by N hours: a zone, or a refusal naming that offset
    (МСК+99 once said UTC+01:02 and МСК+97 was UTC+1: the sum was read again as text)."""
    offset = 3 + (hours if sign == "+" else -hours)
    try:
        found = await resolve_timezone(f"МСК{sign}{hours}")
    except UnsupportedOffset as refused:
        assert not -12 <= offset <= 14
        assert refused.offset == format_offset(timedelta(hours=offset))
    else:
        assert -12 <= offset <= 14
        assert ZoneInfo(found.name).utcoffset(datetime(2026, 1, 1)) == timedelta(hours=offset)


async def test_places_without_a_zone_are_left_out_of_the_search() -> None:
    """Open-Meteo's results may lack a zone (or a name): such a place cannot set a zone."""
    results = [
        {"name": "Nowhere Station", "country": "Antarctica"},
        {"timezone": "Europe/Paris"},
        "not a place",
        {"name": "Paris", "timezone": "Europe/Paris", "country": "France", "population": 2138551},
    ]

    def search() -> web.Response:
        return web.json_response({"results": results})

    with ScriptedServer("/v1/search", search) as site:
        async with client_session() as http:
            base = f"http://127.0.0.1:{site.port}"
            geocoder = OpenMeteoGeocoder(http, f"{base}/v1/search", f"{base}/", 2)
            [place] = await geocoder.search("Paris")
    assert (place.name, place.timezone, place.population) == ("Paris", "Europe/Paris", 2138551)


def test_without_the_tzdata_package_the_zone_path_names_the_canonical_zones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A host without the tzdata wheel: zone.tab is read from the first folder of the zone
    path that has one; none anywhere means no zone is preferred over its links."""
    monkeypatch.setitem(sys.modules, "tzdata", None)
    monkeypatch.setitem(sys.modules, "tzdata.zoneinfo", None)
    empty, system = tmp_path / "empty", tmp_path / "system"
    empty.mkdir()
    system.mkdir()
    (system / "zone.tab").write_text(
        "# country\tcoordinates\tTZ\tcomments\n"
        "TR\t+4101+02858\tEurope/Istanbul\n"
        "JP\t+353916+1394441\tAsia/Tokyo\n"
        "short line\n",
        "utf-8",
    )
    monkeypatch.setattr(zoneinfo, "TZPATH", (str(empty), str(system)))
    assert _canonical_zones() == {"Europe/Istanbul", "Asia/Tokyo"}
    monkeypatch.setattr(zoneinfo, "TZPATH", (str(empty),))
    assert _canonical_zones() == frozenset()
