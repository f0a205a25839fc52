"""Leads as a spreadsheet: CSV (UTF-8 with a BOM) or XLSX, one row per lead with its
customer's contact and its business's name. Neither lets a cell become a formula: a CSV
cell starting with = + - @ (or a tab or carriage return) gets a leading apostrophe, as
OWASP advises; an XLSX cell is written as text, which a spreadsheet never evaluates."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlmodel import col

from rest_service.app.domain.leads import LeadFilter, filtered
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.contacts import Contact
from rest_service.app.models.leads import Lead

Format = Literal["csv", "xlsx"]
COLUMNS = [
    "id",
    "created_at",
    "updated_at",
    "status",
    "business",
    "owner",
    "name",
    "phone",
    "email",
    "items",
    "channel",
    "bot",
    "start_payload",
    "conversation_key",
    "notes",
]
#: What a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The most rows one export holds (a larger one is narrowed by the filters).
MAX_ROWS = 100_000
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def export_rows(ctx: UnitOfWork, where: LeadFilter) -> list[dict[str, Any]]:
    """The leads `where` selects, newest first, with the contact and the business's name."""
    joined = (
        select(Lead, Contact, col(Assistant.name))
        .join(Assistant, col(Assistant.id) == col(Lead.assistant_id))
        .outerjoin(Contact, col(Contact.id) == col(Lead.contact_id))
    )
    stmt = filtered(joined, where).limit(MAX_ROWS)
    rows = (await ctx.session.execute(stmt)).all()
    return [_row(lead, contact, business) for lead, contact, business in rows]


def render(rows: list[dict[str, Any]], fmt: Format) -> bytes:
    return as_csv(rows) if fmt == "csv" else as_xlsx(rows)


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: defused(_text(value)) for name, value in row.items()})
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(rows: list[dict[str, Any]]) -> bytes:
    # Imported on the first XLSX export: most starts of rest_service never make one.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "leads"
    sheet.append(COLUMNS)
    for number, row in enumerate(rows, start=2):
        for column, name in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=number, column=column)
            cell.value = _text(row[name])
            # Text, never a formula: openpyxl would take "=…" as one.
            cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def defused(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _row(lead: Lead, contact: Contact | None, business: str) -> dict[str, Any]:
    return {
        "id": lead.id,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "status": lead.status.value,
        "business": business,
        "owner": lead.owner,
        "name": contact.name if contact else None,
        "phone": contact.phone if contact else None,
        "email": contact.email if contact else None,
        "items": "; ".join(str(item.get("name", "")) for item in lead.items),
        "channel": lead.channel,
        "bot": lead.bot,
        "start_payload": lead.start_payload,
        "conversation_key": lead.conversation_key,
        "notes": lead.notes,
    }
