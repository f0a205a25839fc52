"""What people type for a time zone, as an IANA name that ZoneInfo and rest_service accept.

Tried in this order (docs/decisions/0014-time-zones-from-what-people-type.md):
1. an IANA name in any case, spaces for underscores: `europe/berlin`, `America/New York`;
2. a UTC/GMT offset: `UTC+3`, `GMT-5`, `+05:30`, `UTC+5:45`, or Moscow's (`МСК+2`). Whole
   hours become `Etc/GMT∓N` (the zone database inverts the sign: UTC+3 is `Etc/GMT-3`); others
   become the zone that keeps that offset all year (`+05:30` → Asia/Kolkata), and an offset
   no zone keeps all year (`-03:30`, Newfoundland's winter) is refused, asking for the city;
3. the city part of an IANA name: `Berlin`, `new york`, `buenos aires`;
4. a place name in any language through Open-Meteo's geocoding (`Москва`, `Токио`): one
   zone among the results, or one place ten times larger than every other with another
   zone; otherwise the question lists the candidates.
Anything else is `UnknownTimezone`: the caller asks again, it never guesses.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol

from common.features.geocoding import GeocodingUnavailable, GeoPlace
from common.infrastructure.clock import utcnow

#: Longer input is no zone name; it is refused before any lookup.
MAX_INPUT = 80
#: A place wins over others with another zone when it is this many times more populous.
DOMINANT_POPULATION = 10
MAX_CANDIDATES = 5

Source = Literal["iana", "offset", "place", "location"]

#: Zones that keep a non-whole-hour offset all year (checked by tests); the key is minutes.
_FRACTIONAL_ZONES = {
    -9 * 60 - 30: "Pacific/Marquesas",
    3 * 60 + 30: "Asia/Tehran",
    4 * 60 + 30: "Asia/Kabul",
    5 * 60 + 30: "Asia/Kolkata",
    5 * 60 + 45: "Asia/Kathmandu",
    6 * 60 + 30: "Asia/Yangon",
    8 * 60 + 45: "Australia/Eucla",
    9 * 60 + 30: "Australia/Darwin",
}
_AREAS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
          "Indian", "Pacific")  # fmt: skip
_UTC_WORDS = {"utc", "gmt", "z", "zulu", "utc+0", "utc-0", "gmt+0", "gmt-0", "utc0", "gmt0"}
#: Russian usage: МСК is Moscow time, МСК+2 is two hours ahead of it (Moscow keeps UTC+3).
_MOSCOW = re.compile(r"(?:msk|мск)\s*(?:([+\-−–])\s*(\d{1,2}))?", re.IGNORECASE)
_MOSCOW_OFFSET = 3
_OFFSET = re.compile(
    r"(?:utc|gmt)?\s*([+\-−–])\s*(\d{1,2})(?:\s*(?:[:.h]\s*)?(\d{2}))?\s*(?:h|hours?)?",
    re.IGNORECASE,
)


class TimezoneError(ValueError):
    """The text names no single zone; `str()` says why, for a tool's error."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text


class UnknownTimezone(TimezoneError):
    def __init__(self, text: str) -> None:
        super().__init__(text, f"{text!r} is no time zone, UTC offset or place I know")


class UnsupportedOffset(TimezoneError):
    def __init__(self, text: str, offset: str) -> None:
        super().__init__(text, f"no zone keeps {offset} all year: name the city instead")
        self.offset = offset


class AmbiguousTimezone(TimezoneError):
    def __init__(self, text: str, candidates: tuple[GeoPlace, ...]) -> None:
        listed = "; ".join(f"{p.label} ({p.timezone})" for p in candidates)
        super().__init__(text, f"{text!r} could be several places: {listed}")
        self.candidates = candidates


class TimezoneLookupUnavailable(TimezoneError):
    def __init__(self, text: str) -> None:
        super().__init__(text, "the place lookup is unavailable: try an IANA name or an offset")


class PlaceSearch(Protocol):
    async def search(self, name: str, language: str | None = None) -> list[GeoPlace]: ...


@dataclass(frozen=True)
class ResolvedZone:
    name: str  # an IANA key, what is stored
    source: Source
    place: str | None = None  # the place it was found by, to show

    def now(self, at: datetime | None = None) -> datetime:
        return (at or utcnow()).astimezone(zoneinfo.ZoneInfo(self.name))


async def resolve_timezone(
    text: str, places: PlaceSearch | None = None, language: str | None = None
) -> ResolvedZone:
    """The zone `text` names; a `TimezoneError` (never another exception) when none or several."""
    cleaned = _clean(text)
    if not cleaned:
        raise UnknownTimezone(text)
    found = zone_from_name(cleaned) or zone_from_offset(cleaned) or zone_from_moscow(cleaned)
    if found is not None:
        return found
    city = zone_from_city(cleaned)
    if city is not None:
        return ResolvedZone(city, "iana")
    if places is None or not _looks_like_place(cleaned):
        raise UnknownTimezone(text)
    return await _zone_from_place(text, cleaned, places, language)


def zone_from_name(text: str) -> ResolvedZone | None:
    key = text.replace(" ", "_").casefold()
    if key in _UTC_WORDS:
        return ResolvedZone("UTC", "iana")
    name = _zones().get(key)
    return ResolvedZone(name, "iana") if name else None


def zone_from_offset(text: str) -> ResolvedZone | None:
    """`UTC+3` → Etc/GMT-3; `+05:30` → Asia/Kolkata; None when `text` is no offset."""
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign = -1 if match[1] != "+" else 1
    hours, minutes = int(match[2]), int(match[3] or 0)
    total = sign * (hours * 60 + minutes)
    shown = format_offset(timedelta(minutes=total))
    if minutes >= 60 or not -12 * 60 <= total <= 14 * 60:
        raise UnsupportedOffset(text, shown)
    if minutes == 0:
        return ResolvedZone("UTC" if hours == 0 else f"Etc/GMT{-sign * hours:+d}", "offset")
    if total in _FRACTIONAL_ZONES:
        return ResolvedZone(_FRACTIONAL_ZONES[total], "offset")
    raise UnsupportedOffset(text, shown)


def zone_from_moscow(text: str) -> ResolvedZone | None:
    """`МСК` → Europe/Moscow; `МСК+2` → UTC+5 (Etc/GMT-5)."""
    match = _MOSCOW.fullmatch(text)
    if match is None:
        return None
    if match[1] is None:
        return ResolvedZone("Europe/Moscow", "offset")
    hours = _MOSCOW_OFFSET + (1 if match[1] == "+" else -1) * int(match[2])
    if not -12 <= hours <= 14:  # as text, `UTC+100` would read as one hour and 00 minutes
        raise UnsupportedOffset(text, format_offset(timedelta(hours=hours)))
    return zone_from_offset(f"UTC{hours:+d}")


def zone_from_city(text: str) -> str | None:
    """`Berlin` → Europe/Berlin: the last part of a zone under a continent or ocean."""
    return _cities().get(text.replace(" ", "_").casefold())


def known_zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone named exactly `name` (an IANA key), or None: ZoneInfo refuses a bad name with
    three different exceptions, caught here once."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def zone_or_default(name: str | None, default: str | None) -> zoneinfo.ZoneInfo:
    """A user's zone, else the service's default, else UTC: a stored name that no longer
    exists must not stop a reply."""
    return known_zone(name) or known_zone(default) or zoneinfo.ZoneInfo("UTC")


def format_offset(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def is_zone(name: str) -> bool:
    return name in _zones().values()


async def _zone_from_place(
    text: str, cleaned: str, places: PlaceSearch, language: str | None
) -> ResolvedZone:
    try:
        found = await places.search(cleaned, language)
    except GeocodingUnavailable as exc:
        raise TimezoneLookupUnavailable(text) from exc
    usable = [p for p in found if is_zone(p.timezone)]
    if not usable:
        raise UnknownTimezone(text)
    chosen = _dominant(usable)
    if chosen is None:
        raise AmbiguousTimezone(text, _candidates(usable))
    return ResolvedZone(chosen.timezone, "place", chosen.label)


def _dominant(places: list[GeoPlace]) -> GeoPlace | None:
    """The one place meant: all share a zone, or one is far larger than the rest."""
    top = max(places, key=lambda p: p.population)
    others = [p for p in places if p.timezone != top.timezone]
    if all(top.population >= DOMINANT_POPULATION * max(p.population, 1) for p in others):
        return top
    return None


def _candidates(places: list[GeoPlace]) -> tuple[GeoPlace, ...]:
    """One place per zone, the most populous first."""
    by_zone: dict[str, GeoPlace] = {}
    for place in sorted(places, key=lambda p: -p.population):
        by_zone.setdefault(place.timezone, place)
    return tuple(by_zone.values())[:MAX_CANDIDATES]


def _clean(text: str) -> str:
    """Collapse spaces, drop control and unencodable characters; too long is nothing."""
    if len(text) > MAX_INPUT * 4:
        return ""
    kept = "".join(
        c for c in text if unicodedata.category(c)[0] != "C" or c in " \t"
    )  # Cs (lone surrogates) and Cc go
    cleaned = " ".join(kept.split())
    return cleaned if len(cleaned) <= MAX_INPUT else ""


def _looks_like_place(text: str) -> bool:
    """Words (letters, spaces, dashes, dots, apostrophes, commas), not a path or a number."""
    return "/" not in text and any(c.isalpha() for c in text)


@functools.cache
def _zones() -> dict[str, str]:
    return {name.casefold(): name for name in zoneinfo.available_timezones()}


@functools.cache
def _cities() -> dict[str, str]:
    canonical = _canonical_zones()
    found: dict[str, list[str]] = {}
    for name in _zones().values():
        area, _, rest = name.partition("/")
        if area in _AREAS and rest:
            found.setdefault(rest.rsplit("/", 1)[-1].casefold(), []).append(name)
    return {
        city: min(names, key=lambda n: (n not in canonical, -n.count("/"), n))
        for city, names in found.items()
    }


def _canonical_zones() -> frozenset[str]:
    """Zones named in the zone database's zone.tab (links like Asia/Istanbul are not)."""
    text = _zone_tab()
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return frozenset(row[2] for row in rows if len(row) > 2)


def _zone_tab() -> str:
    try:
        return (importlib.resources.files("tzdata.zoneinfo") / "zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            return path.read_text("utf-8")
    return ""
