"""Documents people send, read into plain text for the model: PDF (pypdf), DOCX
(python-docx), and text, Markdown and CSV (decoded with a charset fallback).

A file we cannot read raises `DocumentUnreadable` with the reason, never a parser's own
exception: the bytes come from anyone, and the user gets a polite answer naming what we read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

from common.text import clean_text

#: What each supported kind is called by its file extension and MIME types.
PDF_TYPES = {"application/pdf", "application/x-pdf"}
DOCX_TYPES = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown", "text/csv", "application/csv"}
TEXT_EXTENSIONS = {".txt", ".text", ".md", ".markdown", ".csv", ".tsv", ".log"}
#: Named to the user when a file is not one of these.
SUPPORTED = "PDF, DOCX, TXT, Markdown, CSV"


class DocumentKind(StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    TEXT = "text"


class DocumentProblem(StrEnum):
    UNSUPPORTED = "unsupported"
    UNREADABLE = "unreadable"
    ENCRYPTED = "encrypted"
    EMPTY = "empty"


class DocumentUnreadable(Exception):
    """The document gave no text; `problem` says why, for the user's answer."""

    def __init__(self, problem: DocumentProblem, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem


@dataclass(frozen=True)
class DocumentText:
    text: str
    kind: DocumentKind
    #: True when the text was longer than the cap and was cut.
    cut: bool


def document_kind(mime_type: str | None, file_name: str | None) -> DocumentKind:
    """By the file's extension first (Telegram's MIME type is often octet-stream)."""
    suffix = PurePosixPath(file_name or "").suffix.lower()
    mime = (mime_type or "").split(";")[0].strip().lower()
    if suffix == ".pdf" or mime in PDF_TYPES:
        return DocumentKind.PDF
    if suffix == ".docx" or mime in DOCX_TYPES:
        return DocumentKind.DOCX
    if suffix in TEXT_EXTENSIONS or mime in TEXT_TYPES:
        return DocumentKind.TEXT
    raise DocumentUnreadable(DocumentProblem.UNSUPPORTED, mime or suffix or "unknown type")


def read_document(
    data: bytes, mime_type: str | None, file_name: str | None, max_chars: int
) -> DocumentText:
    """The document's text, cut to `max_chars`. CPU-bound: run it in a thread."""
    kind = document_kind(mime_type, file_name)
    readers = {DocumentKind.PDF: _pdf_text, DocumentKind.DOCX: _docx_text}
    text = (readers[kind](data, max_chars) if kind in readers else _decoded(data)).strip()
    if not text:
        raise DocumentUnreadable(DocumentProblem.EMPTY, kind)
    return DocumentText(clean_text(text[:max_chars]), kind, cut=len(text) > max_chars)


def _pdf_text(data: bytes, max_chars: int) -> str:
    """Pages until the cap is reached (a long book is not parsed to its end)."""
    import pypdf  # on first use: ~25 MB resident, for a rare message

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentUnreadable(DocumentProblem.ENCRYPTED, "pdf")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > max_chars:
                break
        return "\n\n".join(pages)
    except DocumentUnreadable:
        raise
    except Exception as exc:  # pypdf raises many types on malformed input; all mean "unreadable"
        raise DocumentUnreadable(DocumentProblem.UNREADABLE, f"pdf: {exc!r}"[:300]) from exc


def _docx_text(data: bytes, _max_chars: int) -> str:
    import docx  # on first use, like pypdf

    try:
        document = docx.Document(io.BytesIO(data))
        lines = [p.text for p in document.paragraphs]
        for table in document.tables:
            lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
        return "\n".join(lines)
    except Exception as exc:  # zip, XML and package errors alike: the file is not a DOCX we read
        raise DocumentUnreadable(DocumentProblem.UNREADABLE, f"docx: {exc!r}"[:300]) from exc


def _decoded(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else cp1251 (Cyrillic users' older
    files), else latin-1; NUL bytes elsewhere mean a binary file, not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DocumentUnreadable(DocumentProblem.UNREADABLE, "utf-16") from exc
    if b"\x00" in data:
        raise DocumentUnreadable(DocumentProblem.UNREADABLE, "binary data in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # every byte is a latin-1 character
