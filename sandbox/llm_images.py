"""The LLM stand-in's `/v1/images/generations`: the body checked against OpenAI's shape (what
the official client's `images.generate` sends; 400 `invalid_request_error` otherwise) and
answered with a small real PNG whose one colour comes from the prompt, so a test can tell
two pictures apart. A scripted 400 is the content policy's refusal, as OpenAI words it; a
scripted 200 an answer without a picture (a provider that made none)."""

from __future__ import annotations

import base64
import hashlib
import struct
import time
import zlib
from typing import Any

from aiohttp import web

from sandbox.llm_media import MediaRequestError, error_response, required_text

IMAGE_SIZES = (
    "256x256",
    "512x512",
    "1024x1024",
    "1024x1536",
    "1536x1024",
    "1024x1792",
    "1792x1024",
)
IMAGE_FIELDS = {
    "prompt", "model", "n", "size", "response_format", "quality", "style", "user", "background",
    "moderation", "output_format", "output_compression",
}  # fmt: skip
MAX_PROMPT = 4000
#: The side of the PNG served, whatever size was asked: tests need a picture, not megabytes.
SIDE = 16
CONTENT_POLICY = (
    "Your request was rejected as a result of our safety system. Your prompt may contain text "
    "that is not allowed by our safety system."
)


def check_image_request(body: Any) -> dict[str, Any]:
    """The body, or `MediaRequestError` as OpenAI words it."""
    if not isinstance(body, dict):
        raise MediaRequestError("The request body must be a JSON object.")
    unknown = sorted(set(body) - IMAGE_FIELDS)
    if unknown:
        raise MediaRequestError(f"Unknown parameter: '{unknown[0]}'.", unknown[0])
    required_text(body, "prompt", MAX_PROMPT)
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        raise MediaRequestError(f"Invalid value for 'n': {n!r}", "n")
    if body.get("size", "1024x1024") not in IMAGE_SIZES:
        raise MediaRequestError(f"Invalid value for 'size': {body.get('size')!r}", "size")
    if body.get("response_format", "url") not in ("url", "b64_json"):
        raise MediaRequestError(
            f"Invalid value for 'response_format': {body.get('response_format')!r}",
            "response_format",
        )
    return body


def png(prompt: str) -> bytes:
    """A SIDE x SIDE PNG of one colour taken from the prompt's digest."""
    red, green, blue = hashlib.sha256(prompt.encode()).digest()[:3]
    row = b"\x00" + bytes((red, green, blue)) * SIDE
    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * SIDE))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def generated(body: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The answer: `n` pictures, as base64 or as links to this server."""
    picture = png(body["prompt"])
    item: dict[str, Any] = {"revised_prompt": body["prompt"]}
    if body.get("response_format", "url") == "b64_json":
        item["b64_json"] = base64.b64encode(picture).decode()
    else:
        item["url"] = f"{base_url}/images/{hashlib.sha256(picture).hexdigest()}.png"
    return {"created": int(time.time()), "data": [dict(item) for _ in range(body.get("n", 1))]}


def empty() -> web.Response:
    return web.json_response({"created": int(time.time()), "data": []})


def refusal() -> web.Response:
    body = {
        "error": {
            "message": CONTENT_POLICY,
            "type": "image_generation_user_error",
            "param": None,
            "code": "content_policy_violation",
        }
    }
    return web.json_response(body, status=400)


def invalid(exc: MediaRequestError) -> web.Response:
    return error_response(400, str(exc), exc.param)
