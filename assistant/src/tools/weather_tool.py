"""`weather`: current conditions and a few days' forecast for a place, via Open-Meteo
geocoding + forecast, cached briefly in Redis (the weather changes slowly, users repeat)."""

from __future__ import annotations

import json
from typing import Any

from assistant.src.clients.open_meteo import OpenMeteoClient, WeatherServiceError
from assistant.src.tools.base import BaseTool, ToolCallOrigin, ToolError

DEFAULT_DAYS = 3
MAX_DAYS = 16

#: WMO weather interpretation codes, as Open-Meteo documents them.
WMO_CODES = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "depositing rime fog",
    51: "light drizzle",
    53: "moderate drizzle",
    55: "dense drizzle",
    56: "light freezing drizzle",
    57: "dense freezing drizzle",
    61: "slight rain",
    63: "moderate rain",
    65: "heavy rain",
    66: "light freezing rain",
    67: "heavy freezing rain",
    71: "slight snowfall",
    73: "moderate snowfall",
    75: "heavy snowfall",
    77: "snow grains",
    80: "slight rain showers",
    81: "moderate rain showers",
    82: "violent rain showers",
    85: "slight snow showers",
    86: "heavy snow showers",
    95: "thunderstorm",
    96: "thunderstorm with slight hail",
    99: "thunderstorm with heavy hail",
}


def conditions(code: Any) -> str | None:
    return WMO_CODES.get(code) if isinstance(code, int) else None


def summarize(place_label: str, body: dict[str, Any]) -> dict[str, Any]:
    """Open-Meteo's columns as a few readable fields per day."""
    current = body.get("current") or {}
    daily = body.get("daily") or {}
    days = [
        {
            "date": date,
            "conditions": conditions(_at(daily, "weather_code", i)),
            "min_c": _at(daily, "temperature_2m_min", i),
            "max_c": _at(daily, "temperature_2m_max", i),
            "precipitation_mm": _at(daily, "precipitation_sum", i),
            "precipitation_probability_pct": _at(daily, "precipitation_probability_max", i),
        }
        for i, date in enumerate(daily.get("time") or [])
    ]
    return {
        "place": place_label,
        "timezone": body.get("timezone"),
        "current": {
            "time": current.get("time"),
            "conditions": conditions(current.get("weather_code")),
            "temperature_c": current.get("temperature_2m"),
            "feels_like_c": current.get("apparent_temperature"),
            "humidity_pct": current.get("relative_humidity_2m"),
            "wind_kmh": current.get("wind_speed_10m"),
        },
        "daily": days,
    }


def _at(columns: dict[str, Any], name: str, index: int) -> Any:
    values = columns.get(name) or []
    return values[index] if index < len(values) else None


#: The longest place name the tool looks up (the longest real ones are under 200).
MAX_LOCATION_CHARS = 200


class WeatherTool(BaseTool, tool_type="weather"):
    @property
    def client(self) -> OpenMeteoClient:
        settings = self.services.settings
        return OpenMeteoClient(
            self.services.http,
            settings.geocoding_api_url,
            settings.weather_api_url,
            settings.weather_timeout_seconds,
        )

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        location = str(arguments["location"]).strip()
        if not location:
            raise ToolError("'location' is empty: name a city or place")
        if len(location) > MAX_LOCATION_CHARS:
            # No place name is this long, and the geocoder's URL could not carry it.
            raise ToolError(
                f"'location' is {len(location)} characters long: name one city or place "
                f"(at most {MAX_LOCATION_CHARS})"
            )
        days = max(1, min(MAX_DAYS, int(arguments.get("days") or DEFAULT_DAYS)))
        key = self.services.names.weather_cache(location, days)
        cached = await self.services.redis.get(key)
        if cached:
            return json.loads(cached)
        result = await self._fetch(location, days, call.actor.language)
        ttl = self.services.settings.weather_cache_seconds
        if ttl:
            await self.services.redis.set(key, json.dumps(result, ensure_ascii=False), ex=ttl)
        return result

    async def _fetch(self, location: str, days: int, language: str | None) -> dict[str, Any]:
        client = self.client
        try:
            place = await client.geocode(location, language)
            if place is None:
                raise ToolError(
                    f"unknown place {location!r}: no city or place of that name was found; "
                    "ask the user for a nearby city"
                )
            body = await client.forecast(place, days)
        except WeatherServiceError as exc:
            raise ToolError(str(exc)) from exc
        return summarize(place.label, body)
