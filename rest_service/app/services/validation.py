"""Checks that need more than a type: JSON Schema, cron expressions, IANA zone names."""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import datetime
from functools import lru_cache
from typing import Any

from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from jsonschema import Draft202012Validator, SchemaError, validators

from rest_service.app.errors import invalid

#: Minute, hour, day of month, month, day of week: numbers, names, `*`, ranges, lists, steps.
_CRON_TOKEN = re.compile(r"[,\-]")
_CRON_WORDS = frozenset(
    [
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
        "sun",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
    ]
)
_CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def check_json_schema(value: Any, field: str = "input_schema") -> dict[str, Any]:
    """A JSON Schema object valid against its meta-schema (Draft 2020-12 unless `$schema`
    names another), describing an object: what the model's function arguments are."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise invalid(field, f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise invalid(field, "must be a JSON object (a JSON Schema)")
    validator = validators.validator_for(value, default=Draft202012Validator)
    try:
        validator.check_schema(value)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise invalid(field, f"not a valid JSON Schema at {where}: {exc.message}") from exc
    if value.get("type", "object") != "object":
        raise invalid(field, 'a tool\'s arguments schema must have "type": "object"')
    return value


def check_cron(expression: str, field: str = "cron_expression") -> str:
    """Standard 5-field cron (0 or 7 = Sunday); the 422 says which part is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise invalid(
            field,
            f"needs 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}",
        )
    for part, name, (low, high) in zip(parts, _CRON_NAMES, _CRON_RANGES, strict=True):
        _check_cron_field(part, name, low, high, field)
    normalized = " ".join(parts)
    try:
        croniter(normalized, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise invalid(field, f"{normalized!r} never fires") from exc
    except (CroniterBadCronError, ValueError, KeyError) as exc:
        raise invalid(field, f"not a valid cron expression: {exc}") from exc
    return normalized


def _check_cron_field(part: str, name: str, low: int, high: int, field: str) -> None:
    """Values (not step sizes) within the field's range; names only where cron has them."""
    values, _, step = part.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        raise invalid(field, f"the {name} field {part!r} has a bad step {step!r}")
    for token in _CRON_TOKEN.split(values):
        if token == "*" or token.lower() in _CRON_WORDS:
            continue
        if not token.isdigit():
            raise invalid(field, f"the {name} field {part!r} is not standard cron")
        if not low <= int(token) <= high:
            raise invalid(field, f"the {name} field {part!r} is out of range ({low}-{high})")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str, field: str = "timezone") -> str:
    if name not in _zone_names():
        raise invalid(field, f"{name!r} is not an IANA timezone name (e.g. Europe/Moscow)")
    return name


def next_cron_time(expression: str, timezone: str, after: datetime) -> datetime:
    """The next fire of a recurring job, computed in its own zone (DST included)."""
    local_after = after.astimezone(zoneinfo.ZoneInfo(timezone))
    return croniter(expression, local_after).get_next(datetime)
