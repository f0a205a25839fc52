"""Tool-call arguments written the way real models write them (the LLM stand-in's
`realistic` style), so tests meet what production meets, not only what our code expects.

From the arguments a rule or a test meant, and the tool's schema as offered, it writes the
same request as a real model might: enum values in another case (`"Create"`), integers as
strings (`"minutes": "15"`), `null` for optional fields, a field the schema does not have,
a value equal to the schema's default left out, times as ISO 8601 without an offset, with
the user's offset, in UTC (`…Z`), or as a phrase in the user's language ("in 5 minutes",
"через 5 минут", "tomorrow at 9", "завтра в 9") — always the same moment — and the JSON
laid out compactly, indented or with trailing whitespace. The choices are seeded by the
conversation's last user message and the call, so a test sees the same arguments at every
run. What it writes means what the rule meant: only the spelling differs.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PROMPT_ZONE = re.compile(r"\((?P<zone>[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*), UTC[+-]\d{2}:\d{2}\)")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_RELATIVE = re.compile(
    r"^\s*(?:in|через)\s+(?P<n>\d+|an?|one)?\s*(?P<unit>sec|min|hour|час|минут|секунд)\w*\s*$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"sec": 1, "секунд": 1, "min": 60, "минут": 60, "hour": 3600, "час": 3600}
_EXTRAS: list[tuple[str, Any]] = [
    ("user_id", "me"),
    ("confirm", True),
    ("priority", "normal"),
    ("notes", ""),
    ("format", "24h"),
]


@dataclass(frozen=True)
class Conversation:
    """What a model knows when it writes a call: the user's zone and language, and now."""

    zone: ZoneInfo | None
    russian: bool
    now: datetime

    @classmethod
    def of(cls, system_text: str, last_user_text: str) -> Conversation:
        return cls(_prompt_zone(system_text), bool(_CYRILLIC.search(last_user_text)), _now())


def _now() -> datetime:
    return datetime.now().astimezone()


def _prompt_zone(system_text: str) -> ZoneInfo | None:
    """The user's zone as the system prompt states it ("(Asia/Tokyo, UTC+09:00)")."""
    for match in _PROMPT_ZONE.finditer(system_text):
        try:
            return ZoneInfo(match["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def seed_of(*parts: str) -> int:
    """A seed that is the same in every process (`hash()` is salted per process)."""
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def realistic(
    arguments: dict[str, Any], schema: dict[str, Any] | None, talk: Conversation, seed: int
) -> str:
    """`arguments` as a real model would write them, as the JSON text of the call."""
    rng = random.Random(seed)
    schema = schema if isinstance(schema, dict) else {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = set(schema.get("required") or [])
    written: dict[str, Any] = {}
    for key, value in arguments.items():
        spec = properties.get(key) if isinstance(properties.get(key), dict) else {}
        if "default" in spec and spec["default"] == value and key not in required:
            continue  # a model leaves out what the schema says is the default
        written[key] = _respell(value, spec, talk, rng)
    missing = [k for k in properties if k not in arguments and k not in required]
    for key in rng.sample(missing, min(len(missing), rng.randint(1, 2))):
        written[key] = None
    extras = [(k, v) for k, v in _EXTRAS if k not in properties]
    if extras:
        key, value = rng.choice(extras)
        written[key] = value
    return _layout(written, rng)


def _respell(value: Any, spec: dict[str, Any], talk: Conversation, rng: random.Random) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and spec.get("type") == "integer":
        return str(value)
    if not isinstance(value, str):
        return value
    if isinstance(spec.get("enum"), list) and value in spec["enum"]:
        return rng.choice([value.title(), value.upper()])
    moment = _moment(value, talk)
    return value if moment is None else _time_text(moment, talk, rng)


def _moment(value: str, talk: Conversation) -> datetime | None:
    """The moment a time value names, if it names one exactly (ISO, or "in N units")."""
    if "T" in value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=talk.zone) if talk.zone else None
        return moment
    relative = _RELATIVE.match(value)
    if relative is None:
        return None
    count = relative["n"]
    number = int(count) if count and count.isdigit() else 1
    unit = next(s for u, s in _UNIT_SECONDS.items() if relative["unit"].lower().startswith(u))
    return talk.now + timedelta(seconds=number * unit)


def _time_text(moment: datetime, talk: Conversation, rng: random.Random) -> str:
    """The same moment in one of the forms models use."""
    forms = [lambda: moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")]
    if talk.zone is not None:
        here = moment.astimezone(talk.zone)
        forms += [
            lambda: here.replace(tzinfo=None).isoformat(timespec="seconds"),
            lambda: here.isoformat(timespec="seconds"),
        ]
        if (phrase := _phrase(here, talk)) is not None:
            forms += [lambda: phrase, lambda: phrase]
    return rng.choice(forms)()


def _phrase(here: datetime, talk: Conversation) -> str | None:
    """The moment in words, in the user's language, when words say it exactly."""
    now = talk.now.astimezone(here.tzinfo)
    ahead = (here - now).total_seconds()
    minutes = round(ahead / 60)
    if 0 < minutes <= 120 and abs(ahead - minutes * 60) < 1:
        return _in(minutes, "minute", talk.russian)
    if 0 < ahead <= 120:
        return _in(int(ahead) + 1, "second", talk.russian)  # never before the moment meant
    tomorrow = (now + timedelta(days=1)).date()
    if here.date() == tomorrow and (here.minute, here.second) == (0, 0):
        # A bare hour 1-6 is ambiguous (03:00 or 15:00?): models that mean it write the clock.
        clock = f"{here.hour}" if here.hour > 6 else f"{here:%H:%M}"
        return f"завтра в {clock}" if talk.russian else f"tomorrow at {clock}"
    return None


def _in(count: int, unit: str, russian: bool) -> str:
    if not russian:
        return f"in {count} {unit}{'' if count == 1 else 's'}"
    forms = {"minute": ("минуту", "минуты", "минут"), "second": ("секунду", "секунды", "секунд")}
    one, few, many = forms[unit]
    if count % 10 == 1 and count % 100 != 11:
        word = one
    elif 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        word = few
    else:
        word = many
    return f"через {count} {word}"


def _layout(arguments: dict[str, Any], rng: random.Random) -> str:
    """Compact, spaced or indented JSON, Unicode escaped or not, trailing whitespace."""
    ascii_ = rng.random() < 0.5
    text = rng.choice(
        [
            lambda: json.dumps(arguments, ensure_ascii=ascii_, separators=(",", ":")),
            lambda: json.dumps(arguments, ensure_ascii=ascii_),
            lambda: json.dumps(arguments, ensure_ascii=ascii_, indent=2),
        ]
    )()
    return text + rng.choice(["\n", " ", "\n\n", " \n"])
