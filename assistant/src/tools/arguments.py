"""A tool call's arguments as the model wrote them, made to fit the stored `input_schema`
where the intent is unambiguous, then validated.

Real models write `"days": "3"`, `null` for an optional field, `"action": "Create"`, keys
the schema does not have, and now and then the arguments object encoded twice. Coerced,
and nothing else:

- a string holding an integer (`"3"`, `" 15 "`, `"3.0"`) or a whole float (`3.0`) where
  the schema says `integer`; a numeric string where it says `number`;
- a yes or no in words (`"yes"`, `"true"`, `"да"`, `"no"`, ...) where the schema says `boolean`;
- `null` for a property that is not required: as if it were absent;
- an enum string matched ignoring case and surrounding spaces: the schema's spelling;
- a key the schema does not know, when the schema forbids other keys: dropped, and named
  back to the model (`ignored_arguments` in the result) so it can tell the user;
- a JSON string that holds a JSON object: that object; the object in a Markdown code fence
  (```json … ```): that object; an object whose only key is a wrapper the schema does not
  have (`{"arguments": {...}}`, `parameters`, `input`, `args`, `params`): the inner object;
- NUL characters are removed and lone surrogates become U+FFFD (neither can be stored or
  sent on); strings longer than `MAX_STRING_CHARS` are refused.

Anything else is left as written (a number where the schema says `string` too: `"location":
42` is more likely a mistake than a place), and the validator names what breaks the schema: a
`ToolError` the model reads (and asks the user about), never an exception to the user.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from assistant.src.tools.base import ToolError

#: Longer than any reminder, place or query a person dictates; beyond it, a model in a loop.
MAX_STRING_CHARS = 20_000

_INTEGER = re.compile(r"\s*[+-]?\d{1,15}(?:\.0*)?\s*")
_NUMBER = re.compile(r"\s*[+-]?(?:\d{1,15}(?:\.\d{0,15})?|\.\d{1,15})\s*")
#: Words a model writes for a boolean: what each means.
_BOOLEANS = {
    **dict.fromkeys(("true", "yes", "y", "on", "1", "да"), True),
    **dict.fromkeys(("false", "no", "n", "off", "0", "нет"), False),
}
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(?P<body>.*?)\s*```$", re.DOTALL)
_WRAPPERS = frozenset({"arguments", "parameters", "input", "args", "params"})
#: How many dropped keys, and how much of each, the result names back to the model.
_IGNORED_KEYS = 10
_IGNORED_KEY_CHARS = 64


@dataclass(frozen=True)
class Arguments:
    """What the tool gets (`values`), and the keys dropped because the schema has none such."""

    values: Any
    ignored: tuple[str, ...] = ()


def parse(raw: str | None) -> Any:
    """The JSON the model wrote; an object encoded twice is read once more."""
    text = (raw or "").strip() or "{}"
    if fenced := _FENCE.match(text):
        text = fenced["body"] or "{}"
    try:
        value = json.loads(text)
        if isinstance(value, str) and value.strip().startswith("{"):
            value = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ToolError(f"arguments are not valid JSON: {exc.msg}") from exc
    except (ValueError, RecursionError) as exc:  # digits past int's limit, nesting too deep
        raise ToolError("arguments are not valid JSON: a value is too large or too deep") from exc
    return value


def fit(value: Any, schema: dict[str, Any]) -> Arguments:
    """`value` made to fit `schema` by the rules above (an object schema's own properties)."""
    if not isinstance(value, dict):
        return Arguments(value)
    properties = schema.get("properties") or {}
    if len(value) == 1 and not properties.keys() & value.keys():
        [(key, inner)] = value.items()
        if key in _WRAPPERS and isinstance(inner, dict):
            value = inner
    required = set(schema.get("required") or [])
    closed = schema.get("additionalProperties") is False
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for key, item in value.items():
        spec = properties.get(key)
        if spec is None and closed:
            ignored.append(_clean(key)[:_IGNORED_KEY_CHARS])
        elif item is not None or key in required:
            values[key] = _fit_value(key, _clean(item), spec if isinstance(spec, dict) else {})
    return Arguments(values, tuple(ignored[:_IGNORED_KEYS]))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    return value


def _fit_value(key: str, value: Any, spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise ToolError(f"{key}: {len(value)} characters, at most {MAX_STRING_CHARS}")
        return _fit_string(value, kind, spec.get("enum"))
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and kind == "integer" and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _fit_string(value: str, kind: Any, enum: Any) -> Any:
    if isinstance(enum, list):
        folded = value.strip().casefold()
        return next((e for e in enum if isinstance(e, str) and e.casefold() == folded), value)
    if kind == "boolean" and value.strip().casefold() in _BOOLEANS:
        return _BOOLEANS[value.strip().casefold()]
    if kind == "integer" and _INTEGER.fullmatch(value):
        return int(float(value))
    if kind == "number" and _NUMBER.fullmatch(value):
        number = float(value)
        return int(number) if number.is_integer() else number
    return value
