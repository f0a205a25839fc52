"""The admin's "Pairing requests": the pending list shows a stranger's code, Approve and Refuse
decide the chosen rows (the logged-in admin as who decided), and an unknown code is a 404
page, through the admin's own HTTP pages."""

from __future__ import annotations

import httpx

from rest_service.tests.conftest import Api, telegram_id
from rest_service.tests.test_admin import logged_in  # noqa: F401  (the fixture)

LIST = "/admin/pairing/list"


async def _code(api: Api, name: str) -> str:
    made = await api.ok("POST", "/api/pairings", api.service,
                        json={"telegram_id": telegram_id(), "first_name": name})  # fmt: skip
    return str(made["code"])


async def test_the_admin_approves_and_refuses_pairing_requests(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    anna, boris = await _code(api, "Anna"), await _code(api, "Boris")
    pending = await logged_in.get(f"{LIST}?status=pending")
    assert pending.status_code == 200, pending.text
    assert anna in pending.text and boris in pending.text

    approved = await logged_in.get(f"/admin/pairing/action/approve?pks={anna}")
    refused = await logged_in.get(f"/admin/pairing/action/refuse?pks={boris}")
    assert (approved.status_code, refused.status_code) == (303, 303)
    listed = {p["code"]: p for p in await api.ok("GET", "/api/pairings?limit=1000", api.admin)}
    assert listed[anna]["status"] == "approved" and listed[boris]["status"] == "refused"
    assert listed[anna]["decided_by"].startswith(("admin", "api-token"))
    missing = await logged_in.get("/admin/pairing/action/approve?pks=AAAAAA")
    assert missing.status_code == 404
