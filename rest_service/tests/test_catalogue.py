"""/api/catalogue: the admin keeps the items (exact Decimal prices in a real currency, a sku
once per scope), services search them for one assistant; CSV and JSON export import back to
the same catalogue, all or nothing, with every bad row and field named."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest_service.tests.conftest import Api, assert_error
from tests.tiers import examples

PATH = "/api/catalogue/"


async def item(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Haircut", "price": "25.00", "currency": "EUR", **fields}
    return await api.ok("POST", PATH, api.admin, json=body)


async def export(api: Api, fmt: str) -> httpx.Response:
    response = await api.http.get(f"{PATH}export?format={fmt}", headers=api.admin)
    assert response.status_code == 200, response.text
    return response


async def import_(
    api: Api, body: bytes | str, media: str, fmt: str | None = None
) -> httpx.Response:
    query = f"?format={fmt}" if fmt else ""
    content = body.encode() if isinstance(body, str) else body
    return await api.http.post(
        f"{PATH}import{query}",
        content=content,
        headers={**api.admin, "Content-Type": media},
    )


class TestAuth:
    async def test_no_token_is_401_and_the_service_token_only_searches(self, api: Api) -> None:
        made = await item(api)
        assert_error(await api.http.get(PATH), 401)
        assert_error(await api.http.get(f"{PATH}search"), 401)
        for method, path in (
            ("GET", PATH),
            ("POST", PATH),
            ("GET", f"{PATH}{made['id']}"),
            ("PUT", f"{PATH}{made['id']}"),
            ("DELETE", f"{PATH}{made['id']}"),
            ("GET", f"{PATH}export"),
            ("POST", f"{PATH}import"),
        ):
            response = await api.http.request(method, path, headers=api.service, json={})
            assert_error(response, 403, "forbidden")
        found = await api.ok("GET", f"{PATH}search?q=haircut", api.service)
        assert [f["id"] for f in found] == [made["id"]]


class TestItems:
    async def test_create_get_update_delete_with_an_exact_price(self, api: Api) -> None:
        made = await item(api, price="1999.90", tags=["Hair", " hair ", "Men  Cut"], stock=3)
        assert made["price"] == "1999.90" and made["currency"] == "EUR"
        assert made["tags"] == ["hair", "men cut"] and made["available"] is True
        path = f"{PATH}{made['id']}"
        assert (await api.ok("GET", path, api.admin))["price"] == "1999.90"
        changed = await api.ok("PUT", path, api.admin, json={"price": 0.1, "available": False})
        assert changed["price"] == "0.10" and changed["available"] is False
        assert changed["name"] == "Haircut" and changed["stock"] == 3
        yen = await api.ok("PUT", path, api.admin, json={"price": "1500", "currency": "jpy"})
        assert (yen["price"], yen["currency"]) == ("1500", "JPY")
        assert (await api.http.delete(path, headers=api.admin)).status_code == 204
        assert_error(await api.http.get(path, headers=api.admin), 404)
        assert_error(await api.http.delete(path, headers=api.admin), 404)

    async def test_bad_fields_are_422s_naming_each(self, api: Api) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"price": "-1"}, "price"),
            ({"price": "NaN"}, "price"),
            ({"price": "10.123"}, "price"),
            ({"currency": "EURO"}, "currency"),
            ({"currency": "XYZ"}, "currency"),
            ({"name": "  "}, "name"),
            ({"duration_minutes": 0}, "duration_minutes"),
            ({"stock": -2}, "stock"),
            ({"tags": ["a,b"]}, "tags.0"),
            ({"assistant_id": "00000000-0000-0000-0000-000000000001"}, "assistant_id"),
            ({"currency": 5}, "currency"),
            ({"tags": [5]}, "tags.0"),
            ({"tags": ["  "]}, "tags.0"),
        ]
        for fields, named in cases:
            body = {"name": "Haircut", "price": "25", "currency": "EUR", **fields}
            response = await api.http.post(PATH, json=body, headers=api.admin)
            error = assert_error(response, 422, "validation_error")
            assert named in [f["field"] for f in error["fields"]], (fields, error)
        made = await item(api, price="10", currency="KWD")
        path = f"{PATH}{made['id']}"
        error = assert_error(
            await api.http.put(path, json={"currency": "JPY", "price": "1.5"}, headers=api.admin),
            422,
        )
        assert error["fields"][0]["field"] == "price"
        error = assert_error(await api.http.put(path, json={"name": None}, headers=api.admin), 422)
        assert error["fields"][0]["field"] == "name"

    async def test_a_sku_names_one_item_per_scope(self, api: Api) -> None:
        shop = await api.assistant()
        first = await item(api, sku="CUT-1")
        assert (await item(api, sku="   "))["sku"] is None
        body = {"id": first["id"], "name": "x", "price": "1", "currency": "EUR"}
        error = assert_error(await api.http.post(PATH, json=body, headers=api.admin), 409)
        assert error["fields"][0]["field"] == "id"
        await item(api, sku="CUT-1", assistant_id=shop["id"])
        await item(api, name="Without a sku")
        await item(api, name="Another without one")
        for scope in ({}, {"assistant_id": shop["id"]}):
            body = {"name": "x", "price": "1", "currency": "EUR", "sku": "CUT-1", **scope}
            error = assert_error(await api.http.post(PATH, json=body, headers=api.admin), 409)
            assert error["fields"][0]["field"] == "sku"

    async def test_list_filters_and_pages(self, api: Api) -> None:
        shop = await api.assistant()
        await item(api, name="Стрижка мужская", price="1500", currency="RUB", tags=["hair"])
        await item(api, name="Beard trim", price="15", tags=["beard"], available=False)
        await item(api, name="Colouring", price="80", assistant_id=shop["id"], is_active=False)

        async def names(query: str) -> list[str]:
            response = await api.http.get(f"{PATH}?{query}", headers=api.admin)
            assert response.status_code == 200, response.text
            return [r["name"] for r in response.json()]

        assert await names("") == ["Beard trim", "Colouring", "Стрижка мужская"]
        assert await names("q=стрижку") == ["Стрижка мужская"]
        assert await names("q=trimming") == ["Beard trim"]
        assert await names("tag=HAIR") == ["Стрижка мужская"]
        assert await names("min_price=20&max_price=100") == ["Colouring"]
        assert await names("currency=rub") == ["Стрижка мужская"]
        assert await names("available=false") == ["Beard trim"]
        assert await names("is_active=false") == ["Colouring"]
        assert await names(f"assistant_id={shop['id']}") == ["Colouring"]
        assert await names("shared=true") == ["Beard trim", "Стрижка мужская"]
        assert await names("shared=false") == ["Colouring"]
        paged = await api.http.get(f"{PATH}?limit=1&offset=1", headers=api.admin)
        assert paged.headers["X-Total-Count"] == "3"
        assert [r["name"] for r in paged.json()] == ["Colouring"]
        error = assert_error(await api.http.get(f"{PATH}?currency=zz", headers=api.admin), 422)
        assert error["fields"][0]["field"] == "currency"


class TestSearch:
    async def test_an_assistant_finds_its_own_and_shared_active_items(self, api: Api) -> None:
        shop, other = await api.assistant(), await api.assistant()
        ours = await item(api, name="Manicure", price="30", assistant_id=shop["id"])
        shared = await item(api, name="Gift card", price="50", tags=["gift"])
        await item(api, name="Pedicure", price="40", assistant_id=other["id"])
        await item(api, name="Old manicure", price="5", assistant_id=shop["id"], is_active=False)
        sold = await item(api, name="Nail kit", price="12", available=False)

        async def found(query: str) -> list[str]:
            rows = await api.ok("GET", f"{PATH}search?{query}", api.service)
            return [r["name"] for r in rows]

        assert await found(f"assistant_id={shop['id']}") == [
            "Gift card",
            "Manicure",
            "Nail kit",
        ]
        assert await found("") == ["Gift card", "Nail kit"]
        assert await found(f"assistant_id={shop['id']}&q=manicure") == ["Manicure"]
        assert await found(f"assistant_id={shop['id']}&available=true") == [
            "Gift card",
            "Manicure",
        ]
        assert await found(f"assistant_id={shop['id']}&max_price=30&tag=gift") == []
        assert await found(f"assistant_id={shop['id']}&item_id={ours['id']}") == ["Manicure"]
        assert await found(f"assistant_id={other['id']}&item_id={ours['id']}") == []
        assert await found(f"item_id={shared['id']}") == ["Gift card"]
        assert await found(f"item_id={sold['id']}&available=true") == []
        assert await found(f"assistant_id={shop['id']}&limit=1") == ["Gift card"]


class TestTransfer:
    async def test_csv_export_imports_back_to_the_same_catalogue(self, api: Api) -> None:
        shop = await api.assistant()
        await item(api, name="Стрижка; «модельная»", price="1500.50", currency="RUB")
        await item(
            api,
            name='Beard "trim"',
            sku="B-1",
            description="line one\nline two",
            tags=["beard", "men"],
            duration_minutes=30,
            stock=4,
            assistant_id=shop["id"],
        )
        csv_before = (await export(api, "csv")).content
        assert csv_before.startswith(b"\xef\xbb\xbf")
        json_before = (await export(api, "json")).json()
        for row in json_before:
            await api.http.delete(f"{PATH}{row['id']}", headers=api.admin)
        result = await import_(api, csv_before, "text/csv")
        assert result.json() == {"created": 2, "updated": 0}, result.text
        assert (await export(api, "json")).json() == json_before
        again = await import_(api, csv_before, "text/csv")
        assert again.json() == {"created": 0, "updated": 2}
        assert (await export(api, "csv")).content == csv_before

    async def test_a_spreadsheets_csv_with_semicolons_and_decimal_commas(self, api: Api) -> None:
        sheet = (
            "\ufeffname;price;currency;tags;available;sku\r\n"
            "Маникюр;1 500;RUB;nails;да;\r\n"
            "Педикюр;2000,50;RUB;nails|feet;нет;P-1\r\n"
        )
        error = assert_error(await import_(api, sheet.encode("utf-8"), "text/csv"), 422)
        assert [f["field"] for f in error["fields"]] == ["rows.1.price"]
        assert (await api.ok("GET", PATH, api.admin)) == []
        fixed = sheet.replace("1 500", "1500")
        result = await import_(api, fixed.encode(), "text/plain", fmt="csv")
        assert result.json() == {"created": 2, "updated": 0}, result.text
        rows = {r["name"]: r for r in await api.ok("GET", PATH, api.admin)}
        assert rows["Педикюр"]["price"] == "2000.50" and rows["Педикюр"]["available"] is False
        assert rows["Педикюр"]["tags"] == ["nails", "feet"] and rows["Маникюр"]["sku"] is None
        updated = await import_(api, "sku,name,price,currency\nP-1,Педикюр+,10,EUR\n", "text/csv")
        assert updated.json() == {"created": 0, "updated": 1}
        again = {r["name"]: r for r in await api.ok("GET", PATH, api.admin)}
        assert again["Педикюр+"]["price"] == "10.00" and len(again) == 2

    async def test_every_bad_row_and_field_is_named_and_nothing_is_kept(self, api: Api) -> None:
        rows = [
            {"name": "ok", "price": "1", "currency": "EUR", "sku": "A"},
            {"name": "", "price": "-1", "currency": "EUR"},
            {"name": "x", "price": "1.001", "currency": "EUR", "colour": "red"},
            {"name": "y", "currency": "EUR", "assistant": "nobody"},
            {"name": "dup", "price": "1", "currency": "EUR", "sku": "A"},
        ]
        error = assert_error(await import_(api, json.dumps(rows), "application/json"), 422)
        assert [f["field"] for f in error["fields"]] == [
            "rows.2.name",
            "rows.2.price",
            "rows.3.colour",
            "rows.4.price",
            "rows.4.assistant",
            "rows.5.sku",
        ]
        assert "the same sku as row 1" in error["fields"][-1]["reason"]
        assert error["detail"].startswith("6 problems, nothing imported")
        assert (await api.ok("GET", PATH, api.admin)) == []

    async def test_documents_that_are_not_a_catalogue_are_422s(self, api: Api) -> None:
        cases: list[tuple[bytes, str, str | None, str]] = [
            (b"{", "application/json", None, "body"),
            (b'{"a": 1}', "application/json", None, "body"),
            ("name;price\nя;1".encode("cp1251"), "text/csv", None, "body"),
            (b"", "text/csv", None, "body"),
            (b"name,price\nx,1\n", "text/csv", None, "header"),
            (b"name,price,currency\nx,1,EUR,extra\n", "text/csv", None, "rows.1.(extra cells)"),
            (b"name,price,currency\n", "application/xml", None, "format"),
            (b'"a', "text/csv", None, "header"),
            (b"name,price,currency\nx,1,EUR," + b"y" * 200_000 + b"\n", "text/csv", None, "body"),
        ]
        for body, media, fmt, field in cases:
            error = assert_error(await import_(api, body, media, fmt), 422)
            assert error["fields"][0]["field"] == field, (body, error)

    async def test_a_file_upload_and_the_row_limit(self, api: Api) -> None:
        from rest_service.app.domain import catalogue_transfer

        files = {"file": ("items.csv", b"name,price,currency\nTea,2.50,EUR\n", "text/csv")}
        response = await api.http.post(f"{PATH}import", files=files, headers=api.admin)
        assert response.json() == {"created": 1, "updated": 0}, response.text
        files = {
            "file": (
                "items.json",
                b'{"items": [{"name": "A", "price": 1, "currency": "USD", "tags": "x|y"}]}',
                "application/json",
            )
        }
        response = await api.http.post(f"{PATH}import", files=files, headers=api.admin)
        assert response.json() == {"created": 1, "updated": 0}, response.text
        response = await api.http.post(
            f"{PATH}import", files={"other": ("a", b"", "text/csv")}, headers=api.admin
        )
        assert assert_error(response, 422)["fields"][0]["field"] == "file"
        many = "name,price,currency\n" + "x,1,EUR\n" * (catalogue_transfer.MAX_ROWS + 1)
        error = assert_error(await import_(api, many, "text/csv"), 422)
        assert error["fields"][0]["field"] == "rows"
        # Over MAX_REQUEST_BODY_BYTES: the import has the config import's larger limit.
        huge = "name,price,currency\n" + "x,1,EUR\n" * 200_000
        assert len(huge) > 1_048_576
        assert (
            assert_error(await import_(api, huge, "text/csv"), 422)["fields"][0]["field"] == "rows"
        )


ITEMS = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.text(
                st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30
            ).filter(lambda s: s.strip()),
            "description": st.text(
                st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=60
            ),
            "price": st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2),
            "currency": st.sampled_from(["EUR", "RUB", "USD"]),
            "tags": st.lists(st.from_regex(r"[a-zа-я]{1,8}", fullmatch=True), max_size=3),
            "available": st.booleans(),
            "stock": st.none() | st.integers(0, 10**6),
            "duration_minutes": st.none() | st.integers(1, 600),
        }
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=ITEMS, fmt=st.sampled_from(["csv", "json"]))
async def test_any_catalogue_survives_export_and_import(
    api: Api, items: list[dict[str, Any]], fmt: str
) -> None:
    for body in items:
        await api.ok("POST", PATH, api.admin, json={**body, "price": str(body["price"])})
    before = (await export(api, "json")).json()
    document = (await export(api, fmt)).content
    for row in before:
        await api.http.delete(f"{PATH}{row['id']}", headers=api.admin)
    media = "text/csv" if fmt == "csv" else "application/json"
    result = await import_(api, document, media)
    assert result.json() == {"created": len(items), "updated": 0}, result.text
    assert (await export(api, "json")).json() == before
    for row in before:
        await api.http.delete(f"{PATH}{row['id']}", headers=api.admin)
