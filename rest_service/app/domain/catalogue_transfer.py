"""Catalogue export and import, CSV or JSON, with the same columns both ways: an export
imports back to the same catalogue. An import is all or nothing: every bad row and field is
named in one 422 before anything is written. A row with an `id` is that item (made under
that id when missing); else a row with a `sku` is the item of that sku in its scope; else a
new item. Spreadsheets' CSV is read as they write it: a BOM, `;` or tab separators, decimal
commas."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import col

from common.infrastructure.errors import FieldError, ValidationFailedError
from common.infrastructure.web import field_name
from rest_service.app.domain.catalogue import create_item, flush_items, public
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.catalogue import (
    CatalogueItem,
    CatalogueItemCreate,
    CatalogueItemPublic,
)

Format = Literal["csv", "json"]
COLUMNS = (
    "id",
    "sku",
    "assistant",
    "name",
    "description",
    "price",
    "currency",
    "duration_minutes",
    "available",
    "stock",
    "tags",
    "is_active",
)
REQUIRED = ("name", "price", "currency")
#: Rows one import takes at most (the body limit caps the bytes).
MAX_ROWS = 10_000
#: Errors listed in one 422 at most; the detail says how many there were.
MAX_LISTED_ERRORS = 100
TAG_SEPARATOR = "|"
_TRUE = {"true", "yes", "1", "y", "да"}
_FALSE = {"false", "no", "0", "n", "нет"}
_DECIMAL_COMMA = re.compile(r"^\s*\d+,\d+\s*$")


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    updated: int


# --- export ------------------------------------------------------------------------------------


async def export_rows(ctx: UnitOfWork) -> list[dict[str, Any]]:
    """Every item, by scope and name, as JSON values (the price a string, exact)."""
    names = await _assistant_names(ctx)
    items = (
        await ctx.session.scalars(
            select(CatalogueItem).order_by(
                col(CatalogueItem.assistant_id).nulls_first(),
                col(CatalogueItem.name),
                col(CatalogueItem.id),
            )
        )
    ).all()
    return [_row(public(item), names) for item in items]


def _row(item: CatalogueItemPublic, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "sku": item.sku,
        "assistant": names.get(item.assistant_id) if item.assistant_id else None,
        "name": item.name,
        "description": item.description,
        "price": str(item.price),
        "currency": item.currency,
        "duration_minutes": item.duration_minutes,
        "available": item.available,
        "stock": item.stock,
        "tags": item.tags,
        "is_active": item.is_active,
    }


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    """UTF-8 with a BOM, so a spreadsheet opens Cyrillic as it is."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue().encode("utf-8-sig")


def as_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=1).encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return TAG_SEPARATOR.join(value)
    return str(value)


# --- import ------------------------------------------------------------------------------------


def parse(body: bytes, fmt: Format) -> list[dict[str, Any]]:
    """The rows of a CSV or JSON document, or a 422 saying why there are none."""
    rows = _json_rows(body) if fmt == "json" else _csv_rows(_text(body))
    if len(rows) > MAX_ROWS:
        raise _refused("rows", f"{len(rows)} rows, at most {MAX_ROWS} in one import")
    return rows


async def import_rows(ctx: UnitOfWork, rows: list[dict[str, Any]]) -> ImportOutcome:
    items = _checked(rows, await _assistant_ids(ctx))
    created = updated = 0
    for item in items:
        existing = await _existing(ctx, item)
        if existing is None:
            await create_item(ctx, item)
            created += 1
        else:
            for name, value in item.model_dump(exclude={"id"}).items():
                setattr(existing, name, value)
            updated += 1
    await flush_items(ctx)
    return ImportOutcome(created, updated)


def _checked(rows: list[dict[str, Any]], assistants: dict[str, uuid.UUID]) -> list[Any]:
    """Every row validated; all the problems of all the rows in one 422."""
    errors: list[FieldError] = []
    items: list[CatalogueItemCreate] = []
    seen: dict[tuple[object, ...], int] = {}
    for number, raw in enumerate(rows, start=1):
        row_errors: list[FieldError] = []
        item = _item(raw, assistants, row_errors)
        for key in _keys(item):
            if key in seen:
                field = str(key[0])
                row_errors.append(FieldError(field, f"the same {field} as row {seen[key]}"))
            seen.setdefault(key, number)
        errors += [FieldError(f"rows.{number}.{e.field}", e.reason) for e in row_errors]
        if item is not None:
            items.append(item)
    if errors:
        shown = errors[:MAX_LISTED_ERRORS]
        first = f"{shown[0].field}: {shown[0].reason}"
        raise ValidationFailedError(
            f"{len(errors)} problems, nothing imported; the first: {first}", shown
        )
    return items


def _keys(item: CatalogueItemCreate | None) -> list[tuple[object, ...]]:
    if item is None:
        return []
    keys: list[tuple[object, ...]] = []
    if item.id is not None:
        keys.append(("id", item.id))
    if item.sku is not None:
        keys.append(("sku", item.assistant_id, item.sku))
    return keys


def _item(
    raw: dict[str, Any], assistants: dict[str, uuid.UUID], errors: list[FieldError]
) -> CatalogueItemCreate | None:
    unknown = sorted(set(raw) - set(COLUMNS))
    errors += [FieldError(str(name), "not a catalogue column") for name in unknown]
    values = {k: v for k, v in raw.items() if k in COLUMNS and v is not None}
    errors += [FieldError(name, "required") for name in REQUIRED if name not in values]
    assistant = values.pop("assistant", None)
    if assistant:
        if str(assistant) not in assistants:
            errors.append(FieldError("assistant", f"no assistant named {assistant!r}"))
        values["assistant_id"] = assistants.get(str(assistant))
    if errors:
        return None
    try:
        return CatalogueItemCreate.model_validate(values)
    except ValidationError as exc:
        for e in exc.errors():
            errors.append(FieldError(field_name(e["loc"]), str(e["msg"])))
        return None


async def _existing(ctx: UnitOfWork, item: CatalogueItemCreate) -> CatalogueItem | None:
    if item.id is not None:
        found = await ctx.session.get(CatalogueItem, item.id)
        if found is not None or item.sku is None:
            return found
    if item.sku is None:
        return None
    scope = col(CatalogueItem.assistant_id)
    same_scope = scope.is_(None) if item.assistant_id is None else scope == item.assistant_id
    return await ctx.session.scalar(
        select(CatalogueItem).where(same_scope, col(CatalogueItem.sku) == item.sku)
    )


async def _assistant_names(ctx: UnitOfWork) -> dict[uuid.UUID, str]:
    rows = (await ctx.session.execute(select(col(Assistant.id), col(Assistant.name)))).all()
    return {row[0]: row[1] for row in rows}


async def _assistant_ids(ctx: UnitOfWork) -> dict[str, uuid.UUID]:
    return {name: key for key, name in (await _assistant_names(ctx)).items()}


def _json_rows(body: bytes) -> list[dict[str, Any]]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refused("body", f"not JSON: {exc}") from exc
    if isinstance(document, dict) and "items" in document:
        document = document["items"]
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise _refused("body", 'a JSON array of items (objects), or {"items": [...]}')
    return [{str(k): _json_value(k, v) for k, v in row.items()} for row in document]


def _json_value(column: str, value: Any) -> Any:
    if column == "tags" and isinstance(value, str):
        return _tags(value)
    return value


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = "a CSV file must be UTF-8 text (save it as 'CSV UTF-8')"
        raise _refused("body", reason) from exc


def _csv_rows(text: str) -> list[dict[str, Any]]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        reason = f"a CSV needs a header line naming its columns: {', '.join(COLUMNS)}"
        raise _refused("body", reason)
    header = lines[0]
    delimiter = max((";", ",", "\t"), key=header.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        table = list(reader)
    except csv.Error as exc:
        raise _refused("body", f"unreadable CSV: {exc}") from exc
    columns = [c.strip().lower() for c in table[0]]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        reason = f"the header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})"
        raise _refused("header", reason)
    return [_csv_row(columns, cells) for cells in table[1:] if any(c.strip() for c in cells)]


def _csv_row(columns: list[str], cells: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, cell in zip(columns, cells, strict=False):
        value = cell if name == "description" else cell.strip()
        if value == "" and name != "description":
            continue
        row[name] = _csv_value(name, value)
    if len(cells) > len(columns):
        row["(extra cells)"] = cells[len(columns) :]
    return row


def _csv_value(column: str, value: str) -> Any:
    if column == "tags":
        return _tags(value)
    if column in ("available", "is_active"):
        lowered = value.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else value
    if column == "price" and _DECIMAL_COMMA.match(value):
        return value.replace(",", ".")
    return value


def _tags(value: str) -> list[str]:
    return [t for t in re.split(r"[|,]", value) if t.strip()]


def _refused(field: str, reason: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])
