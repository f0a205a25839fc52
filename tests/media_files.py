"""Media the tests send, generated here rather than downloaded: speech as WAV (Python's `wave`,
with the words in a RIFF LIST/INFO comment the LLM stand-in transcribes from), pictures
(Pillow), PDFs (fpdf2) and DOCX (python-docx)."""

from __future__ import annotations

import io
import struct
import wave

import docx
from fpdf import FPDF
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
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
