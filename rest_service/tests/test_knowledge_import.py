"""POST /api/knowledge/import: Markdown one article per `# ` section, PDF and DOCX their text
(long ones in parts), text one article, CSV one per question and answer; every article of a
file or none; a broken, empty, encrypted, oversized or unknown file is a 422 naming `file`,
and a bomb is refused without being inflated."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rest_service.app.domain.knowledge_import import MAX_ARTICLES, MAX_CHARS, MAX_PAGES, PART_CHARS
from rest_service.tests.conftest import Api, assert_error
from tests.media_files import docx_bomb, docx_file, pdf, pdf_bomb
from tests.tiers import examples

IMPORT = "/api/knowledge/import"
PROPERTY = settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MARKDOWN = """Opening words before any heading.

# Delivery
We deliver in **two days**.

## Abroad
Abroad it takes a week.

```
# not a heading, inside code
```

# Returns #
Send it back within 30 days.

#

"""


async def upload(
    api: Api, name: str, data: bytes, headers: dict[str, str] | None = None, **form: str
) -> httpx.Response:
    return await api.http.post(
        IMPORT, files={"file": (name, data)}, data=form, headers=headers or api.admin
    )


async def imported(api: Api, name: str, data: bytes, **form: str) -> list[dict[str, Any]]:
    response = await upload(api, name, data, None, **form)
    assert response.status_code == 201, response.text
    return response.json()


def refused(response: httpx.Response, field: str = "file") -> str:
    body = assert_error(response, 422, "validation_error")
    assert body["fields"][0]["field"] == field, body
    return body["fields"][0]["reason"]


def table(*rows: tuple[str, ...], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode()


class TestFormats:
    async def test_markdown_is_one_article_per_top_level_section(self, api: Api) -> None:
        owner = await api.assistant()
        made = await imported(
            api, "shop.md", MARKDOWN.encode(), assistant_id=owner["id"], language="EN",
            tags="FAQ, shop,,faq",
        )  # fmt: skip
        assert [a["title"] for a in made] == ["shop", "Delivery", "Returns"]
        assert "## Abroad" in made[1]["body"] and "# not a heading" in made[1]["body"]
        assert made[2]["body"] == "Send it back within 30 days."
        assert {a["source"] for a in made} == {"shop.md"}
        assert {a["assistant_id"] for a in made} == {owner["id"]}
        assert {a["language"] for a in made} == {"en"}
        assert all(a["tags"] == ["faq", "shop"] for a in made)
        hits = await api.ok("GET", "/api/knowledge/search", api.service, params={"q": "abroad"})
        assert [h["title"] for h in hits] == ["Delivery"]

    async def test_markdown_without_headings_is_one_article(self, api: Api) -> None:
        made = await imported(api, "Notes.markdown", b"## Only a subheading\nText")
        assert [(a["title"], a["body"]) for a in made] == [("Notes", "## Only a subheading\nText")]

    async def test_text_is_one_article(self, api: Api) -> None:
        made = await imported(api, "hours.txt", "Открыто с 9 до 18.".encode("cp1251"))
        assert [(a["title"], a["body"]) for a in made] == [("hours", "Открыто с 9 до 18.")]

    async def test_pdf_is_its_text(self, api: Api) -> None:
        made = await imported(api, "Price list.pdf", pdf("Coffee costs 3 euros.", "Tea 2."))
        assert [a["title"] for a in made] == ["Price list"]
        assert "Coffee costs 3 euros." in made[0]["body"] and made[0]["source"] == "Price list.pdf"

    async def test_docx_is_its_text(self, api: Api) -> None:
        made = await imported(api, "guide.docx", docx_file("Гарантия два года.", "Second."))
        assert [(a["title"], a["body"]) for a in made] == [("guide", "Гарантия два года.\nSecond.")]

    async def test_a_long_document_is_cut_into_parts_at_paragraphs(self, api: Api) -> None:
        paragraph = "word " * 700  # 3500 characters
        text = "\n\n".join(f"{n} {paragraph}" for n in range(5)) + "\n\n" + "x" * (PART_CHARS + 5)
        made = await imported(api, "book.txt", text.encode())
        assert [a["title"] for a in made] == [f"book ({n}/5)" for n in range(1, 6)]
        assert all(len(a["body"]) <= PART_CHARS for a in made)
        assert made[0]["body"].startswith("0 word") and made[1]["body"].startswith("2 word")
        assert made[3]["body"] == "x" * PART_CHARS and made[4]["body"] == "x" * 5

    async def test_a_paragraph_of_whole_parts_leaves_no_empty_one(self, api: Api) -> None:
        made = await imported(api, "wall.txt", b"y" * (2 * PART_CHARS))
        assert [len(a["body"]) for a in made] == [PART_CHARS, PART_CHARS]

    async def test_csv_is_one_article_per_question(self, api: Api) -> None:
        data = table(
            ("ID", " Question ", "Answer"),
            ("1", "Do you deliver?", "Yes, in two days."),
            ("2", "", "an answer without its question is skipped"),
            ("3", "Сколько стоит доставка?", "300 рублей."),
            ("4",),
        )
        made = await imported(api, "faq.csv", data)
        assert [(a["title"], a["body"]) for a in made] == [
            ("Do you deliver?", "Yes, in two days."),
            ("Сколько стоит доставка?", "300 рублей."),
        ]

    async def test_csv_with_semicolons_and_a_long_question(self, api: Api) -> None:
        made = await imported(
            api, "faq.csv", table(("question", "answer"), ("q" * 400, "a"), delimiter=";")
        )
        assert len(made[0]["title"]) == 300 and made[0]["title"].endswith("…")


class TestRefusals:
    async def test_only_the_admin_imports(self, api: Api) -> None:
        assert_error(await upload(api, "a.md", b"# A\nb", headers=api.service), 403)
        assert_error(await api.http.post(IMPORT, files={"file": ("a.md", b"x")}), 401)

    @pytest.mark.parametrize(
        ("name", "data", "reason"),
        [
            ("virus.exe", b"MZ", "import .md"),
            ("noext", b"text", "import .md"),
            ("empty.md", b"", "has no text"),
            ("blank.md", b"  \n\n", "has no text"),
            ("headings.md", b"# A\n# B\n", "has no articles"),
            ("broken.pdf", b"%PDF-1.4 not really", "could not be read"),
            ("broken.docx", b"PK\x03\x04 not a zip", "could not be read"),
            ("binary.txt", b"abc\x00def", "could not be read"),
            ("faq.csv", b"q,a\nx,y\n", "columns question and answer"),
            ("faq.csv", b"question,answer\n,\n", "has no articles"),
        ],
    )
    async def test_an_unreadable_file_is_a_422_naming_file(
        self, api: Api, name: str, data: bytes, reason: str
    ) -> None:
        assert reason in refused(await upload(api, name, data))

    async def test_an_encrypted_pdf_is_refused(self, api: Api) -> None:
        assert refused(await upload(api, "s.pdf", pdf("x", password="p"))) == "is encrypted"

    async def test_bombs_and_long_books_are_refused_unread(self, api: Api) -> None:
        assert refused(await upload(api, "b.docx", docx_bomb())) == "is too large to read"
        pages = pdf_bomb(pages=MAX_PAGES + 1, megabytes_per_page=0)
        assert refused(await upload(api, "b.pdf", pages)) == f"has more than {MAX_PAGES} pages"
        inflating = pdf_bomb(pages=1, megabytes_per_page=100)
        assert refused(await upload(api, "i.pdf", inflating)) == "is too large to read"

    async def test_a_file_over_the_import_limit_is_413(self, api: Api) -> None:
        big = b"x" * (16 * 1_048_576 + 1)
        assert_error(await upload(api, "big.txt", big), 413)

    async def test_too_much_text_or_too_many_articles_is_refused(self, api: Api) -> None:
        reason = refused(await upload(api, "long.txt", b"x" * (MAX_CHARS + 1)))
        assert reason == f"has more than {MAX_CHARS} characters of text: split it"
        rows = [("question", "answer"), *((f"q{n}", "a") for n in range(MAX_ARTICLES + 1))]
        reason = refused(await upload(api, "many.csv", table(*rows)))
        assert reason == f"makes {MAX_ARTICLES + 1} articles, at most {MAX_ARTICLES} at once"

    async def test_form_fields_are_checked(self, api: Api) -> None:
        assert "ISO 639" in refused(
            await upload(api, "a.md", b"# A\nb", language="klingon"), "language"
        )
        assert refused(await upload(api, "a.md", b"# A\nb", tags="t" * 65), "tags")
        refused(await upload(api, "a.md", b"# A\nb", assistant_id="nope"), "assistant_id")
        gone = "00000000-0000-0000-0000-000000000001"
        refused(await upload(api, "a.md", b"# A\nb", assistant_id=gone), "assistant_id")
        assert await api.ok("GET", "/api/knowledge/", api.admin) == [], "all or none"

    async def test_an_upload_without_a_file_name_or_file(self, api: Api) -> None:
        refused(await api.http.post(IMPORT, files={"file": ("", b"x")}, headers=api.admin))
        refused(await api.http.post(IMPORT, data={"x": "y"}, headers=api.admin))

    async def test_a_row_the_api_would_refuse_names_its_row(self, api: Api) -> None:
        data = table(("question", "answer"), ("q", "a" * 100_001))
        assert refused(await upload(api, "f.csv", data)).startswith("article 1 ('q'): body:")

    @PROPERTY
    @given(
        name=st.sampled_from(["a.md", "a.txt", "a.csv", "a.pdf", "a.docx", "a.bin"]),
        data=st.binary(max_size=300),
    )
    async def test_any_file_is_imported_or_a_422_naming_file(
        self, api: Api, name: str, data: bytes
    ) -> None:
        response = await upload(api, name, data)
        if response.status_code == 201:
            assert response.json() and all(a["source"] == name for a in response.json())
        else:
            refused(response)
