"""Media the tests send, generated here rather than downloaded: speech as WAV (Python's `wave`,
with the words in a RIFF LIST/INFO comment the LLM stand-in transcribes from), pictures
(Pillow), PDFs (fpdf2) and DOCX (python-docx); and hostile files, small on disk and huge when
opened (zip and PDF bombs, pixel floods)."""

from __future__ import annotations

import io
import os
import struct
import wave
import zipfile
import zlib

from PIL import Image

#: The sample rate of generated speech: Telegram's voice notes are 48 kHz mono.
RATE = 16_000


def speech_wav(transcript: str, seconds: float = 1.0) -> bytes:
    """A mono 16-bit WAV of a quiet tone whose INFO comment (ICMT) is `transcript`."""
    frames = int(RATE * seconds)
    samples = bytes(
        b for i in range(frames) for b in struct.pack("<h", 800 if (i // 40) % 2 else -800)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples)
    return with_comment(buffer.getvalue(), transcript)


def with_comment(wav: bytes, comment: str) -> bytes:
    """`wav` with a LIST/INFO chunk holding `comment` (ICMT), its RIFF size fixed."""
    text = comment.encode() + b"\x00"
    if len(text) % 2:
        text += b"\x00"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = wav[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def picture(width: int, height: int, colour: tuple[int, int, int], fmt: str = "PNG") -> bytes:
    """A picture of one colour (JPEG is what Telegram makes of photos)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format=fmt)
    return buffer.getvalue()


def pdf(*paragraphs: str, password: str | None = None) -> bytes:
    from fpdf import FPDF  # imported by the tests that make one, not by every collection

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    for paragraph in paragraphs:
        document.multi_cell(0, 8, paragraph)
        document.ln()
    if password is not None:
        document.set_encryption(owner_password=password, user_password=password)
    return bytes(document.output())


def docx_file(*paragraphs: str) -> bytes:
    import docx  # imported by the tests that make one, not by every collection

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- hostile files: small on disk, huge when opened ------------------------------------------

_DOCX_XML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w='
    b'"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
_DOCX_XML_TAIL = b"</w:body></w:document>"


def docx_with_body(paragraph: bytes, repeats: int) -> bytes:
    """A real DOCX (python-docx's parts) whose `word/document.xml` holds `paragraph` (an XML
    fragment) `repeats` times, written as a stream: 200 MB of XML never sit in memory."""
    source = zipfile.ZipFile(io.BytesIO(docx_file("x")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            if entry.filename != "word/document.xml":
                archive.writestr(entry.filename, source.read(entry.filename))
        with archive.open("word/document.xml", "w", force_zip64=True) as xml:
            xml.write(_DOCX_XML_HEAD)
            per_block = max(1, 1024 * 1024 // len(paragraph))
            for _ in range(repeats // per_block):
                xml.write(paragraph * per_block)
            xml.write(paragraph * (repeats % per_block))
            xml.write(_DOCX_XML_TAIL)
    return out.getvalue()


def docx_bomb(megabytes: int = 200) -> bytes:
    """A DOCX of some hundred KB whose `document.xml` inflates to `megabytes` MB."""
    paragraph = b"<w:p><w:r><w:t>" + b"A" * 1000 + b"</w:t></w:r></w:p>"
    return docx_with_body(paragraph, megabytes * 1024 * 1024 // len(paragraph))


def nested_zip(depth: int = 4, width: int = 8, megabytes: int = 16) -> bytes:
    """A zip of zips of zips (named as a DOCX), each leaf `megabytes` MB of zeros."""
    leaf = io.BytesIO()
    with (
        zipfile.ZipFile(leaf, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as entry,
    ):
        for _ in range(megabytes):
            entry.write(b"\0" * (1024 * 1024))
    data = leaf.getvalue()
    for level in range(depth):
        outer = io.BytesIO()
        with zipfile.ZipFile(outer, "w", zipfile.ZIP_DEFLATED) as archive:
            for i in range(width):
                archive.writestr(f"level{level}/{i}.zip", data)
        data = outer.getvalue()
    return data


def pdf_bomb(pages: int = 3, megabytes_per_page: int = 100) -> bytes:
    """A PDF whose pages' content streams (FlateDecode) each inflate to that many MB of
    text-drawing operators."""
    line = b"BT /F1 12 Tf 72 712 Td (" + b"A" * 200 + b") Tj ET\n"
    stream = zlib.compressobj(9)
    packed = (
        b"".join(
            stream.compress(line * 4096)
            for _ in range(megabytes_per_page * 1024 * 1024 // (len(line) * 4096))
        )
        + stream.flush()
    )
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0"
            + f" R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(
            f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode()
            + packed
            + b"\nendstream"
        )
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return body


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares `width`×`height` (RGB) over a few rows of real data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * min(width, 4096)) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is changed to declare `width`×`height`."""
    data = bytearray(picture(16, 16, (200, 10, 10), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def noise_png(megabytes: float) -> bytes:
    """A PNG of random pixels (it does not compress) of about `megabytes` MB."""
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5)
    return picture_of(Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)), "PNG")


def picture_of(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, compress_level=1)  # JPEG ignores it
    return buffer.getvalue()
