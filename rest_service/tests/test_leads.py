"""/api/leads: one open lead per customer and business, however many messages show
interest; the admin lists, filters, edits, deletes and exports them (CSV and XLSX that read
back, no cell a formula); a service only records interest."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

import pytest

from common.infrastructure.queue_messages import conversation_key
from rest_service.tests.conftest import Api, assert_error
from tests.spreadsheets import xlsx_sheet

PATH = "/api/leads/"
INTEREST = "/api/leads/interest"


async def interest(api: Api, user: dict[str, Any], assistant: dict[str, Any], **fields: Any) -> Any:
    body = {
        "user_id": user["id"],
        "assistant_id": assistant["id"],
        "conversation_key": user["id"],
        **fields,
    }
    return await api.ok("POST", INTEREST, api.service, json=body)


async def item(api: Api, assistant_id: str | None, name: str) -> dict[str, Any]:
    body = {"name": name, "price": "10.00", "currency": "EUR", "assistant_id": assistant_id}
    return await api.ok("POST", "/api/catalogue/", api.admin, json=body)


class TestAuth:
    async def test_the_service_token_only_records_interest(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        lead = await interest(api, user, assistant)
        assert_error(await api.http.get(PATH), 401)
        assert_error(await api.http.post(INTEREST, json={}), 401)
        for method, path in (
            ("GET", PATH),
            ("GET", f"{PATH}export"),
            ("GET", f"{PATH}{lead['id']}"),
            ("PUT", f"{PATH}{lead['id']}"),
            ("DELETE", f"{PATH}{lead['id']}"),
        ):
            response = await api.http.request(method, path, headers=api.service, json={})
            assert_error(response, 403, "forbidden")


class TestInterest:
    async def test_many_customers_on_one_connection_each_find_the_partial_index(
        self, api: Api
    ) -> None:
        """Postgres plans a prepared statement generically from its sixth run: the partial
        index's condition must not be bound values then (it was: a 500 from then on)."""
        assistant = await api.assistant()
        for _ in range(8):
            user = await api.user()
            first = await interest(api, user, assistant)
            assert (await interest(api, user, assistant))["id"] == first["id"]

    async def test_a_conversation_makes_one_lead_with_every_item_once(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        haircut = await item(api, assistant["id"], "Haircut")
        shared = await item(api, None, "Gift card")
        response = await api.http.post(
            INTEREST,
            headers=api.service,
            json={
                "user_id": user["id"],
                "assistant_id": assistant["id"],
                "conversation_key": user["id"],
                "items": [haircut["id"], "gift CARD", "a  beard trim"],
                "note": "wants Saturday",
                "channel": "telegram",
                "start_payload": "promo-winter",
            },
        )
        assert response.status_code == 201, response.text
        first = response.json()
        assert first["status"] == "new" and first["start_payload"] == "promo-winter"
        assert first["items"] == [
            {"item_id": haircut["id"], "name": "Haircut"},
            {"item_id": shared["id"], "name": "Gift card"},
            {"item_id": None, "name": "a beard trim"},
        ]
        again = await api.http.post(
            INTEREST,
            headers=api.service,
            json={
                "user_id": user["id"],
                "assistant_id": assistant["id"],
                "conversation_key": user["id"],
                "items": ["haircut", "Colouring"],
                "note": "wants Saturday",
            },
        )
        assert again.status_code == 200, again.text
        lead = again.json()
        assert lead["id"] == first["id"] and lead["notes"] == "wants Saturday"
        assert [i["name"] for i in lead["items"]] == [
            "Haircut",
            "Gift card",
            "a beard trim",
            "Colouring",
        ]
        other = await interest(api, user, await api.assistant())
        assert other["id"] != lead["id"]

    @pytest.mark.commits
    async def test_messages_at_once_make_one_lead(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        made = await asyncio.gather(
            *(interest(api, user, assistant, note=f"note {n}") for n in range(4))
        )
        assert len({lead["id"] for lead in made}) == 1
        listed = await api.ok("GET", f"{PATH}?user_id={user['id']}", api.admin)
        assert len(listed) == 1
        assert sorted(listed[0]["notes"].splitlines()) == [f"note {n}" for n in range(4)]

    async def test_a_closed_lead_makes_way_for_a_new_one(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        first = await interest(api, user, assistant)
        await api.ok("PUT", f"{PATH}{first['id']}", api.admin, json={"status": "won"})
        second = await interest(api, user, assistant)
        assert second["id"] != first["id"] and second["status"] == "new"
        reopen = await api.http.put(
            f"{PATH}{first['id']}", headers=api.admin, json={"status": "in_progress"}
        )
        assert assert_error(reopen, 422)["fields"][0]["field"] == "status"

    async def test_a_bots_conversation_key_fits(self, api: Api) -> None:
        """A bots row's bot keys its conversations `bot:<bot id>:<user>` (decision 0048)."""
        user, assistant = await api.user(), await api.assistant()
        key = conversation_key(1, uuid.UUID(user["id"]), group=False, bot_id=uuid.uuid4())
        lead = await interest(api, user, assistant, conversation_key=key, items=["Haircut"])
        assert lead["conversation_key"] == key and len(key) > 64

    async def test_the_contact_is_attached_before_or_after(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        lead = await interest(api, user, assistant)
        assert lead["contact_id"] is None
        path = f"/api/contacts/of/{user['id']}/{assistant['id']}"
        body = {"consent_text": "ok", "phone": "+44 20 7946 0958"}
        contact = await api.ok("PUT", path, api.service, json=body)
        assert (await api.ok("GET", f"{PATH}{lead['id']}", api.admin))["contact_id"] == contact[
            "id"
        ]
        await api.ok("PUT", f"{PATH}{lead['id']}", api.admin, json={"status": "lost"})
        assert (await interest(api, user, assistant))["contact_id"] == contact["id"]

    async def test_bad_input_is_a_422_naming_the_field(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        nobody = "00000000-0000-4000-8000-000000000000"
        base = {"user_id": user["id"], "assistant_id": assistant["id"], "conversation_key": "k"}
        for body, field in (
            ({**base, "user_id": nobody}, "user_id"),
            ({**base, "assistant_id": nobody}, "assistant_id"),
            ({**base, "items": [""]}, "items.0"),
            ({**base, "items": ["x"] * 51}, "items"),
            ({**base, "start_payload": "p" * 65}, "start_payload"),
            ({**base, "conversation_key": ""}, "conversation_key"),
        ):
            response = await api.http.post(INTEREST, headers=api.service, json=body)
            error = assert_error(response, 422)
            assert field in {f["field"] for f in error["fields"]}, (field, error)


class TestAdmin:
    async def test_filter_edit_and_delete(self, api: Api) -> None:
        user, assistant = await api.user(), await api.assistant()
        lead = await interest(api, user, assistant)
        other = await interest(api, await api.user(), assistant)
        path = f"{PATH}{lead['id']}"
        changed = await api.ok(
            "PUT",
            path,
            api.admin,
            json={"status": "in_progress", "owner": " Maria ", "notes": "call"},
        )
        assert (changed["status"], changed["owner"], changed["notes"]) == (
            "in_progress",
            "Maria",
            "call",
        )
        scope = f"assistant_id={assistant['id']}"
        for query, wanted in (
            (scope, {lead["id"], other["id"]}),
            (f"{scope}&status=in_progress", {lead["id"]}),
            (f"{scope}&status=new", {other["id"]}),
            (f"{scope}&owner=maria", {lead["id"]}),
            (f"{scope}&created_from=2000-01-01T00:00:00Z", {lead["id"], other["id"]}),
            (f"{scope}&created_to=2000-01-01T00:00:00Z", set()),
        ):
            response = await api.http.get(f"{PATH}?{query}", headers=api.admin)
            assert {row["id"] for row in response.json()} == wanted, query
            assert response.headers["X-Total-Count"] == str(len(wanted))
        for bad, field in (
            ({"status": "maybe"}, "status"),
            ({"owner": "o" * 101}, "owner"),
            ({"notes": None}, "notes"),
        ):
            error = assert_error(await api.http.put(path, headers=api.admin, json=bad), 422)
            assert error["fields"][0]["field"] == field
        naive = await api.http.get(f"{PATH}?created_from=2000-01-01T00:00:00", headers=api.admin)
        assert assert_error(naive, 422)["fields"][0]["field"] == "created_from"
        assert (await api.http.delete(path, headers=api.admin)).status_code == 204
        assert_error(await api.http.get(path, headers=api.admin), 404)
        assert_error(await api.http.delete(path, headers=api.admin), 404)
        assert_error(await api.http.put(path, headers=api.admin, json={}), 404)


EVIL = '=HYPERLINK("http://evil.test","x")'


class TestExport:
    async def _lead(self, api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        user, assistant = await api.user(), await api.assistant()
        path = f"/api/contacts/of/{user['id']}/{assistant['id']}"
        body = {"consent_text": "ok", "name": "@SUM(1+1)", "phone": "8 912 345 67 89"}
        contact = await api.ok("PUT", path, api.service, json=body)
        lead = await interest(api, user, assistant, items=["Haircut", "-2+3"], note=EVIL)
        return assistant, contact, lead

    async def test_csv_rows_read_back_and_no_cell_is_a_formula(self, api: Api) -> None:
        assistant, _contact, lead = await self._lead(api)
        response = await api.http.get(
            f"{PATH}export?format=csv&assistant_id={assistant['id']}", headers=api.admin
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="leads.csv"' in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) == 1
        row = rows[0]
        assert (row["id"], row["status"], row["business"]) == (lead["id"], "new", assistant["name"])
        assert row["name"] == "'@SUM(1+1)" and row["phone"] == "'+79123456789"
        assert row["items"] == "Haircut; -2+3" and row["notes"] == "'" + EVIL
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value

    async def test_xlsx_rows_read_back_as_text(self, api: Api) -> None:
        assistant, contact, lead = await self._lead(api)
        response = await api.http.get(
            f"{PATH}export?format=xlsx&assistant_id={assistant['id']}", headers=api.admin
        )
        assert response.status_code == 200, response.text
        sheet = xlsx_sheet(response.content)
        header, *rows = list(sheet.iter_rows())
        assert [c.value for c in header][:4] == ["id", "created_at", "updated_at", "status"]
        assert len(rows) == 1
        values = {h.value: c for h, c in zip(header, rows[0], strict=True)}
        assert values["id"].value == lead["id"] and values["phone"].value == "+79123456789"
        assert values["notes"].value == EVIL and values["name"].value == contact["name"]
        assert all(cell.data_type == "s" for cell in rows[0] if cell.value is not None)

    async def test_an_unknown_format_is_a_422(self, api: Api) -> None:
        response = await api.http.get(f"{PATH}export?format=pdf", headers=api.admin)
        assert assert_error(response, 422)["fields"][0]["field"] == "format"
