"""Documents read into text (`common/features/documents.py`): generated PDFs and DOCX files,
text in several charsets, and anything else raising only `DocumentUnreadable`."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Callable
from functools import partial

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.assistants.voice_reply import asks_for_voice, spoken_text
from assistant.src.clients.audio import audio_file_name
from common.features.documents import (
    DocumentKind,
    DocumentProblem,
    DocumentUnreadable,
    read_document,
)
from tests.media_files import docx_file, pdf

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_a_pdf_gives_its_text() -> None:
    read = read_document(pdf("The capital of Atlantis is Poseidonia."), None, "a.pdf", 5000)
    assert read.kind == DocumentKind.PDF and not read.cut
    assert "Poseidonia" in read.text


def test_a_long_pdf_is_cut_and_says_so() -> None:
    pages = [f"Paragraph {i}: " + "words " * 40 for i in range(80)]
    read = read_document(pdf(*pages), "application/pdf", "book.pdf", 1000)
    assert read.cut and len(read.text) == 1000


def test_a_docx_gives_its_paragraphs() -> None:
    read = read_document(docx_file("First line", "Вторая строка"), DOCX, "notes.docx", 5000)
    assert read.kind == DocumentKind.DOCX
    assert read.text == "First line\nВторая строка"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ("имя,город\nАня,Москва\n".encode("cp1251"), "people.csv"),
        ("имя,город\nАня,Москва\n".encode(), "people.csv"),
        ("имя,город\nАня,Москва\n".encode("utf-16"), "people.csv"),
        ("\ufeffимя,город\nАня,Москва\n".encode(), "people.csv"),
    ],
)
def test_text_is_decoded_with_a_charset_fallback(data: bytes, name: str) -> None:
    assert read_document(data, None, name, 5000).text == "имя,город\nАня,Москва"


@pytest.mark.parametrize(
    ("data", "mime", "name", "problem"),
    [
        (b"%PDF-1.4 garbage", "application/pdf", "a.pdf", DocumentProblem.UNREADABLE),
        (b"not a zip", DOCX, "a.docx", DocumentProblem.UNREADABLE),
        (partial(pdf, "secret", password="pw"), None, "locked.pdf", DocumentProblem.ENCRYPTED),
        (partial(pdf, ""), None, "blank.pdf", DocumentProblem.EMPTY),
        (b"\x00\x01\x02binary", "text/plain", "a.txt", DocumentProblem.UNREADABLE),
        (b"MZ\x90\x00", "application/x-msdownload", "setup.exe", DocumentProblem.UNSUPPORTED),
        (b"{}", "application/octet-stream", None, DocumentProblem.UNSUPPORTED),
        (b"   \n  ", None, "empty.md", DocumentProblem.EMPTY),
    ],
    # Named, not by their bytes: a PDF holds its creation time, and every xdist worker must
    # collect the same names. A PDF is made when its test runs (fpdf2 is not imported at
    # collection).
    ids=[
        "garbage-pdf",
        "not-a-zip",
        "locked-pdf",
        "blank-pdf",
        "binary",
        "exe",
        "no-name",
        "blank-md",
    ],
)
def test_what_cannot_be_read_says_why(
    data: bytes | Callable[[], bytes], mime: str | None, name: str | None, problem: DocumentProblem
) -> None:
    with pytest.raises(DocumentUnreadable) as raised:
        read_document(data() if callable(data) else data, mime, name, 5000)
    assert raised.value.problem == problem


_MIMES = st.sampled_from(
    [None, "application/pdf", DOCX, "text/plain", "text/csv", "image/png", "", "x/y; a=b"]
)
_NAMES = st.sampled_from([None, "a.pdf", "b.docx", "c.txt", "d.md", "e.csv", "f", ".pdf", "g.PDF"])
_PREFIXES = st.sampled_from([b"", b"%PDF-1.7\n", b"PK\x03\x04", b"\xff\xfe", b"\xef\xbb\xbf"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=_PREFIXES, body=st.binary(max_size=2000), mime=_MIMES, name=_NAMES)
def test_any_bytes_give_text_or_document_unreadable(
    prefix: bytes, body: bytes, mime: str | None, name: str | None
) -> None:
    try:
        read = read_document(prefix + body, mime, name, 1000)
    except DocumentUnreadable:
        return
    assert read.text and len(read.text) <= 1000 and "\x00" not in read.text


@settings(max_examples=40, deadline=None)
@given(body=st.binary(min_size=1, max_size=400), cut=st.integers(min_value=0, max_value=400))
def test_a_damaged_real_pdf_gives_text_or_document_unreadable(body: bytes, cut: int) -> None:
    real = pdf("Some real text in a real PDF.")
    damaged = real[:cut] + body + real[cut + len(body) :]
    with contextlib.suppress(DocumentUnreadable):
        read_document(damaged, "application/pdf", "x.pdf", 1000)


@pytest.mark.parametrize(
    "text",
    ["Answer by voice, please", "reply with a voice message", "ответь голосом", "скажи вслух"],
)
def test_asking_for_a_voice_answer_is_recognised(text: str) -> None:
    assert asks_for_voice(text)


@pytest.mark.parametrize("text", ["my voice is hoarse", "голос разума", "what's the weather?"])
def test_other_mentions_of_voice_are_not_a_request(text: str) -> None:
    assert not asks_for_voice(text)


def test_spoken_text_has_no_markdown() -> None:
    said = spoken_text("## Plan\n- **Buy** milk\n- see [the list](https://x.y/z)\n`code`")
    assert said == "Plan\nBuy milk\nsee the list\ncode"


@pytest.mark.parametrize(
    ("name", "mime", "sent_as"),
    [
        (None, "audio/ogg", "voice.ogg"),
        ("song.mp3", "audio/mpeg", "song.mp3"),
        ("memo.opus", "audio/opus", "voice.ogg"),
        (None, None, "voice.ogg"),
        ("rec.m4a", None, "rec.m4a"),
    ],
)
def test_audio_is_named_for_its_format(name: str | None, mime: str | None, sent_as: str) -> None:
    assert audio_file_name(name, mime) == sent_as


def test_a_docx_table_reads_row_by_row_with_tabs_and_line_breaks_kept() -> None:
    import docx  # python-docx: only where a test builds a document of its own

    document = docx.Document()
    document.add_paragraph("Before the table")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Name", "City"), ("Anya", "Moscow")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    run = document.add_paragraph().add_run("one")
    run.add_tab()
    run.add_text("two")
    run.add_break()
    run.add_text("three")
    buffer = io.BytesIO()
    document.save(buffer)
    read = read_document(buffer.getvalue(), DOCX, "table.docx", 5000)
    assert read.text == "Before the table\nName | City\nAnya | Moscow\none\ttwo\nthree"


def with_compression_method(archive: bytes, method: int) -> bytes:
    """`archive` (stored entries) with every entry claiming another compression method."""
    data = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = data.find(signature)
        while start != -1:
            data[start + offset : start + offset + 2] = method.to_bytes(2, "little")
            start = data.find(signature, start + 4)
    return bytes(data)


def test_a_docx_packed_with_a_method_zipfile_lacks_is_unreadable() -> None:
    stored = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx_file("text"))) as source,
        zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive,
    ):
        for entry in source.infolist():
            archive.writestr(entry.filename, source.read(entry.filename))
    ppmd = with_compression_method(stored.getvalue(), 98)
    with pytest.raises(DocumentUnreadable) as refused:
        read_document(ppmd, DOCX, "old.docx", 5000)
    assert refused.value.problem == DocumentProblem.UNREADABLE
    assert "NotImplementedError" in refused.value.detail
