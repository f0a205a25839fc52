"""Documents people send, read into plain text for the model: PDF (pypdf), DOCX (its
`word/document.xml` read as a stream), and text, Markdown and CSV (decoded with a charset
fallback).

A file we cannot read raises `DocumentUnreadable` with the reason, never a parser's own
exception: the bytes come from anyone, and the user gets a polite answer naming what we read.

A DOCX is a zip: before anything is inflated its directory is checked (`check_zip`: entries,
total uncompressed size, compression ratio), so a small file that inflates to gigabytes is
refused unread, and its text is read as a stream that stops at the character cap. The readers
run in a child process with memory and time limits (`file_worker.py`); this module is what
that process runs; rest_service's knowledge import reads an admin's files with the same
readers in a thread, bounded by bytes, pages and characters.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any

from common.infrastructure.text import clean_text

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
    #: Over the zip checks, or over the child process' memory or time.
    TOO_HEAVY = "too_heavy"


class FileUnreadable(Exception):
    """A file gave nothing usable; `problem` says why, for the user's answer."""

    def __init__(self, problem: StrEnum, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else str(problem))
        self.problem = problem
        self.detail = detail


class DocumentUnreadable(FileUnreadable):
    """The document gave no text."""

    problem: DocumentProblem

    def __init__(self, problem: DocumentProblem, detail: str = "") -> None:
        super().__init__(problem, detail)


@dataclass(frozen=True)
class ZipLimits:
    """What a zip-based document may hold before it is opened."""

    max_entries: int = 2_000
    #: The sum of the entries' uncompressed sizes, as the directory declares them (reading
    #: an entry stops at its declared size, so the declaration bounds the work).
    max_unzipped_bytes: int = 64 * 1024 * 1024
    #: Uncompressed / compressed, of any one entry and of the whole: plain XML packs about
    #: 10:1, a bomb 1000:1.
    max_ratio: int = 100


ZIP_LIMITS = ZipLimits()
#: An entry this small may be any ratio (a few hundred zeros pack to a few bytes).
_SMALL_ENTRY = 64 * 1024


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
    data: bytes,
    mime_type: str | None,
    file_name: str | None,
    max_chars: int,
    max_pages: int | None = None,
) -> DocumentText:
    """The document's text, cut to `max_chars`; a PDF of more than `max_pages` pages is
    refused (`TOO_HEAVY`) unread. CPU-bound: run it in a thread."""
    kind = document_kind(mime_type, file_name)
    if kind is DocumentKind.PDF:
        text = _pdf_text(data, max_chars, max_pages).strip()
    elif kind is DocumentKind.DOCX:
        text = _docx_text(data, max_chars).strip()
    else:
        text = _decoded(data).strip()
    if not text:
        raise DocumentUnreadable(DocumentProblem.EMPTY, kind)
    return DocumentText(clean_text(text[:max_chars]), kind, cut=len(text) > max_chars)


def _pdf_text(data: bytes, max_chars: int, max_pages: int | None = None) -> str:
    """Pages until the cap is reached (a long book is not parsed to its end)."""
    import pypdf  # on first use: ~25 MB resident, for a rare message

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentUnreadable(DocumentProblem.ENCRYPTED, "pdf")
        if max_pages is not None and len(reader.pages) > max_pages:
            raise DocumentUnreadable(DocumentProblem.TOO_HEAVY, f"over {max_pages} pages")
        pages: list[str] = []
        size = 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > max_chars:
                break
        return "\n\n".join(pages)
    except (DocumentUnreadable, MemoryError):
        raise  # out of memory: the child process says so (`file_worker.py`)
    except pypdf.errors.LimitReachedError as exc:  # a stream inflating past pypdf's limits
        raise DocumentUnreadable(DocumentProblem.TOO_HEAVY, f"pdf: {exc!r}"[:300]) from exc
    except Exception as exc:  # pypdf raises many types on malformed input; all mean "unreadable"
        raise DocumentUnreadable(DocumentProblem.UNREADABLE, f"pdf: {exc!r}"[:300]) from exc


def check_zip(archive: zipfile.ZipFile, limits: ZipLimits = ZIP_LIMITS) -> None:
    """Refuse (`TOO_HEAVY`) an archive whose directory promises more than `limits` allow;
    nothing is inflated here."""
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise DocumentUnreadable(DocumentProblem.TOO_HEAVY, f"{len(entries)} zip entries")
    total = sum(entry.file_size for entry in entries)
    packed = sum(entry.compress_size for entry in entries)
    if total > limits.max_unzipped_bytes:
        raise DocumentUnreadable(DocumentProblem.TOO_HEAVY, f"{total} bytes unzipped")
    if total > _SMALL_ENTRY and total > limits.max_ratio * max(packed, 1):
        raise DocumentUnreadable(DocumentProblem.TOO_HEAVY, f"ratio {total // max(packed, 1)}")
    for entry in entries:
        if entry.file_size > _SMALL_ENTRY and entry.file_size > limits.max_ratio * max(
            entry.compress_size, 1
        ):
            raise DocumentUnreadable(DocumentProblem.TOO_HEAVY, f"ratio of {entry.filename}")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
#: How much of the XML is inflated and parsed at a time.
_CHUNK = 64 * 1024


def _docx_text(data: bytes, max_chars: int) -> str:
    """Paragraphs in document order (a table row's cells joined with " | "), read from
    `word/document.xml` a chunk at a time until `max_chars` are found."""
    from xml.etree.ElementTree import ParseError, XMLPullParser

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive)
            with archive.open("word/document.xml") as xml:
                lines = _DocxLines(max_chars)
                parser: XMLPullParser[Any] = XMLPullParser(events=("start", "end"))
                while not lines.full and (chunk := xml.read(_CHUNK)):
                    parser.feed(chunk)
                    for found in parser.read_events():
                        lines.take(*found)
                return "\n".join(lines.lines)
    except DocumentUnreadable:
        raise
    except (zipfile.BadZipFile, KeyError, ParseError, EOFError, ValueError, OSError) as exc:
        # zipfile, XML and package errors alike: the file is not a DOCX we read
        raise DocumentUnreadable(DocumentProblem.UNREADABLE, f"docx: {exc!r}"[:300]) from exc
    except NotImplementedError as exc:  # a compression zipfile lacks
        raise DocumentUnreadable(DocumentProblem.UNREADABLE, f"docx: {exc!r}"[:300]) from exc


class _DocxLines:
    """The text of WordprocessingML as its elements stream by; each finished element is
    cleared and let go of, so memory holds one paragraph, not the document."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.lines: list[str] = []
        self.size = 0
        self._paragraph: list[str] = []
        self._cells: list[list[str]] = []  # one list of cell texts per open table row
        self._cell: list[str] | None = None
        self._open: list[Any] = []

    @property
    def full(self) -> bool:
        return self.size > self.max_chars

    def take(self, event: str, element: Any = None) -> None:
        tag = element.tag
        if event == "start":
            self._open.append(element)
            if tag == f"{_W}tr":
                self._cells.append([])
            elif tag == f"{_W}tc":
                self._cell = []
            return
        if tag == f"{_W}t" and element.text:
            self._paragraph.append(element.text)
        elif tag == f"{_W}tab":
            self._paragraph.append("\t")
        elif tag in (f"{_W}br", f"{_W}cr"):
            self._paragraph.append("\n")
        elif tag == f"{_W}p":
            self._paragraph_done()
        elif tag == f"{_W}tc" and self._cells:
            self._cells[-1].append(" ".join(self._cell or []))
            self._cell = None
        elif tag == f"{_W}tr" and self._cells:
            self._line(" | ".join(self._cells.pop()))
        element.clear()
        self._open.pop()
        if self._open and len(self._open[-1]) and self._open[-1][-1] is element:
            del self._open[-1][-1]

    def _paragraph_done(self) -> None:
        text = "".join(self._paragraph)
        self._paragraph = []
        if self._cell is not None:
            self._cell.append(text)
        else:
            self._line(text)

    def _line(self, text: str) -> None:
        self.lines.append(text)
        self.size += len(text) + 1


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
