"""The Google stand-in's answers checked against the APIs' own discovery documents (Calendar
v3; Gmail v1 with `api="gmail.v1"`).

The documents are the ones google-api-python-client ships and our service builds its client
from, so a field the stand-in invents, renames or mistypes fails here instead of letting
the stand-in drift from what Google sends.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient
from jsonschema import Draft7Validator, FormatChecker

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
DISCOVERY_PATH = DOCUMENTS / "calendar.v3.json"

#: Discovery keywords that carry over to JSON Schema as they are.
_KEPT = ("type", "enum")
_BASE64 = re.compile(r"[A-Za-z0-9_\-+/]*={0,2}")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class SchemaDriftError(AssertionError):
    """The stand-in produced (or accepted) something Google's schema does not describe."""


@cache
def discovery_document(api: str = "calendar.v3") -> dict[str, Any]:
    """The discovery document of `api` (`calendar.v3`, `tasks.v1`, ...)."""
    return json.loads((DOCUMENTS / f"{api}.json").read_text(encoding="utf-8"))


def _convert(node: dict[str, Any]) -> dict[str, Any]:
    """One discovery schema node as JSON Schema; objects with properties are closed."""
    if "$ref" in node:
        return {"$ref": f"#/definitions/{node['$ref']}"}
    out: dict[str, Any] = {k: node[k] for k in _KEPT if k in node}
    if out.get("type") == "any":
        out.pop("type")
    if node.get("format") in ("date-time", "date", "int64", "uint64", "byte"):
        out["format"] = node["format"]
    if "properties" in node:
        out["properties"] = {k: _convert(v) for k, v in node["properties"].items()}
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _convert(node["additionalProperties"])
    elif "properties" in node:
        out["additionalProperties"] = False
    if "items" in node:
        out["items"] = _convert(node["items"])
    return out


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(_RFC3339.match(value)) and datetime.fromisoformat(value) is not None

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return len(value) == 10 and date.fromisoformat(value) is not None

    @checker.checks("byte")
    def _byte(value: object) -> bool:
        """Base64 (Gmail's bodies and raw messages are URL-safe base64)."""
        return not isinstance(value, str) or _BASE64.fullmatch(value) is not None

    @checker.checks("int64")
    @checker.checks("uint64")
    def _int64(value: object) -> bool:
        return not isinstance(value, str) or value.lstrip("-").isdigit()

    return checker


@cache
def _validator(schema_name: str, api: str) -> Draft7Validator:
    schemas = discovery_document(api)["schemas"]
    if schema_name not in schemas:
        raise KeyError(f"{api} has no schema {schema_name!r}")
    schema = {
        **_convert(schemas[schema_name]),
        "definitions": {name: _convert(node) for name, node in schemas.items()},
    }
    return Draft7Validator(schema, format_checker=_format_checker())


def validate(schema_name: str, payload: Any, api: str = "calendar.v3") -> None:
    """Raise SchemaDriftError when `payload` is not a valid `schema_name` resource of
    `api`."""
    found = _validator(schema_name, api).iter_errors(payload)
    errors = sorted(found, key=lambda e: list(e.path))
    if errors:
        where = "/".join(str(p) for p in errors[0].path) or "(root)"
        raise SchemaDriftError(f"{schema_name} at {where}: {errors[0].message}")


def method(resource: str, name: str, api: str = "calendar.v3") -> dict[str, Any]:
    """A method's discovery description (its path, parameters and response schema)."""
    return discovery_document(api)["resources"][resource]["methods"][name]
