"""The admin's Catalogue page (list with the price in its currency, filter, create, edit,
delete through the service layer) and its export / import page, through the admin's own HTTP
forms."""

from __future__ import annotations

import httpx

from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, logged_in  # noqa: F401  (the fixture)

LIST = "/admin/catalogue-item/list"


def form(**fields: str) -> dict[str, str]:
    base = {
        "assistant_id": "",
        "sku": "",
        "name": "Haircut",
        "description": "",
        "price": "25.50",
        "currency": "EUR",
        "duration_minutes": "",
        "available": "y",
        "stock": "",
        "tags": "hair, Men",
        "is_active": "y",
    }
    return {**base, **fields}


async def test_create_list_filter_edit_and_delete(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    shop = await api.assistant()
    page = await logged_in.get("/admin/catalogue-item/create")
    assert page.status_code == 200 and shop["name"] in page.text
    made = await logged_in.post(
        "/admin/catalogue-item/create",
        data=form(assistant_id=shop["id"], sku="H-1", stock="3"),
        headers=ORIGIN,
    )
    assert made.status_code == 302, made.text
    (item,) = await api.ok("GET", "/api/catalogue/", api.admin)
    assert item["price"] == "25.50" and item["tags"] == ["hair", "men"]
    assert item["assistant_id"] == shop["id"] and item["stock"] == 3
    listed = await logged_in.get(LIST)
    assert "25.50 EUR" in listed.text and shop["name"] in listed.text
    hidden = await logged_in.get(f"{LIST}?available=false")
    assert "25.50 EUR" not in hidden.text
    edit = await logged_in.get(f"/admin/catalogue-item/edit/{item['id']}")
    assert "hair, men" in edit.text
    edited = await logged_in.post(
        f"/admin/catalogue-item/edit/{item['id']}",
        data=form(assistant_id=shop["id"], sku="H-1", price="30", available=""),
        headers=ORIGIN,
    )
    assert edited.status_code == 302, edited.text
    after = await api.ok("GET", f"/api/catalogue/{item['id']}", api.admin)
    assert (after["price"], after["available"], after["stock"]) == ("30.00", False, None)
    deleted = await logged_in.delete(
        f"/admin/catalogue-item/delete?pks={item['id']}", headers=ORIGIN
    )
    assert deleted.status_code == 200, deleted.text
    assert await api.ok("GET", "/api/catalogue/", api.admin) == []


async def test_a_bad_price_is_refused_with_the_reason(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    refused = await logged_in.post(
        "/admin/catalogue-item/create", data=form(price="10.5", currency="JPY"), headers=ORIGIN
    )
    assert refused.status_code == 400
    assert "JPY has 0 decimals" in refused.text
    assert await api.ok("GET", "/api/catalogue/", api.admin) == []


async def test_export_and_import_on_the_transfer_page(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    await api.ok(
        "POST", "/api/catalogue/", api.admin, json={"name": "Tea", "price": "2", "currency": "EUR"}
    )
    page = await logged_in.get("/admin/catalogue-transfer")
    assert page.status_code == 200 and "catalogue-import" in page.text
    csv = await logged_in.get("/admin/catalogue-export?format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and b",Tea,,2.00,EUR," in csv.content
    document = await logged_in.get("/admin/catalogue-export?format=json")
    assert document.json()[0]["price"] == "2.00"
    sheet = b"name;price;currency\nCoffee;3,50;EUR\n"
    done = await logged_in.post(
        "/admin/catalogue-import",
        files={"file": ("sheet.csv", sheet, "text/csv")},
        headers=ORIGIN,
        follow_redirects=True,
    )
    assert "1 added, 0 updated" in done.text
    again = await logged_in.post(
        "/admin/catalogue-import",
        files={"file": ("items.json", document.content, "application/json")},
        headers=ORIGIN,
        follow_redirects=True,
    )
    assert "0 added, 1 updated" in again.text
    bad = await logged_in.post(
        "/admin/catalogue-import",
        files={"file": ("bad.csv", b"name,price,currency\nX,-1,EUR\nY,1,ZZZ\n", "text/csv")},
        headers=ORIGIN,
    )
    assert bad.status_code == 400
    assert "rows.1.price" in bad.text and "rows.2.currency" in bad.text
    empty = await logged_in.post(
        "/admin/catalogue-import",
        files={"file": ("", b"", "text/csv")},
        headers=ORIGIN,
    )
    assert empty.status_code == 400 and "choose a .csv or .json file" in empty.text
    names = [r["name"] for r in await api.ok("GET", "/api/catalogue/", api.admin)]
    assert names == ["Coffee", "Tea"]
