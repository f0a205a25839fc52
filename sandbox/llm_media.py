"""The LLM stand-in's media: `/v1/audio/transcriptions`, `/v1/audio/speech`,
`/v1/images/generations` (`llm_images.py`), and image content parts in chat completions,
checked against OpenAI's shapes (400 `invalid_request_error` otherwise)
and answered deterministically.

Transcription reads the words from the audio's own metadata, so a test knows what will be
"heard": a WAV's RIFF LIST/INFO comment (`ICMT`, written by `tests/media_files.py`) or an Ogg
Opus file's `OpusTags` comment. Speech comes back as Ogg Opus (or WAV) carrying the input
text the same way, so a test can read what was said and transcribe it again. A picture is
answered with what a model would see first: its format, pixel size and main colour.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import threading
import time
import wave
import zlib
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from aiohttp import web

#: The extensions OpenAI's transcription endpoint accepts (it reads the file name).
AUDIO_FORMATS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
SPEECH_FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
#: What the stand-in can produce; the other formats are refused rather than faked.
SERVED_SPEECH_FORMATS = ("opus", "wav", "pcm")
SPEECH_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
MAX_SPEECH_INPUT = 4096
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
#: The Vorbis-comment field that carries the words in Ogg Opus audio.
TEXT_TAG = "SANDBOX_TEXT="
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


class MediaRequestError(ValueError):
    """A request OpenAI would answer with 400 `invalid_request_error`."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class AudioRequest:
    """One audio request as received: the endpoint, the model and what it carried."""

    endpoint: str
    model: str | None
    fields: dict[str, Any]
    received_at: float = field(default_factory=time.time)
    status: int = 200


@dataclass
class ScriptedEndpoints:
    """Endpoints' recorded requests and the status codes their next requests fail with."""

    #: False: keep no request log (the demo's long runs).
    record: bool = True
    requests: list[Any] = field(default_factory=list)
    #: Status codes the next requests fail with, in order.
    failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self.failures.extend([status] * times)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.failures.clear()

    def _scripted_failure(self) -> int | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None


@dataclass
class MediaEndpoints(ScriptedEndpoints):
    """The audio and image endpoints' state: recorded `AudioRequest`s and scripted failures
    (a 400 on the image endpoint is the content policy's refusal)."""

    #: Models that cannot see: a chat request with a picture for one is a 400, as OpenAI's
    #: text-only models answer.
    blind_models: set[str] = field(default_factory=set)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.blind_models.clear()

    def check_sees(self, model: str, messages: list[dict[str, Any]]) -> None:
        if model not in self.blind_models:
            return
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list) and any(
                isinstance(p, dict) and p.get("type") == "image_url" for p in content
            ):
                raise MediaRequestError(
                    "Invalid content type. image_url is only supported by certain models.",
                    "messages",
                )

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_post("/v1/images/generations", self._images)

    def _record(self, endpoint: str, model: str | None, fields: dict[str, Any]) -> AudioRequest:
        record = AudioRequest(endpoint, model, fields)
        if self.record:
            with self._lock:
                self.requests.append(record)
        return record

    async def _transcriptions(self, request: web.Request) -> web.Response:
        try:
            form = await _multipart(request)
        except MediaRequestError as exc:
            return error_response(400, str(exc), exc.param)
        file = form.get("file")
        fields = {k: v for k, v in form.items() if k != "file"}
        if isinstance(file, tuple):
            fields["file_name"], fields["size"] = file[0], len(file[1])
        record = self._record("transcriptions", _text_field(form, "model"), fields)
        status = self._scripted_failure()
        if status is not None:
            record.status = status
            return error_response(status, "scripted failure")
        try:
            text, response_format = transcribe(form)
        except MediaRequestError as exc:
            record.status = 400
            return error_response(400, str(exc), exc.param)
        if response_format == "text":
            return web.Response(text=text + "\n", content_type="text/plain")
        return web.json_response({"text": text})

    async def _speech(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return error_response(400, "The request body must be a JSON object.")
        model = body.get("model") if isinstance(body.get("model"), str) else None
        record = self._record("speech", model, dict(body))
        status = self._scripted_failure()
        if status is not None:
            record.status = status
            return error_response(status, "scripted failure")
        try:
            audio, content_type = speech(body)
        except MediaRequestError as exc:
            record.status = 400
            return error_response(400, str(exc), exc.param)
        return web.Response(body=audio, content_type=content_type)

    async def _images(self, request: web.Request) -> web.Response:
        from sandbox import llm_images  # that module imports this one

        try:
            raw = await request.json()
        except ValueError:
            return error_response(400, "We could not parse the JSON body of your request.")
        fields = dict(raw) if isinstance(raw, dict) else {"body": raw}
        record = self._record("images", fields.get("model"), fields)
        status = self._scripted_failure()
        if status is not None:
            record.status = status
            if status == 200:
                return llm_images.empty()
            return llm_images.refusal() if status == 400 else error_response(status, "scripted")
        try:
            body = llm_images.check_image_request(raw)
        except MediaRequestError as exc:
            record.status = 400
            return llm_images.invalid(exc)
        base = f"{request.scheme}://{request.host}"
        return web.json_response(llm_images.generated(body, base))


def error_response(status: int, message: str, param: str | None = None) -> web.Response:
    kind = "invalid_request_error" if status in (400, 404) else "server_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return web.json_response(body, status=status)


async def _multipart(request: web.Request) -> dict[str, str | tuple[str, bytes]]:
    """The form's fields, the whole body read first: aiohttp's part reader called its own
    deprecated `unread_data` when a part's bytes arrived in small pieces (a loaded machine),
    and the warning, an error under the suite's filters, failed the request unrecorded."""
    if not request.content_type.startswith("multipart/form-data"):
        raise MediaRequestError(
            "Invalid Content-Type header (expected multipart/form-data)", "Content-Type"
        )
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    parsed = BytesParser(policy=HTTP).parsebytes(head + await request.read())
    if not parsed.is_multipart() or parsed.defects:
        raise MediaRequestError("Could not parse multipart form: no parts")
    form: dict[str, str | tuple[str, bytes]] = {}
    try:
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                continue
            data = part.get_payload(decode=True)
            data = data if isinstance(data, bytes) else b""
            filename = part.get_filename()
            form[name] = (filename, data) if filename else data.decode()
    except UnicodeDecodeError as exc:
        raise MediaRequestError(f"Could not parse multipart form: {exc}") from exc
    return form


def _text_field(form: dict[str, str | tuple[str, bytes]], name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value else None


# -- transcription --------------------------------------------------------------------------


def transcribe(form: dict[str, str | tuple[str, bytes]]) -> tuple[str, str]:
    """The transcript and the response format, or `MediaRequestError` as OpenAI words it."""
    if _text_field(form, "model") is None:
        raise MediaRequestError("you must provide a model parameter", "model")
    file = form.get("file")
    if not isinstance(file, tuple):
        raise MediaRequestError("Missing required parameter: 'file'.", "file")
    name, data = file
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in AUDIO_FORMATS:
        raise MediaRequestError(
            f"Invalid file format. Supported formats: {list(AUDIO_FORMATS)}", "file"
        )
    response_format = _text_field(form, "response_format") or "json"
    if response_format not in ("json", "text", "verbose_json"):
        raise MediaRequestError(f"Invalid value for 'response_format': {response_format}")
    text = transcript_of(data)
    if text is None:
        raise MediaRequestError(
            "Audio file might be corrupted or unsupported", "file"
        )  # OpenAI's words for audio it cannot decode
    return text, response_format


def transcript_of(audio: bytes) -> str | None:
    """The words carried in the audio's metadata (WAV INFO comment or Ogg Opus tags)."""
    if audio[:4] == b"RIFF" and audio[8:12] == b"WAVE":
        return _wav_comment(audio)
    if audio[:4] == b"OggS":
        return _opus_comment(audio)
    return None


def _wav_comment(audio: bytes) -> str | None:
    offset = 12
    while offset + 8 <= len(audio):
        kind, size = (
            audio[offset : offset + 4],
            struct.unpack("<I", audio[offset + 4 : offset + 8])[0],
        )
        body = audio[offset + 8 : offset + 8 + size]
        if kind == b"LIST" and body[:4] == b"INFO":
            found = _info_field(body[4:], b"ICMT")
            if found is not None:
                return found
        offset += 8 + size + (size % 2)
    return None


def _info_field(info: bytes, wanted: bytes) -> str | None:
    offset = 0
    while offset + 8 <= len(info):
        kind, size = (
            info[offset : offset + 4],
            struct.unpack("<I", info[offset + 4 : offset + 8])[0],
        )
        if kind == wanted:
            return info[offset + 8 : offset + 8 + size].rstrip(b"\x00").decode("utf-8", "replace")
        offset += 8 + size + (size % 2)
    return None


def _opus_comment(audio: bytes) -> str | None:
    start = audio.find(b"OpusTags")
    if start < 0:
        return None
    try:
        offset = start + 8
        (vendor,) = struct.unpack_from("<I", audio, offset)
        offset += 4 + vendor
        (count,) = struct.unpack_from("<I", audio, offset)
        offset += 4
        for _ in range(count):
            (size,) = struct.unpack_from("<I", audio, offset)
            comment = audio[offset + 4 : offset + 4 + size].decode("utf-8", "replace")
            offset += 4 + size
            if comment.startswith(TEXT_TAG):
                return comment[len(TEXT_TAG) :]
    except struct.error:
        return None
    return None


# -- speech ---------------------------------------------------------------------------------


def required_text(body: dict[str, Any], name: str, limit: int) -> str:
    """A required string field within its length limit, or the 400 as OpenAI words it."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise MediaRequestError(f"Missing required parameter: '{name}'.", name)
    if len(value) > limit:
        raise MediaRequestError(
            f"Invalid '{name}': string too long. Expected a string with maximum length "
            f"{limit}, but got a string with length {len(value)} instead.",
            name,
        )
    return value


def speech(body: dict[str, Any]) -> tuple[bytes, str]:
    """The audio for a `/audio/speech` body and its content type."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise MediaRequestError("you must provide a model parameter", "model")
    text = required_text(body, "input", MAX_SPEECH_INPUT)
    if body.get("voice") not in SPEECH_VOICES:
        raise MediaRequestError(f"Invalid value for 'voice': {body.get('voice')!r}", "voice")
    fmt = body.get("response_format", "mp3")
    if fmt not in SPEECH_FORMATS:
        raise MediaRequestError(f"Invalid value for 'response_format': {fmt!r}", "response_format")
    if fmt not in SERVED_SPEECH_FORMATS:
        raise MediaRequestError(
            f"the sandbox serves speech as {', '.join(SERVED_SPEECH_FORMATS)}, not {fmt}",
            "response_format",
        )
    if fmt == "opus":
        return ogg_opus(text), "audio/ogg"
    wav = speech_wav(text)
    return (wav, "audio/wav") if fmt == "wav" else (_wav_frames(wav), "audio/pcm")


def speech_wav(text: str) -> bytes:
    """A short silent 24 kHz WAV whose INFO comment is `text`."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24_000)
        out.writeframes(b"\x00\x00" * 2400)
    raw = text.encode() + b"\x00"
    raw += b"\x00" * (len(raw) % 2)
    info = b"INFOICMT" + struct.pack("<I", len(raw)) + raw
    body = buffer.getvalue()[8:] + b"LIST" + struct.pack("<I", len(info)) + info
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _wav_frames(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.readframes(reader.getnframes())


def ogg_opus(text: str) -> bytes:
    """A valid Ogg Opus stream: the ID header, tags carrying `text`, and 20 ms of silence."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48_000, 0, 0)
    vendor = b"sandbox"
    comment = (TEXT_TAG + text).encode()
    tags = (
        b"OpusTags"
        + struct.pack("<I", len(vendor))
        + vendor
        + struct.pack("<I", 1)
        + struct.pack("<I", len(comment))
        + comment
    )
    silence = b"\xf8\xff\xfe"  # one 20 ms CELT frame of silence
    serial = zlib.crc32(text.encode())
    return (
        _ogg_page(head, serial, 0, 0, first=True)
        + _ogg_page(tags, serial, 1, 0)
        + _ogg_page(silence, serial, 2, 960 + 312, last=True)
    )


def _ogg_page(
    packet: bytes,
    serial: int,
    sequence: int,
    granule: int,
    *,
    first: bool = False,
    last: bool = False,
) -> bytes:
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    flags = (2 if first else 0) | (4 if last else 0)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = header + bytes(lacing) + packet
    checksum = _ogg_crc(page)
    return page[:22] + struct.pack("<I", checksum) + page[26:]


def _ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


# -- pictures in chat completions -------------------------------------------------------------


@dataclass(frozen=True)
class SeenImage:
    mime: str
    width: int
    height: int
    #: The most common colour as (r, g, b), when Pillow is installed to decode pixels.
    colour: tuple[int, int, int] | None

    def describe(self) -> str:
        kind = self.mime.split("/")[1].upper()
        colour = f", mostly rgb{self.colour}" if self.colour else ""
        return f"a {self.width}x{self.height} {kind} picture{colour}"


def check_content_parts(index: int, role: str, parts: list[Any]) -> None:
    """OpenAI's rules for a message whose content is a list of parts."""
    where = f"messages[{index}].content"
    for number, part in enumerate(parts):
        here = f"{where}[{number}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise MediaRequestError(f"Invalid type for '{here}.text': expected a string", here)
        elif kind == "image_url":
            if role != "user":
                raise MediaRequestError(
                    "Image URLs are only allowed for messages with role 'user', but this "
                    f"message with role '{role}' contains an image URL.",
                    here,
                )
            _check_image_url(here, part.get("image_url"))
        else:
            raise MediaRequestError(
                f"Invalid value: '{kind}'. Supported values are: 'text', 'image_url', "
                "'input_audio', 'refusal', 'audio', and 'file'.",
                f"{here}.type",
            )


def _check_image_url(here: str, image_url: Any) -> None:
    if not isinstance(image_url, dict) or not isinstance(image_url.get("url"), str):
        raise MediaRequestError(f"Missing required parameter: '{here}.image_url.url'.", here)
    if image_url.get("detail", "auto") not in ("auto", "low", "high"):
        raise MediaRequestError(f"Invalid value for '{here}.image_url.detail'.", here)
    url = image_url["url"]
    if url.startswith(("http://", "https://")):
        return
    seen_image(url, here)


def seen_image(url: str, here: str = "image_url") -> SeenImage:
    """What a data URL holds, or the error OpenAI gives for an image it cannot read."""
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise MediaRequestError(
            "Invalid 'image_url'. Expected a base64-encoded data URL with an image MIME type "
            "(e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got an invalid value.",
            here,
        )
    mime = match["mime"].lower()
    if mime not in IMAGE_TYPES:
        raise MediaRequestError("Invalid MIME type. Only image types are supported.", here)
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaRequestError("Invalid base64 image_url.", here) from exc
    size = _pixel_size(data)
    if size is None or _format_of(data) != mime:
        raise MediaRequestError(
            "You uploaded an unsupported image. Please make sure your image is valid.", here
        )
    return SeenImage(mime, size[0], size[1], _main_colour(data))


def _format_of(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _pixel_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header (PNG, JPEG, GIF), without decoding pixels."""
    fmt = _format_of(data)
    if fmt == "image/png" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return (width, height) if width and height else None
    if fmt == "image/gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return (width, height) if width and height else None
    if fmt == "image/jpeg":
        return _jpeg_size(data)
    if fmt == "image/webp":
        return _pillow_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 9 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return (width, height) if width and height else None
        offset += 2 + length
    return None


def _pillow_size(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # any decoding failure means "not an image we can read"
        return None


def _main_colour(data: bytes) -> tuple[int, int, int] | None:
    """The most common colour, decoded with Pillow where it is installed (tests, dev)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            colours = image.convert("RGB").resize((16, 16)).getcolors(256) or []
    except Exception:  # a header that parsed over pixels that do not: no colour to report
        return None
    if not colours:
        return None
    r, g, b = max(colours, key=lambda counted: counted[0])[1]
    return (r, g, b)


def images_in(message: dict[str, Any]) -> list[SeenImage]:
    """The pictures in a (validated) user message."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    urls = [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]
    return [seen_image(u) for u in urls if u.startswith("data:")]


def text_of(content: Any) -> str:
    """A message's text: the string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


#: What OpenAI counts for one picture at low detail; a data URL's length is not its cost.
IMAGE_TOKENS = 85


def prompt_tokens_of(message: dict[str, Any]) -> int:
    """A message's prompt tokens, roughly: four characters of text each, pictures a flat cost."""
    content = message.get("content")
    if not isinstance(content, list):
        return len(str(content or "")) // 4
    pictures = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return len(text_of(content)) // 4 + IMAGE_TOKENS * pictures


def picture_reply(images: list[SeenImage], text: str) -> str:
    """The default answer to pictures: proof of what was seen, and the question."""
    seen = "; ".join(image.describe() for image in images)
    count = "a picture" if len(images) == 1 else f"{len(images)} pictures"
    asked = f" You asked: {text}" if text else ""
    return f"I see {count}: {seen}.{asked}"
