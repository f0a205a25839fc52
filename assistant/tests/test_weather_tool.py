"""The `weather` tool against the Open-Meteo stand-in, cached in real Redis."""

from __future__ import annotations

import pytest
from aiohttp import web

from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.weather_tool import WeatherTool
from assistant.tests.support import call_context, tool_spec
from sandbox.server import ScriptedServer

SPEC = tool_spec("weather")


@pytest.fixture
def weather(services: ToolServices) -> WeatherTool:
    return WeatherTool(SPEC, services)


async def test_current_weather_and_a_few_days_for_a_city(weather) -> None:
    result = await weather.run({"location": "Berlin", "days": 3}, call_context())
    assert result["place"] == "Berlin, Land Berlin, Germany"
    assert result["timezone"] == "Europe/Berlin"
    assert isinstance(result["current"]["temperature_c"], float)
    assert result["current"]["conditions"]
    assert len(result["daily"]) == 3 and result["daily"][0]["max_c"] is not None


async def test_a_repeated_question_is_answered_from_the_cache(
    weather, open_meteo, redis, names
) -> None:
    first = await weather.run({"location": "Paris"}, call_context())
    hits = dict(open_meteo.hits)
    second = await weather.run({"location": "paris"}, call_context())
    assert second == first and dict(open_meteo.hits) == hits
    ttl = await redis.ttl(names.weather_cache("Paris", 3))
    assert 0 < ttl <= weather.services.settings.weather_cache_seconds


async def test_an_unknown_place_is_a_clear_tool_error(weather) -> None:
    with pytest.raises(ToolError, match="unknown place 'Atlantis'"):
        await weather.run({"location": "Atlantis"}, call_context())


async def test_the_weather_service_down_is_a_tool_error(services) -> None:
    broken = services.settings.model_copy(
        update={"geocoding_api_url": "http://127.0.0.1:9/v1/search"}
    )
    tool = WeatherTool(
        SPEC, ToolServices(broken, services.redis, services.names, services.rest, services.http)
    )
    with pytest.raises(ToolError, match="weather service unreachable"):
        await tool.run({"location": "London"}, call_context())


async def test_a_location_longer_than_any_place_name_is_a_tool_error_not_a_crash(weather) -> None:
    # Found by the tool-argument property test: 11 000 Cyrillic letters made the geocoder's
    # URL too long for httpx (InvalidURL), which surfaced as "internal error in the tool".
    with pytest.raises(ToolError, match="at most 200"):
        await weather.run({"location": "я" * 11_000}, call_context())


async def test_a_blank_location_asks_for_a_place_before_any_request(weather, open_meteo) -> None:
    with pytest.raises(ToolError, match="'location' is empty: name a city or place"):
        await weather.run({"location": " \t "}, call_context())
    assert not any(open_meteo.hits.values())


def forecast_refused() -> web.Response:
    """Open-Meteo's own error shape, as it answers a request it cannot serve."""
    body = {"error": True, "reason": "Parameter 'forecast_days' is out of allowed range"}
    return web.json_response(body, status=400)


async def test_the_weather_services_own_refusal_reaches_the_model_with_its_reason(
    services, open_meteo
) -> None:
    with ScriptedServer("/v1/forecast", forecast_refused) as forecast:
        settings = services.settings.model_copy(update={"weather_api_url": forecast.url})
        tool = WeatherTool(
            SPEC,
            ToolServices(settings, services.redis, services.names, services.rest, services.http),
        )
        with pytest.raises(ToolError, match="weather service error 400: Parameter 'forecast_days'"):
            await tool.run({"location": "Berlin"}, call_context())
