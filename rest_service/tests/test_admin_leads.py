"""The admin's Leads page (list with a link to the conversation, status filter, edit of
status / owner / notes, delete), its CSV and XLSX downloads, and the Contacts page (list,
delete), through the admin's own HTTP forms."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, logged_in  # noqa: F401  (the fixture)
from tests.spreadsheets import xlsx_rows

LIST = "/admin/lead/list"


async def a_lead(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    user, assistant = await api.user(), await api.assistant()
    path = f"/api/contacts/of/{user['id']}/{assistant['id']}"
    body = {"consent_text": "ok", "name": "Anna Petrova", "phone": "+7 912 345 67 89"}
    contact = await api.ok("PUT", path, api.service, json=body)
    interest = {
        "user_id": user["id"],
        "assistant_id": assistant["id"],
        "conversation_key": user["id"],
        "items": ["Haircut"],
        "note": "=1+1",
    }
    lead = await api.ok("POST", "/api/leads/interest", api.service, json=interest)
    return lead, contact, assistant


async def test_list_filter_edit_and_delete_a_lead(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    lead, _contact, assistant = await a_lead(api)
    listed = await logged_in.get(LIST)
    assert listed.status_code == 200, listed.text
    assert assistant["name"] in listed.text and "Haircut" in listed.text
    assert f"/admin/conversations?user={lead['conversation_key']}" in listed.text
    assert "Haircut" not in (await logged_in.get(f"{LIST}?status=won")).text
    assert "Haircut" in (await logged_in.get(f"{LIST}?status=new")).text
    edited = await logged_in.post(
        f"/admin/lead/edit/{lead['id']}",
        data={"status": "in_progress", "owner": "Maria", "notes": "call on Friday"},
        headers=ORIGIN,
    )
    assert edited.status_code == 302, edited.text
    after = await api.ok("GET", f"/api/leads/{lead['id']}", api.admin)
    assert (after["status"], after["owner"], after["notes"]) == (
        "in_progress",
        "Maria",
        "call on Friday",
    )
    blank = await logged_in.post(
        f"/admin/lead/edit/{lead['id']}",
        data={"status": "won", "owner": "", "notes": ""},
        headers=ORIGIN,
    )
    assert blank.status_code == 302, blank.text
    cleared = await api.ok("GET", f"/api/leads/{lead['id']}", api.admin)
    assert (cleared["status"], cleared["owner"], cleared["notes"]) == ("won", None, "")
    deleted = await logged_in.delete(f"/admin/lead/delete?pks={lead['id']}", headers=ORIGIN)
    assert deleted.status_code == 200, deleted.text
    assert (await api.http.get(f"/api/leads/{lead['id']}", headers=api.admin)).status_code == 404


async def test_the_export_page_downloads_csv_and_xlsx(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    lead, _contact, _assistant = await a_lead(api)
    page = await logged_in.get("/admin/leads-export")
    assert page.status_code == 200 and "leads-export-xlsx" in page.text
    as_csv = await logged_in.get("/admin/leads-download?format=csv&status=new")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lead["id"] in {r["id"] for r in rows}
    mine = next(r for r in rows if r["id"] == lead["id"])
    assert mine["notes"] == "'=1+1" and mine["name"] == "Anna Petrova"
    none_won = await logged_in.get("/admin/leads-download?format=csv&status=won")
    assert lead["id"] not in none_won.text
    as_xlsx = await logged_in.get("/admin/leads-download?format=xlsx")
    ids = [row[0] for row in xlsx_rows(as_xlsx.content)[1:]]
    assert lead["id"] in ids


async def test_contacts_are_listed_and_deleted(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    _lead, contact, _assistant = await a_lead(api)
    listed = await logged_in.get("/admin/contact/list")
    assert listed.status_code == 200 and "+79123456789" in listed.text
    deleted = await logged_in.delete(f"/admin/contact/delete?pks={contact['id']}", headers=ORIGIN)
    assert deleted.status_code == 200, deleted.text
    assert await api.ok("GET", "/api/contacts/", api.admin) == []
