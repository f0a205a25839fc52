"""What WhatsApp's webhooks carry, read without trusting them: only a body signed with the app
secret passes; real-shaped Cloud API payloads give exactly their messages and statuses; any
JSON at all is read without an exception; and every well-formed message a payload is built
with comes out as it went in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.src.adapters.whatsapp.webhook import (
    MEDIA_TYPES,
    Media,
    WaMessage,
    WaStatus,
    parse,
    signature,
    signature_valid,
)
from tests.tiers import examples

CORPUS = json.loads((Path(__file__).parent / "data" / "webhooks.json").read_text("utf-8"))
SECRET = b"app-secret"


def test_a_body_signed_with_the_app_secret_passes() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    assert signature_valid(SECRET, body, signature(SECRET, body))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "SHA256=deadbeef"],
    ids=["none", "empty", "bare", "sha1", "zeros", "upper"],
)
def test_a_missing_or_wrong_signature_is_refused(header: str | None) -> None:
    assert not signature_valid(SECRET, b"{}", header)


@settings(max_examples=examples(100), deadline=None)
@given(body=st.binary(max_size=200), other=st.binary(min_size=1, max_size=40))
def test_a_signature_holds_for_its_body_and_secret_only(body: bytes, other: bytes) -> None:
    header = signature(SECRET, body)
    assert signature_valid(SECRET, body, header)
    assert not signature_valid(SECRET, body + other, header)
    assert not signature_valid(other + SECRET, body, header)  # (HMAC pads a key with zeros)
    assert not signature_valid(b"", body, header)


def _message_fields(message: WaMessage) -> dict[str, Any]:
    found: dict[str, Any] = {
        "account": message.account, "wamid": message.wamid, "sender": message.sender,
        "type": message.type, "name": message.name,
    }  # fmt: skip
    for key in ("text", "button_id", "button_title", "reply_to"):
        if getattr(message, key):
            found[key] = getattr(message, key)
    if message.media is not None:
        media = {k: v for k, v in message.media.__dict__.items() if v not in (None, False)}
        found["media"] = media
    return found


def _status_fields(status: WaStatus) -> dict[str, Any]:
    return {
        "account": status.account, "wamid": status.wamid, "status": status.status,
        "recipient": status.recipient, "errors": list(status.errors),
    }  # fmt: skip


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_real_payloads_give_their_messages_and_statuses(case: dict[str, Any]) -> None:
    parsed = parse(case["payload"])
    assert [_message_fields(m) for m in parsed.messages] == case["messages"]
    assert [_status_fields(s) for s in parsed.statuses] == case["statuses"]
    if case["messages"]:
        assert all(m.sent_at is not None for m in parsed.messages)
    if "skipped" in case:
        assert parsed.skipped == case["skipped"]


def _one_text(**fields: Any) -> dict[str, Any]:
    raw = {"from": "4915112345678", "id": "wamid.T", "timestamp": "1750096325", "type": "text",
           "text": {"body": "hi"}, **fields}  # fmt: skip
    value = {"metadata": {"phone_number_id": "106540352242922"}, "messages": [raw]}
    return {"object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": value}]}]}  # fmt: skip


@pytest.mark.parametrize(
    "timestamp",
    ["soon", None, 10**20, "", [1750096325]],
    ids=["word", "none", "far", "empty", "list"],
)
def test_a_message_whose_time_is_not_a_unix_time_is_kept_without_one(timestamp: Any) -> None:
    [message] = parse(_one_text(timestamp=timestamp)).messages
    assert message.text == "hi" and message.sent_at is None


@settings(max_examples=examples(100), deadline=None)
@given(sender=st.integers(min_value=1, max_value=10**15), wamid=st.integers(min_value=1))
def test_ids_sent_as_json_numbers_are_read_as_their_digits(sender: int, wamid: int) -> None:
    [message] = parse(_one_text(**{"from": sender, "id": wamid})).messages
    assert (message.sender, message.wamid) == (str(sender), str(wamid))


@pytest.mark.parametrize("bad", [True, False, "", "  ", "a\nb", 1.5], ids=repr)
def test_a_message_without_a_usable_sender_is_skipped(bad: Any) -> None:
    parsed = parse(_one_text(**{"from": bad}))
    assert parsed.messages == [] and parsed.skipped == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    ["object", "entry", "changes", "value", "field", "metadata", "phone_number_id", "messages",
     "statuses", "contacts", "wa_id", "profile", "name", "from", "id", "type", "text", "body",
     "interactive", "button_reply", "title", "audio", "voice", "document", "timestamp", "errors"]
)  # fmt: skip
SHAPED = st.recursive(
    st.none() | st.integers() | st.text(max_size=6) | st.just("whatsapp_business_account")
    | st.just("messages") | st.sampled_from(["text", "audio", "interactive", "document"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)  # fmt: skip


@settings(max_examples=examples(300), deadline=None)
@given(payload=JSON | SHAPED)
def test_any_json_is_read_without_an_exception(payload: Any) -> None:
    parsed = parse(payload)
    for message in parsed.messages:
        assert message.wamid and message.sender and message.account
        assert len(message.sender) <= 64
        json.dumps(message.text).encode()  # UTF-8 can carry what was read


IDS = st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=30)
DIGITS = st.text("0123456789", min_size=6, max_size=15)


@st.composite
def messages(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A raw message as WhatsApp sends it, and what should be read from it."""
    kind = draw(st.sampled_from(["text", "interactive", *MEDIA_TYPES]))
    sender, wamid = draw(DIGITS), "wamid." + draw(IDS)
    raw: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": "1750096325", "type": kind}
    expected: dict[str, Any] = {"sender": sender, "wamid": wamid, "type": kind}
    if kind == "text":
        body = draw(st.text(max_size=200))
        raw["text"] = {"body": body}
        expected["text"] = body
    elif kind == "interactive":
        button_id, title = draw(IDS), draw(st.text(min_size=1, max_size=20))
        raw["interactive"] = {"type": "button_reply",
                              "button_reply": {"id": button_id, "title": title}}  # fmt: skip
        expected.update(button_id=button_id, button_title=title)
    else:
        media_id, voice = draw(DIGITS), kind == "audio" and draw(st.booleans())
        raw[kind] = {"id": media_id, "mime_type": "application/octet-stream", "voice": voice}
        expected["media"] = Media(media_id, "application/octet-stream", None, voice)
    return raw, expected


@settings(max_examples=examples(200), deadline=None)
@given(account=DIGITS, batch=st.lists(messages(), max_size=5), name=st.text(max_size=20))
def test_every_well_formed_message_comes_out_as_it_went_in(
    account: str, batch: list[tuple[dict[str, Any], dict[str, Any]]], name: str
) -> None:
    contacts = [{"profile": {"name": name}, "wa_id": raw["from"]} for raw, _ in batch]
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": account},
             "contacts": contacts, "messages": [raw for raw, _ in batch]}  # fmt: skip
    change = {"field": "messages", "value": value}
    payload = {"object": "whatsapp_business_account", "entry": [{"changes": [change]}]}
    parsed = parse(payload)
    assert parsed.skipped == 0
    assert len(parsed.messages) == len(batch)
    for message, (_raw, expected) in zip(parsed.messages, batch, strict=True):
        assert message.account == account
        assert message.name == (name or None)
        for key, value in expected.items():
            assert getattr(message, key) == value
