"""Open-Meteo over aiohttp: geocoding a place name, then current weather and a daily
forecast for its coordinates. No key; both URLs are settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from common.infrastructure.http_client import UNREADABLE, failure_name, send

CURRENT = "temperature_2m,apparent_temperature,relative_humidity_2m,weather_code,wind_speed_10m"
DAILY = (
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,"
    "precipitation_probability_max"
)


class WeatherServiceError(Exception):
    """Open-Meteo did not answer, or answered with an error."""


@dataclass(frozen=True)
class Place:
    name: str
    latitude: float
    longitude: float
    country: str | None
    admin1: str | None
    timezone: str | None

    @property
    def label(self) -> str:
        parts = [self.name, self.admin1 if self.admin1 != self.name else None, self.country]
        return ", ".join(p for p in parts if p)


class OpenMeteoClient:
    def __init__(
        self, http: aiohttp.ClientSession, geocoding_url: str, forecast_url: str, timeout: float
    ) -> None:
        self._http = http
        self._geocoding_url = geocoding_url
        self._forecast_url = forecast_url
        self._timeout = timeout

    async def geocode(self, name: str, language: str | None = None) -> Place | None:
        """The best match for a place name; None when Open-Meteo knows no such place."""
        params = {"name": name, "count": "1", "format": "json", "language": language or "en"}
        body = await self._get(self._geocoding_url, params)
        results = body.get("results") or []
        if not results:
            return None
        top = results[0]
        return Place(
            name=top["name"],
            latitude=float(top["latitude"]),
            longitude=float(top["longitude"]),
            country=top.get("country"),
            admin1=top.get("admin1"),
            timezone=top.get("timezone"),
        )

    async def forecast(self, place: Place, days: int) -> dict[str, Any]:
        params = {
            "latitude": f"{place.latitude:.4f}",
            "longitude": f"{place.longitude:.4f}",
            "current": CURRENT,
            "daily": DAILY,
            "timezone": place.timezone or "auto",
            "forecast_days": str(days),
        }
        return await self._get(self._forecast_url, params)

    async def _get(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            answer = await send(self._http, "GET", url, params=params, timeout=self._timeout)
            body = answer.json()
        except UNREADABLE as exc:
            raise WeatherServiceError(f"weather service unreachable ({failure_name(exc)})") from exc
        status = answer.status
        if status >= 400 or not isinstance(body, dict) or body.get("error"):
            reason = body.get("reason") if isinstance(body, dict) else None
            raise WeatherServiceError(f"weather service error {status}: {reason or body}")
        return body
