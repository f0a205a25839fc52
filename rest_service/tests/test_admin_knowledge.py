"""The admin's knowledge import page, through its own HTTP form: a file becomes articles of
the business chosen by name, all or none, a refused file named with the reason."""

from __future__ import annotations

import httpx

from rest_service.tests.conftest import Api
from rest_service.tests.test_admin import ORIGIN, logged_in  # noqa: F401  (the fixture)

PAGE = "/admin/knowledge-import"
UPLOAD = "/admin/knowledge-upload"
FAQ = b"question,answer\nDo you deliver?,Yes: in Berlin within a day.\nOpen on Sunday?,No.\n"


async def test_a_file_imported_for_a_business_becomes_its_articles(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    shop = await api.assistant()
    page = await logged_in.get(PAGE)
    assert page.status_code == 200 and shop["name"] in page.text and "knowledge-file" in page.text
    done = await logged_in.post(
        UPLOAD,
        data={"assistant_id": shop["id"], "language": "en", "tags": "faq, Delivery"},
        files={"file": ("faq.csv", FAQ, "text/csv")},
        headers=ORIGIN,
        follow_redirects=True,
    )
    assert done.status_code == 200 and "Imported: 2 articles added." in done.text
    articles = await api.ok("GET", "/api/knowledge/", api.admin)
    assert sorted(a["title"] for a in articles) == ["Do you deliver?", "Open on Sunday?"]
    assert {a["assistant_id"] for a in articles} == {shop["id"]}
    assert {a["language"] for a in articles} == {"en"}
    assert all(a["tags"] == ["faq", "delivery"] for a in articles)


async def test_a_refused_file_imports_nothing_and_says_why(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    binary = await logged_in.post(
        UPLOAD,
        data={"assistant_id": ""},
        files={"file": ("notes.pdf", b"not a pdf at all", "application/pdf")},
        headers=ORIGIN,
    )
    assert binary.status_code == 400 and "<code>file</code>" in binary.text
    no_file = await logged_in.post(
        UPLOAD, data={"assistant_id": ""}, files={"file": ("", b"", "text/csv")}, headers=ORIGIN
    )
    assert no_file.status_code == 400 and "choose a file" in no_file.text
    forged = await logged_in.post(
        UPLOAD,
        data={"assistant_id": "not-an-id"},
        files={"file": ("faq.csv", FAQ, "text/csv")},
        headers=ORIGIN,
    )
    assert forged.status_code == 400 and "<code>assistant_id</code>" in forged.text
    assert await api.ok("GET", "/api/knowledge/", api.admin) == []
