"""The Bitrix24 connector: lead events sent to a portal's inbound webhook
(`BITRIX24_WEBHOOK_URL`, `https://<portal>/rest/<user>/<token>/`) as `crm.lead.add` and
`crm.lead.update`, with Bitrix24's field names. The Bitrix lead id `crm.lead.add` returns
is kept (`bitrix24_leads`), so a later update, or a replayed add, changes that lead instead
of making another."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from common.infrastructure.http_client import send

#: Our lead statuses and sources as Bitrix24's stock STATUS_ID / SOURCE_ID values.
STATUSES = {
    "new": "NEW",
    "in_progress": "IN_PROCESS",
    "qualified": "PROCESSED",
    "won": "CONVERTED",
    "lost": "JUNK",
}
SOURCES = {"web": "WEB", "phone": "CALL", "email": "EMAIL", "telegram": "OTHER"}


class Bitrix24Error(Exception):
    """Bitrix24 refused or did not answer; the message is the status and its error code
    (never the URL: it holds the token)."""


def lead_fields(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    """Bitrix24's fields from a lead event's `data` (rest_service/app/domain/events.py)."""
    fields: dict[str, Any] = {}
    name = _text(data.get("name"))
    title = _text(data.get("title")) or (f"Lead: {name}" if name else None)
    if title or creating:
        fields["TITLE"] = title or f"Lead {data['id']}"
    if name:
        fields["NAME"] = name
    for ours, theirs in (("phone", "PHONE"), ("email", "EMAIL")):
        if value := _text(data.get(ours)):
            fields[theirs] = [{"VALUE": value, "VALUE_TYPE": "WORK"}]
    if comments := _text(data.get("comments")):
        fields["COMMENTS"] = comments
    source = _text(data.get("source"))
    if source or creating:
        fields["SOURCE_ID"] = SOURCES.get(source or "", "OTHER")
    status = _text(data.get("status"))
    if status or creating:
        fields["STATUS_ID"] = STATUSES.get(status or "", "NEW")
    return fields


async def add_lead(
    http: aiohttp.ClientSession, base: str, data: dict[str, Any], timeout: float
) -> int:
    """The new Bitrix lead's id."""
    body = {"fields": lead_fields(data, creating=True), "params": {"REGISTER_SONET_EVENT": "Y"}}
    result = await _call(http, base, "crm.lead.add", body, timeout)
    if isinstance(result, bool) or not isinstance(result, int | str) or not str(result).isdigit():
        raise Bitrix24Error("crm.lead.add answered no lead id")
    return int(result)


async def update_lead(
    http: aiohttp.ClientSession, base: str, bitrix_id: int, data: dict[str, Any], timeout: float
) -> None:
    body = {"id": bitrix_id, "fields": lead_fields(data, creating=False)}
    await _call(http, base, "crm.lead.update", body, timeout)


async def _call(
    http: aiohttp.ClientSession, base: str, method: str, body: dict[str, Any], timeout: float
) -> Any:
    url = f"{base.rstrip('/')}/{method}.json"
    answer = await send(http, "POST", url, timeout=timeout, json=body)
    try:
        parsed = answer.json()
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise Bitrix24Error(f"HTTP {answer.status} {method} answered no JSON object")
    if answer.status >= 300 or "error" in parsed:
        raise Bitrix24Error(f"HTTP {answer.status} {_code(parsed.get('error'))}")
    return parsed.get("result")


def _code(error: object) -> str:
    """Bitrix's error code, short and printable (it goes into `last_error`)."""
    text = json.dumps(error)[:60] if not isinstance(error, str) else error[:60]
    return "".join(c for c in text if c.isprintable())


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
