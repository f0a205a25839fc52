"""Checks that need more than a type: JSON Schema, cron expressions, IANA zone names."""

from __future__ import annotations

import itertools
import json
import zoneinfo
from datetime import datetime
from functools import lru_cache

from common.features.schedule import InvalidSchedule, next_fire, repeating, zone
from common.infrastructure.errors import invalid


def check_json_schema(value: object, field: str = "input_schema") -> dict[str, object]:
    """A JSON Schema object valid against its meta-schema (Draft 2020-12 unless `$schema`
    names another), describing an object: what the model's function arguments are.
    jsonschema (with referencing and rpds, ~30 ms and 2 MB) is imported by the first check,
    a tool's or a bot's write, not at start."""
    from jsonschema import Draft202012Validator, SchemaError, validators

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
    """Standard 5-field cron or a macro, or an RFC 5545 recurrence rule with its anchor
    (`DTSTART:... RRULE:...`), as `common.features.schedule` reads them; the 422 says which part is
    wrong. Returns the normalized form (macros expanded, rule parts in one order), which is
    what is stored."""
    try:
        return repeating(expression).expression
    except InvalidSchedule as exc:
        raise invalid(field, str(exc)) from exc


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(name: str, field: str = "timezone") -> str:
    if name not in _zone_names():
        raise invalid(field, f"{name!r} is not an IANA timezone name (e.g. Europe/Moscow)")
    return name


def next_cron_time(expression: str, timezone: str, after: datetime) -> datetime:
    """The next fire of a recurring job in its own zone: the same rule cron_service fires by.
    Only a last run at the end of the calendar leaves none."""
    try:
        return next_fire(expression, timezone, after)
    except InvalidSchedule as exc:
        raise invalid("last_run_at", str(exc)) from exc


#: Minutes in a day: a schedule firing more often than this allows has a shorter gap.
_DAY_MINUTES = 24 * 60


def shortest_gap_minutes(expression: str, timezone: str, after: datetime) -> float:
    """The smallest gap between consecutive fires over a day's worth of the next fires (a
    cron line or rule repeats its times of day), measured by the one evaluator cron_service
    fires by."""
    schedule = repeating(expression, zone(timezone))
    fires = [schedule.next_after(after)]
    for _ in range(len(schedule.times)):
        fires.append(schedule.next_after(fires[-1]))
    return min((b - a).total_seconds() / 60 for a, b in itertools.pairwise(fires))


def check_recurrence(expression: str, timezone: str, minimum: int, after: datetime) -> None:
    """A recurring job may not fire more often than every `minimum` minutes (0: any)."""
    if minimum <= 0:
        return
    schedule = repeating(expression, zone(timezone))
    crowded = len(schedule.times) > _DAY_MINUTES // minimum
    gap = 0.0 if crowded else shortest_gap_minutes(expression, timezone, after)
    if crowded or gap < minimum:
        how = f"{len(schedule.times)} times a day" if crowded else f"{gap:g} min apart"
        raise invalid(
            "cron_expression",
            f"fires too often ({how}); reminders may repeat at most every {minimum} minutes",
        )
