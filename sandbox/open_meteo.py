"""An Open-Meteo stand-in: geocoding (`/v1/search`) and forecast (`/v1/forecast`) in the real
API's response shapes, over a small catalogue of places with deterministic weather.

Standalone: `python -m sandbox.open_meteo --port 8091`, then
`GEOCODING_API_URL=http://127.0.0.1:8091/v1/search` and
`WEATHER_API_URL=http://127.0.0.1:8091/v1/forecast`. In-process:
`OpenMeteoStandIn().start_in_thread()`; `.hits` counts requests per path, `.delay` slows
every answer (to show caching and concurrent calls).
"""

from __future__ import annotations

import argparse
import asyncio
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from sandbox.server import StandInServer


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    latitude: float
    longitude: float
    elevation: float
    country_code: str
    country: str
    admin1: str
    timezone: str
    population: int
    aliases: tuple[str, ...] = ()


# id | name | latitude | longitude | elevation | country code | country | admin1 | timezone |
# population | other names people use (lower case, comma-separated)
_CATALOGUE = """
2950159|Berlin|52.52437|13.41053|74|DE|Germany|Land Berlin|Europe/Berlin|3426354|берлин
2643743|London|51.50853|-0.12574|25|GB|United Kingdom|England|Europe/London|8961989|лондон
524901|Moscow|55.75222|37.61556|144|RU|Russia|Moscow|Europe/Moscow|10381222|москва,москве,moskva
2988507|Paris|48.85341|2.3488|42|FR|France|Île-de-France|Europe/Paris|2138551|париж,париже
5128581|New York|40.71427|-74.00597|10|US|United States|New York|America/New_York|8804190|nyc
1850147|Tokyo|35.6895|139.69171|44|JP|Japan|Tokyo|Asia/Tokyo|8336599|токио
498817|Saint Petersburg|59.94|30.3|11|RU|Russia|St.-Petersburg|Europe/Moscow|5351935|санкт-петербург
1816670|Beijing|39.9075|116.39723|49|CN|China|Beijing|Asia/Shanghai|18960744|пекин
1496747|Novosibirsk|55.0415|82.9346|162|RU|Russia|Novosibirsk|Asia/Novosibirsk|1419007|новосибирск
2013348|Vladivostok|43.10562|131.87353|49|RU|Russia|Primorye|Asia/Vladivostok|604901|владивосток
703448|Kyiv|50.45466|30.5238|187|UA|Ukraine|Kyiv City|Europe/Kyiv|2797553|киев,київ,kiev
1275004|Kolkata|22.56263|88.36304|11|IN|India|West Bengal|Asia/Kolkata|4631392|калькутта,calcutta
4717560|Paris|33.66094|-95.55551|183|US|United States|Texas|America/Chicago|24171|
5601538|Moscow|46.73239|-117.00017|786|US|United States|Idaho|America/Los_Angeles|25146|
4409896|Springfield|37.21533|-93.29824|397|US|United States|Missouri|America/Chicago|169176|
4951788|Springfield|42.10148|-72.58981|21|US|United States|Massachusetts|America/New_York|155929|
4250542|Springfield|39.80172|-89.64371|181|US|United States|Illinois|America/Chicago|116565|
"""


def _parse_catalogue(text: str) -> tuple[Place, ...]:
    places = []
    for row in filter(None, text.splitlines()):
        pid, name, lat, lon, elev, code, country, admin1, tz, pop, aliases = row.split("|")
        where = (float(lat), float(lon), float(elev))
        names = tuple(a for a in aliases.split(",") if a)
        places.append(Place(int(pid), name, *where, code, country, admin1, tz, int(pop), names))
    return tuple(places)


PLACES = _parse_catalogue(_CATALOGUE)

CURRENT_VARIABLES = {
    "temperature_2m": "°C",
    "apparent_temperature": "°C",
    "relative_humidity_2m": "%",
    "weather_code": "wmo code",
    "wind_speed_10m": "km/h",
    "precipitation": "mm",
    "is_day": "",
    "cloud_cover": "%",
}
DAILY_VARIABLES = {
    "weather_code": "wmo code",
    "temperature_2m_max": "°C",
    "temperature_2m_min": "°C",
    "precipitation_sum": "mm",
    "precipitation_probability_max": "%",
    "wind_speed_10m_max": "km/h",
}


class BadParameter(ValueError):
    pass


def find_places(name: str, count: int) -> list[Place]:
    wanted = name.strip().casefold()
    found = [p for p in PLACES if p.name.casefold().startswith(wanted) or wanted in p.aliases]
    # Open-Meteo ranks by relevance, which for a name is mostly population.
    return sorted(found, key=lambda p: -p.population)[:count]


def _geo_json(place: Place) -> dict[str, Any]:
    return {
        "id": place.id,
        "name": place.name,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "elevation": place.elevation,
        "feature_code": "PPLC",
        "country_code": place.country_code,
        "admin1_id": place.id + 1,
        "timezone": place.timezone,
        "population": place.population,
        "country_id": place.id + 2,
        "country": place.country,
        "admin1": place.admin1,
    }


def _nearest(latitude: float, longitude: float) -> Place | None:
    best = min(PLACES, key=lambda p: (p.latitude - latitude) ** 2 + (p.longitude - longitude) ** 2)
    close = abs(best.latitude - latitude) < 0.5 and abs(best.longitude - longitude) < 0.5
    return best if close else None


def _value(variable: str, seed: float, offset: int) -> float | int:
    """Deterministic, plausible numbers: the same place and day always read the same."""
    wave = math.sin(seed + offset * 0.9)
    table: dict[str, float | int] = {
        "temperature_2m": round(12 + 10 * wave, 1),
        "apparent_temperature": round(10 + 10 * wave, 1),
        "relative_humidity_2m": int(60 + 30 * wave),
        "weather_code": (0, 1, 2, 3, 45, 61, 63, 71, 80, 95)[int(abs(wave) * 9.99)],
        "wind_speed_10m": round(8 + 6 * abs(wave), 1),
        "precipitation": round(max(0.0, 2 * wave), 1),
        "is_day": 1,
        "cloud_cover": int(50 + 50 * wave),
        "temperature_2m_max": round(15 + 10 * wave, 1),
        "temperature_2m_min": round(5 + 8 * wave, 1),
        "precipitation_sum": round(max(0.0, 4 * wave), 1),
        "precipitation_probability_max": int(50 + 50 * wave),
        "wind_speed_10m_max": round(15 + 10 * abs(wave), 1),
    }
    return table[variable]


def _variables(raw: str | None, allowed: dict[str, str], key: str) -> list[str]:
    names = [v for v in (raw or "").split(",") if v]
    for name in names:
        if name not in allowed:
            raise BadParameter(
                f"Cannot initialize WeatherVariable from invalid String value {name} for key {key}"
            )
    return names


def forecast(query: dict[str, str]) -> dict[str, Any]:
    try:
        latitude, longitude = float(query["latitude"]), float(query["longitude"])
    except (KeyError, ValueError) as exc:
        raise BadParameter("Parameter 'latitude' and 'longitude' must be numbers") from exc
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise BadParameter(f"Latitude must be in range of -90 to 90°. Given: {latitude}.")
    days = int(query.get("forecast_days", "7"))
    if not 0 <= days <= 16:
        raise BadParameter("Forecast days is invalid. Allowed range 0 to 16.")
    current = _variables(query.get("current"), CURRENT_VARIABLES, "current")
    daily = _variables(query.get("daily"), DAILY_VARIABLES, "daily")
    place = _nearest(latitude, longitude)
    zone_name = query.get("timezone", "GMT")
    if zone_name == "auto":
        zone_name = place.timezone if place else "GMT"
    zone = ZoneInfo(zone_name if zone_name != "GMT" else "UTC")
    now = datetime.now(UTC).astimezone(zone)
    offset = int(now.utcoffset().total_seconds()) if now.utcoffset() else 0
    seed = latitude + longitude
    body: dict[str, Any] = {
        "latitude": round(latitude, 4),
        "longitude": round(longitude, 4),
        "generationtime_ms": 0.05,
        "utc_offset_seconds": offset,
        "timezone": zone_name,
        "timezone_abbreviation": now.tzname() or "GMT",
        "elevation": place.elevation if place else 0.0,
    }
    if current:
        stamp = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        body["current_units"] = {"time": "iso8601", "interval": "seconds"} | {
            v: CURRENT_VARIABLES[v] for v in current
        }
        body["current"] = {"time": stamp.strftime("%Y-%m-%dT%H:%M"), "interval": 900} | {
            v: _value(v, seed, 0) for v in current
        }
    if daily:
        dates = [(now.date() + timedelta(days=i)).isoformat() for i in range(days)]
        body["daily_units"] = {"time": "iso8601"} | {v: DAILY_VARIABLES[v] for v in daily}
        body["daily"] = {"time": dates} | {
            v: [_value(v, seed, i) for i in range(days)] for v in daily
        }
    return body


class OpenMeteoStandIn(StandInServer):
    thread_name = "open-meteo-stand-in"

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.delay = 0.0
        super().__init__()

    @property
    def geocoding_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/search"

    @property
    def forecast_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/forecast"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/search", self._search)
        app.router.add_get("/v1/forecast", self._forecast)
        return app

    async def _search(self, request: web.Request) -> web.Response:
        self.hits["search"] += 1
        await asyncio.sleep(self.delay)
        name = request.query.get("name", "")
        count = int(request.query.get("count", "10"))
        results = [_geo_json(p) for p in find_places(name, count)] if len(name) >= 2 else []
        body: dict[str, Any] = {"generationtime_ms": 0.3}
        if results:
            body["results"] = results
        return web.json_response(body)

    async def _forecast(self, request: web.Request) -> web.Response:
        self.hits["forecast"] += 1
        await asyncio.sleep(self.delay)
        try:
            return web.json_response(forecast(dict(request.query)))
        except (BadParameter, ValueError) as exc:
            return web.json_response({"error": True, "reason": str(exc)}, status=400)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    web.run_app(OpenMeteoStandIn().app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
