"""The LLM stand-in's media (`sandbox/llm_media.py`) through the real `openai` SDK and raw
HTTP: transcription from the audio's metadata, speech carrying its text, and image content
parts checked against OpenAI's shapes."""

from __future__ import annotations

import base64
import io
import random
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from sandbox.llm_media import transcript_of
from sandbox.llm_server import LlmStandIn
from tests.media_files import picture, speech_wav


def client(llm: LlmStandIn) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=llm.base_url, max_retries=0)


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


async def test_a_wav_is_transcribed_from_its_comment(llm: LlmStandIn) -> None:
    async with client(llm) as sdk:
        result = await sdk.audio.transcriptions.create(
            model="whisper-1", file=("note.wav", speech_wav("buy milk and bread"))
        )
    assert result.text == "buy milk and bread"
    (request,) = llm.media.requests
    assert request.model == "whisper-1" and request.fields["file_name"] == "note.wav"


async def test_speech_is_ogg_opus_carrying_its_text_and_transcribes_back(llm: LlmStandIn) -> None:
    async with client(llm) as sdk:
        spoken = await sdk.audio.speech.create(
            model="tts-1", input="Привет, мир", voice="alloy", response_format="opus"
        )
        audio = spoken.content
        heard = await sdk.audio.transcriptions.create(model="whisper-1", file=("a.ogg", audio))
    assert audio.startswith(b"OggS") and b"OpusHead" in audio
    assert transcript_of(audio) == "Привет, мир"
    assert heard.text == "Привет, мир"


@pytest.mark.parametrize(
    ("files", "data", "message"),
    [
        ({"file": ("note.txt", b"words")}, {"model": "whisper-1"}, "Invalid file format"),
        ({"file": ("note.wav", b"RIFF....WAVE")}, {"model": "whisper-1"}, "corrupted"),
        ({"file": ("note.wav", speech_wav("x"))}, {}, "model"),
        (None, {"model": "whisper-1"}, "multipart/form-data"),
        ({"audio": ("note.wav", speech_wav("x"))}, {"model": "whisper-1"}, "'file'"),
    ],
)
async def test_transcription_refuses_wrong_shapes_with_openai_400(
    llm: LlmStandIn, files: dict[str, tuple[str, bytes]] | None, data: dict[str, str], message: str
) -> None:
    async with httpx.AsyncClient() as http:
        if files is None:
            response = await http.post(f"{llm.base_url}/audio/transcriptions", json=data)
        else:
            response = await http.post(
                f"{llm.base_url}/audio/transcriptions", files=files, data=data
            )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and message in error["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"model": "tts-1", "voice": "alloy"},
        {"model": "tts-1", "input": "hi", "voice": "robot"},
        {"model": "tts-1", "input": "x" * 4097, "voice": "alloy"},
        {"input": "hi", "voice": "alloy"},
        {"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": "midi"},
    ],
)
async def test_speech_refuses_wrong_shapes_with_openai_400(
    llm: LlmStandIn, body: dict[str, object]
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{llm.base_url}/audio/speech", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


async def test_a_picture_is_answered_with_its_size_and_colour(llm: LlmStandIn) -> None:
    parts = [
        {"type": "text", "text": "what is this?"},
        {
            "type": "image_url",
            "image_url": {"url": data_url(picture(64, 32, (200, 0, 0)), "image/png")},
        },
        {
            "type": "image_url",
            "image_url": {
                "url": data_url(picture(20, 10, (0, 0, 255), "JPEG"), "image/jpeg"),
                "detail": "low",
            },
        },
    ]
    async with client(llm) as sdk:
        completion = await sdk.chat.completions.create(model="m", messages=user_says(parts))
    text = completion.choices[0].message.content or ""
    assert "2 pictures" in text and "64x32 PNG" in text and "rgb(200, 0, 0)" in text
    assert "20x10 JPEG" in text and "what is this?" in text


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}
                ],
            },
            "base64",
        ),
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}}
                ],
            },
            "unsupported image",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": "https://x/y.png"}]},
            "image_url.url",
        ),
        (
            {"role": "user", "content": [{"type": "image", "data": "x"}]},
            "Supported values",
        ),
        (
            {
                "role": "system",
                "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}],
            },
            "only allowed for messages with role 'user'",
        ),
        (
            {"role": "user", "content": [{"type": "text"}]},
            "expected a string",
        ),
    ],
)
async def test_image_parts_of_the_wrong_shape_are_400(
    llm: LlmStandIn, message: dict[str, object], error: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{llm.base_url}/chat/completions", json={"model": "m", "messages": [message]}
        )
    assert response.status_code == 400
    assert error in response.json()["error"]["message"]


async def test_a_picture_for_a_model_that_cannot_see_is_400(llm: LlmStandIn) -> None:
    llm.media.blind_models.add("text-only")
    part = {
        "type": "image_url",
        "image_url": {"url": data_url(picture(4, 4, (0, 0, 0)), "image/png")},
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{llm.base_url}/chat/completions",
            json={"model": "text-only", "messages": [{"role": "user", "content": [part]}]},
        )
    assert response.status_code == 400
    assert "only supported by certain models" in response.json()["error"]["message"]


async def test_a_picture_costs_a_flat_85_prompt_tokens_not_its_data_url(llm: LlmStandIn) -> None:
    noise = Image.frombytes("RGB", (300, 300), random.Random(7).randbytes(300 * 300 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    part = {"type": "image_url", "image_url": {"url": data_url(buffer.getvalue(), "image/png")}}
    async with client(llm) as sdk:
        completion = await sdk.chat.completions.create(model="m", messages=user_says([part]))
    assert completion.usage is not None and completion.usage.prompt_tokens == 86


async def test_a_streamed_answer_sees_the_picture_too(llm: LlmStandIn) -> None:
    part = {
        "type": "image_url",
        "image_url": {"url": data_url(picture(6, 4, (0, 9, 0)), "image/png")},
    }
    async with client(llm) as sdk:
        stream = await sdk.chat.completions.create(
            model="m", messages=user_says([part]), stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text.startswith("I see a picture: a 6x4 PNG picture")


def user_says(content: Any) -> Any:
    """A user message, as the SDK's typed params take it (JSON here)."""
    return [{"role": "user", "content": content}]


# -- pictures made (`sandbox/llm_images.py`) -----------------------------------------------


async def test_images_generate_answers_a_real_png_as_the_openai_client_asks(
    llm: LlmStandIn,
) -> None:
    async with client(llm) as sdk:
        made = await sdk.images.generate(
            model="dall-e-3",
            prompt="a cat in a spacesuit",
            size="1024x1024",
            n=1,
            response_format="b64_json",
        )
        other = await sdk.images.generate(
            model="dall-e-3", prompt="a dog", response_format="b64_json"
        )
    assert made.data and other.data
    drawn = base64.b64decode(made.data[0].b64_json or "")
    with Image.open(io.BytesIO(drawn)) as image:
        assert image.format == "PNG" and image.size == (16, 16)
    assert other.data[0].b64_json != made.data[0].b64_json  # the colour follows the prompt
    (request, _) = llm.media.requests
    assert request.endpoint == "images" and request.model == "dall-e-3"
    assert request.fields == {
        "model": "dall-e-3",
        "prompt": "a cat in a spacesuit",
        "size": "1024x1024",
        "n": 1,
        "response_format": "b64_json",
    }


async def test_a_picture_asked_as_a_link_is_a_link(llm: LlmStandIn) -> None:
    async with client(llm) as sdk:
        made = await sdk.images.generate(model="dall-e-3", prompt="a tree")
    assert made.data and (made.data[0].url or "").endswith(".png") and not made.data[0].b64_json


async def test_a_scripted_400_is_the_content_policy_refusal(llm: LlmStandIn) -> None:
    llm.media.fail(400)
    async with client(llm) as sdk:
        with pytest.raises(openai.BadRequestError) as refused:
            await sdk.images.generate(model="dall-e-3", prompt="x", response_format="b64_json")
    assert refused.value.code == "content_policy_violation"
    assert [r.status for r in llm.media.requests] == [400]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "dall-e-3"}, "'prompt'"),
        ({"model": "dall-e-3", "prompt": ""}, "'prompt'"),
        ({"prompt": "x" * 4001}, "too long"),
        ({"prompt": "a cat", "size": "999x999"}, "'size'"),
        ({"prompt": "a cat", "n": 0}, "'n'"),
        ({"prompt": "a cat", "n": True}, "'n'"),
        ({"prompt": "a cat", "response_format": "png"}, "'response_format'"),
        ({"prompt": "a cat", "colour": "red"}, "Unknown parameter: 'colour'"),
        (["a cat"], "JSON object"),
    ],
)
async def test_images_of_the_wrong_shape_are_400(llm: LlmStandIn, body: Any, message: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{llm.base_url}/images/generations", json=body)
        broken = await http.post(f"{llm.base_url}/images/generations", content=b"{")
    assert response.status_code == 400 and message in response.json()["error"]["message"]
    assert broken.status_code == 400
