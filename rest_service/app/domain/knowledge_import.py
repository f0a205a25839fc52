"""Files an admin imports as knowledge articles: Markdown (one article per top-level `# `
section), PDF and DOCX (their text, in parts of at most `PART_CHARS` cut at paragraphs), text
(one article) and CSV of questions and answers (one article per row).

The files are read by the assistant's own readers (`common/features/documents.py`) in a
thread, bounded before anything is parsed: the body limit caps the bytes, a PDF of more than
`MAX_PAGES` pages and a DOCX whose zip directory promises too much are refused unread, and
the text stops at `MAX_CHARS`. Whatever cannot be read is a 422 naming `file` and why."""

from __future__ import annotations

import asyncio
import csv
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from common.features.documents import (
    DocumentProblem,
    DocumentUnreadable,
    read_document,
)
from common.infrastructure.errors import FieldError, ValidationFailedError, invalid
from rest_service.app.models.knowledge import (
    SOURCE_MAX,
    TITLE_MAX,
    KnowledgeArticleCreate,
    Language,
    Tags,
)

#: The most text one file gives, and the most pages a PDF may have.
MAX_CHARS = 2_000_000
MAX_PAGES = 1_000
#: The most articles one import makes.
MAX_ARTICLES = 2_000
#: A long document is cut into articles of about this size: a search hit names the part
#: that answers, not the whole book.
PART_CHARS = 8_000
MARKDOWN = {".md", ".markdown"}
SUPPORTED = ".md, .markdown, .txt, .pdf, .docx, .csv"
_PROBLEMS = {
    DocumentProblem.UNSUPPORTED: "not a file type we import",
    DocumentProblem.UNREADABLE: "could not be read",
    DocumentProblem.ENCRYPTED: "is encrypted",
    DocumentProblem.EMPTY: "has no text",
    DocumentProblem.TOO_HEAVY: "is too large to read",
}
_HEADING = re.compile(r"^#(?!#)\s*(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


T = TypeVar("T")
_LANGUAGE: TypeAdapter[str | None] = TypeAdapter(Language)
_TAGS: TypeAdapter[list[str]] = TypeAdapter(Tags)


@dataclass(frozen=True)
class ImportOptions:
    """What every article of one import gets."""

    assistant_id: uuid.UUID | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def of_form(
        cls, assistant_id: uuid.UUID | None, language: str | None, tags: str | None
    ) -> ImportOptions:
        """The form's fields checked as an article's are; `tags` comma-separated."""
        listed: list[str] = _field(_TAGS, "tags", (tags or "").split(","))
        return cls(assistant_id, _field(_LANGUAGE, "language", language), tuple(listed))


def _field(adapter: TypeAdapter[T], name: str, value: object) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise invalid(name, "; ".join(e["msg"] for e in exc.errors())) from exc


@dataclass(frozen=True)
class Draft:
    title: str
    body: str


async def articles_from_file(
    data: bytes, file_name: str, options: ImportOptions
) -> list[KnowledgeArticleCreate]:
    """The file's articles, checked as the API checks one, or a 422 naming `file`."""
    suffix = PurePosixPath(file_name).suffix.lower()
    if suffix not in {*MARKDOWN, ".txt", ".pdf", ".docx", ".csv"}:
        raise invalid("file", f"{file_name!r}: import {SUPPORTED} files")
    text = await asyncio.to_thread(_text, data, file_name)
    stem = PurePosixPath(file_name).stem.strip() or file_name
    if suffix == ".csv":
        drafts = _csv_rows(text)
    elif suffix in MARKDOWN:
        drafts = _markdown_sections(text, stem)
    else:
        drafts = _parts(text, stem)
    if not drafts:
        raise invalid("file", "has no articles")
    if len(drafts) > MAX_ARTICLES:
        raise invalid("file", f"makes {len(drafts)} articles, at most {MAX_ARTICLES} at once")
    return [_checked(draft, file_name, options, n) for n, draft in enumerate(drafts, 1)]


def _text(data: bytes, file_name: str) -> str:
    try:
        read = read_document(data, None, file_name, MAX_CHARS, max_pages=MAX_PAGES)
    except DocumentUnreadable as exc:
        raise invalid("file", _reason(exc)) from exc
    if read.cut:
        raise invalid("file", f"has more than {MAX_CHARS} characters of text: split it")
    return read.text


def _reason(exc: DocumentUnreadable) -> str:
    reason = _PROBLEMS[exc.problem]
    if exc.problem is DocumentProblem.TOO_HEAVY and "pages" in exc.detail:
        reason = f"has more than {MAX_PAGES} pages"
    return reason


def _markdown_sections(text: str, stem: str) -> list[Draft]:
    """One article per `# Heading` section (a heading inside a code block is not one); text
    before the first heading is an article named after the file; a file without top-level
    headings is one article."""
    drafts: list[Draft] = []
    title, lines, fenced = stem, [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        drafts.extend(_section(title, lines))
        title, lines = heading.group(1) or stem, []
    drafts.extend(_section(title, lines))
    return drafts


def _section(title: str, lines: list[str]) -> list[Draft]:
    body = "\n".join(lines).strip()
    return [Draft(title, body)] if body else []


def _parts(text: str, stem: str) -> list[Draft]:
    """The text in parts of at most `PART_CHARS`, cut between paragraphs (a longer
    paragraph is cut as it is)."""
    parts: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        while len(paragraph) > PART_CHARS:
            parts.extend([current] if current else [])
            current = ""
            parts.append(paragraph[:PART_CHARS])
            paragraph = paragraph[PART_CHARS:]
        if current and len(current) + len(paragraph) + 2 > PART_CHARS:
            parts.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current.strip():
        parts.append(current)
    if len(parts) == 1:
        return [Draft(stem, parts[0])]
    return [Draft(f"{stem} ({n}/{len(parts)})", part) for n, part in enumerate(parts, 1)]


def _csv_rows(text: str) -> list[Draft]:
    """A `question,answer` table (header names in any case, other columns ignored; `;` and
    tab separators too); a row without both is skipped."""
    lines = text.splitlines()
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], ",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(lines, dialect)
    header = [name.strip().lower() for name in next(reader, [])]
    if "question" not in header or "answer" not in header:
        raise invalid("file", "a CSV needs the columns question and answer in its first row")
    asked, told = header.index("question"), header.index("answer")
    drafts: list[Draft] = []
    for row in reader:
        question = row[asked].strip() if len(row) > asked else ""
        answer = row[told].strip() if len(row) > told else ""
        if question and answer:
            drafts.append(Draft(question, answer))
    return drafts


def _checked(
    draft: Draft, file_name: str, options: ImportOptions, number: int
) -> KnowledgeArticleCreate:
    """One article as the API would take it; a row it refuses is a 422 naming the row."""
    title = draft.title if len(draft.title) <= TITLE_MAX else draft.title[: TITLE_MAX - 1] + "…"
    try:
        return KnowledgeArticleCreate.model_validate(
            {
                "assistant_id": options.assistant_id,
                "title": title,
                "body": draft.body,
                "language": options.language,
                "source": file_name[:SOURCE_MAX],
                "tags": list(options.tags),
            }
        )
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        reason = f"article {number} ({title[:60]!r}): {reasons}"
        raise ValidationFailedError(f"file: {reason}", [FieldError("file", reason)]) from exc
