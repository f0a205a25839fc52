"""Places and their time zones from Open-Meteo: the geocoding search (`GEOCODING_API_URL`),
whose results carry the place's IANA zone, and the forecast API (`WEATHER_API_URL`) asked
with `timezone=auto`, which names the zone at a pair of coordinates. Used by the time zone
resolver (`common/features/timezones.py`) in tg_bot and the assistant, over the caller's one aiohttp
session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from common.infrastructure.http_client import UNREADABLE, failure_name, send


class GeocodingUnavailable(Exception):
    """Open-Meteo did not answer, or answered with an error."""


@dataclass(frozen=True)
class GeoPlace:
    name: str
    timezone: str
    country: str | None = None
    admin1: str | None = None
    population: int = 0

    @property
    def label(self) -> str:
        """ "Springfield, Illinois, United States"."""
        parts = [self.name, self.admin1 if self.admin1 != self.name else None, self.country]
        return ", ".join(p for p in parts if p)


class OpenMeteoGeocoder:
    """The two Open-Meteo calls the resolver needs, over a caller-owned aiohttp session."""

    def __init__(
        self, http: aiohttp.ClientSession, search_url: str, forecast_url: str, timeout: float
    ) -> None:
        self._http = http
        self._search_url = search_url
        self._forecast_url = forecast_url
        self._timeout = timeout

    async def search(self, name: str, language: str | None = None) -> list[GeoPlace]:
        """Places called `name` (in any language), most relevant first; only those with a zone."""
        params = {"name": name, "count": "10", "format": "json", "language": language or "en"}
        body = await self._get(self._search_url, params)
        return [place for raw in body.get("results") or [] if (place := _place(raw))]

    async def zone_at(self, latitude: float, longitude: float) -> str | None:
        """The IANA zone Open-Meteo reports for these coordinates."""
        params = {
            "latitude": f"{latitude:.4f}",
            "longitude": f"{longitude:.4f}",
            "timezone": "auto",
            "forecast_days": "1",
        }
        body = await self._get(self._forecast_url, params)
        zone = body.get("timezone")
        return zone if isinstance(zone, str) and zone else None

    async def _get(self, url: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            answer = await send(self._http, "GET", url, params=params, timeout=self._timeout)
            body = answer.json()
        except UNREADABLE as exc:
            raise GeocodingUnavailable(f"Open-Meteo unreachable ({failure_name(exc)})") from exc
        if answer.status >= 400 or not isinstance(body, dict) or body.get("error"):
            raise GeocodingUnavailable(f"Open-Meteo answered {answer.status}")
        return body


def _place(raw: Any) -> GeoPlace | None:
    if not isinstance(raw, dict) or not raw.get("timezone") or not raw.get("name"):
        return None
    population = raw.get("population")
    return GeoPlace(
        name=str(raw["name"]),
        timezone=str(raw["timezone"]),
        country=raw.get("country"),
        admin1=raw.get("admin1"),
        population=population if isinstance(population, int) else 0,
    )
