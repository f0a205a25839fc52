"""The public API with every service a real process, called as other software calls it: the
official `openai` client (sync, async, streaming) talks to the secretary; a reminder set
through it arrives at the client's webhook, signed; keys, limits and one client's messages
are the client's own; an idempotent retry is answered once; a webhook that is down is
retried and dead-lettered."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openai
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.infra import free_port
from sandbox.server import ScriptedServer
from sandbox.webhook_receiver import Receiver
from tests.harness import MigratedDatabases
from tests.system import System, running_system
from tests.waiting import until_sync

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

#: rest_service retries a failing webhook fast here, and gives up after about 5 s.
REST_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    "WEBHOOK_POLL_SECONDS": "0.5",
    "API_WEBHOOK_RETRY_HOURS": "0.0015",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver(200).start_in_thread() as running:
        yield running


@pytest.fixture(scope="module")
def broken_receiver() -> Iterator[Receiver]:
    with Receiver(500).start_in_thread() as running:
        yield running


@pytest.fixture(scope="module")
def system(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    prefix = f"{session_prefix}api-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("public-api")
    extra = {
        "rest_service": REST_ENV,
        "channels": {
            "API_ANSWER_TIMEOUT_SECONDS": "30",
            # the files a test serves are on 127.0.0.1; a small maximum to pass
            "API_ATTACHMENT_ALLOW_PRIVATE_ADDRESSES": "true",
            "API_ATTACHMENT_MAX_BYTES": str(64 * 1024),
        },
    }
    with running_system(
        migrated_databases, redis_url, prefix, secrets, workdir, extra_env=extra
    ) as running:
        yield running


def make_client(system: System, webhook_url: str | None = None, **fields: Any) -> dict[str, Any]:
    """An API client made by the admin over REST: its row, with `key` and `webhook_secret`."""
    body = {"name": f"client-{uuid.uuid4().hex[:8]}", "webhook_url": webhook_url, **fields}
    made = httpx.post(
        f"{system.stack.url('rest_service')}/api/api-clients",
        json=body,
        headers={"Authorization": f"Bearer {system.secrets['ADMIN_API_TOKEN']}"},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def admin(system: System, method: str, path: str) -> httpx.Response:
    return httpx.request(
        method,
        f"{system.stack.url('rest_service')}{path}",
        headers={"Authorization": f"Bearer {system.secrets['ADMIN_API_TOKEN']}"},
    )


def openai_client(system: System, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{system.stack.url('channels')}/v1", api_key=key, max_retries=0)


def api(system: System, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=system.stack.url("channels"),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check in docs/api.md: HMAC-SHA256 of `<timestamp>.<body>`."""
    timestamp = headers["X-Webhook-Timestamp"]
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(headers["X-Signature-256"], f"sha256={digest.hexdigest()}")


def deliveries(receiver: Receiver, secret: str, event: str) -> list[dict[str, Any]]:
    """The deliveries of `event` the receiver has, each signature checked with `secret`."""
    found = []
    for headers, body in list(receiver.received):
        if headers.get("X-Webhook-Event") != event:
            continue
        if not verified(secret, headers, body):
            continue  # another client's: signed with its own secret
        found.append(json.loads(body))
    return found


def test_the_openai_client_talks_to_the_secretary_sync_and_streaming(system: System) -> None:
    system.llm.reset()
    client = make_client(system)
    chat = openai_client(system, client["key"])

    assert [m.id for m in chat.models.list()] == ["secretary"]

    system.llm.reply("Good morning! Your day is clear.")
    answer = chat.chat.completions.create(
        model="secretary",
        messages=[
            {"role": "system", "content": "earlier context the secretary keeps itself"},
            {"role": "user", "content": "What's on today?"},
        ],
        user="alice",
    )
    assert answer.choices[0].message.content == "Good morning! Your day is clear."
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    said = system.llm.requests[-1].messages[-1]
    assert said["role"] == "user" and "What's on today?" in str(said["content"])

    system.llm.chunk_delay = 0.05
    text = "Here is a longer answer, written a few words at a time, as it streams."
    system.llm.reply(text)
    stream = chat.chat.completions.create(
        model="secretary",
        messages=[{"role": "user", "content": "tell me more"}],
        user="alice",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(pieces) == text
    assert len([p for p in pieces if p]) > 1, "the answer arrives in pieces as it is written"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    system.llm.chunk_delay = 0.0


async def test_the_async_openai_client_works_unchanged(system: System) -> None:
    system.llm.reset()
    client = make_client(system)
    chat = openai.AsyncOpenAI(
        base_url=f"{system.stack.url('channels')}/v1", api_key=client["key"], max_retries=0
    )
    system.llm.reply("Async hello.")
    answer = await chat.chat.completions.create(
        model="secretary", messages=[{"role": "user", "content": "hi"}], user="bob"
    )
    assert answer.choices[0].message.content == "Async hello."
    system.llm.reply("Streamed async hello.")
    stream = await chat.chat.completions.create(
        model="secretary", messages=[{"role": "user", "content": "again"}], user="bob", stream=True
    )
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces) == "Streamed async hello."
    await chat.close()


def test_a_reminder_set_through_the_api_arrives_at_the_webhook_signed(
    system: System, receiver: Receiver
) -> None:
    system.llm.reset()
    client = make_client(system, receiver.url)
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    system.llm.call(
        "reminder", {"action": "create", "text": "water the plants", "when": due.isoformat()}
    )
    system.llm.reply("I'll remind you to water the plants.")
    answer = openai_client(system, client["key"]).chat.completions.create(
        model="secretary",
        messages=[{"role": "user", "content": "remind me to water the plants in a moment"}],
        user="carol",
    )
    assert answer.choices[0].message.content is not None
    assert "water the plants" in answer.choices[0].message.content

    def reminded() -> list[dict[str, Any]]:
        return deliveries(receiver, client["webhook_secret"], "message.notification")

    (fired,) = until_sync(reminded, 60, "the reminder at the webhook")
    data = fired["data"]
    assert data["user"] == "carol"
    assert "water the plants" in data["message"]["text"]
    assert data["message"]["kind"] == "notification"
    forged = dict(receiver.received[-1][0])
    assert not verified("another-secret", forged, receiver.received[-1][1])


def test_a_button_is_pressed_by_sending_its_label(system: System) -> None:
    """A program sees no buttons: sending a button's label presses it (here the Cancel under
    a reminder just made)."""
    system.llm.reset()
    client = make_client(system)
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    system.llm.call("reminder", {"action": "create", "text": "call mum", "when": later.isoformat()})
    system.llm.reply("I'll remind you to call mum tomorrow.")
    with api(system, client["key"]) as caller:

        def answer_to(text: str) -> dict[str, Any]:
            posted = caller.post("/api/v1/messages", json={"text": text, "user": "lou"})
            assert posted.status_code == 202, posted.text

            def answered() -> dict[str, Any] | None:
                state = caller.get(f"/api/v1/messages/{posted.json()['id']}").json()
                return state["answer"] if state["status"] == "answered" else None

            return dict(until_sync(answered, 30, f"the answer to {text!r}"))

        made = answer_to("remind me to call mum tomorrow")
        (cancel,) = [b for row in made["buttons"] for b in row if b.get("data")]
        requests_before = len(system.llm.requests)
        cancelled = answer_to(cancel["text"].upper())
    assert cancelled["text"] == "Reminder cancelled."
    assert len(system.llm.requests) == requests_before, "a press asks no model"


def test_a_wrong_or_revoked_key_is_refused(system: System) -> None:
    client = make_client(system)
    wrong = openai_client(system, "sa_" + "x" * 43)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    anonymous = httpx.get(f"{system.stack.url('channels')}/v1/models")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert openai_client(system, client["key"]).models.list().data
    assert admin(system, "DELETE", f"/api/api-clients/{client['id']}").status_code == 204
    with pytest.raises(openai.AuthenticationError):
        openai_client(system, client["key"]).models.list()
    with api(system, client["key"]) as revoked:
        refused = revoked.post("/api/v1/messages", json={"text": "hi", "user": "dan"})
        assert refused.status_code == 401


def test_one_client_cannot_read_another_clients_messages(
    system: System, receiver: Receiver
) -> None:
    system.llm.reset()
    first, second = make_client(system, receiver.url), make_client(system)
    system.llm.reply("Only for the first client.")
    with api(system, first["key"]) as mine, api(system, second["key"]) as theirs:
        posted = mine.post("/api/v1/messages", json={"text": "hello", "user": "erin"})
        assert posted.status_code == 202, posted.text
        message_id = posted.json()["id"]
        assert posted.json()["status"] == "queued"

        def answered() -> dict[str, Any] | None:
            state = mine.get(f"/api/v1/messages/{message_id}").json()
            return state if state["status"] == "answered" else None

        state = until_sync(answered, 30, "the answer in GET")
        assert state["answer"]["text"] == "Only for the first client."
        assert theirs.get(f"/api/v1/messages/{message_id}").status_code == 404
        assert mine.get(f"/api/v1/messages/{uuid.uuid4()}").status_code == 404


def test_an_idempotent_retry_is_one_message_with_one_answer(
    system: System, receiver: Receiver
) -> None:
    system.llm.reset()
    client = make_client(system, receiver.url)
    system.llm.reply("Answered once.")
    body = {"text": "book the usual table", "user": "fay"}
    with api(system, client["key"]) as caller:
        first = caller.post("/api/v1/messages", json=body, headers={"Idempotency-Key": "k-1"})
        again = caller.post("/api/v1/messages", json=body, headers={"Idempotency-Key": "k-1"})
        assert first.status_code == again.status_code == 202
        assert first.json()["id"] == again.json()["id"]
        other = caller.post(
            "/api/v1/messages", json={**body, "user": "gus"}, headers={"Idempotency-Key": "k-1"}
        )
        assert other.status_code == 409 and other.json()["fields"][0]["field"] == "idempotency_key"

    def answered() -> list[dict[str, Any]]:
        return deliveries(receiver, client["webhook_secret"], "message.answered")

    (delivery,) = until_sync(answered, 30, "the answer at the webhook")
    assert delivery["data"]["message"]["id"] == first.json()["id"]
    assert delivery["data"]["message"]["answer"]["text"] == "Answered once."
    assert len([r for r in system.llm.requests if "usual table" in json.dumps(r.messages)]) == 1


def test_a_webhook_that_is_down_is_retried_and_then_dead(
    system: System, broken_receiver: Receiver
) -> None:
    system.llm.reset()
    client = make_client(system, broken_receiver.url)
    system.llm.reply("Nobody hears this one.")
    with api(system, client["key"]) as caller:
        posted = caller.post("/api/v1/messages", json={"text": "hello?", "user": "hal"})
        assert posted.status_code == 202

    def dead() -> dict[str, Any] | None:
        rows = admin(system, "GET", f"/api/api-clients/{client['id']}/deliveries").json()
        return next((r for r in rows if r["status"] == "dead"), None)

    row = until_sync(dead, 60, "the delivery dead")
    assert row["attempts"] >= 2 and row["last_error"] == "HTTP 500"
    assert len(broken_receiver.received) >= 2
    with api(system, client["key"]) as caller:  # the answer is not lost: GET has it
        state = caller.get(f"/api/v1/messages/{posted.json()['id']}").json()
        assert state["answer"]["text"] == "Nobody hears this one."


def test_a_client_over_its_limit_is_told_when_to_come_back(system: System) -> None:
    system.llm.reset()
    client = make_client(system, per_minute_limit=1)
    chat = openai_client(system, client["key"])
    system.llm.reply("First.")
    chat.chat.completions.create(model="secretary", messages=[{"role": "user", "content": "1"}])
    with pytest.raises(openai.RateLimitError) as refused:
        chat.chat.completions.create(model="secretary", messages=[{"role": "user", "content": "2"}])
    retry_after = int(refused.value.response.headers["Retry-After"])
    assert 1 <= retry_after <= 60


def test_an_assistant_the_client_may_not_use_is_not_found(system: System) -> None:
    client = make_client(system)
    chat = openai_client(system, client["key"])
    with pytest.raises(openai.NotFoundError):
        chat.chat.completions.create(
            model="sales-bot", messages=[{"role": "user", "content": "hi"}]
        )
    with api(system, client["key"]) as caller:
        refused = caller.post(
            "/api/v1/messages", json={"text": "hi", "user": "ivy", "assistant": "sales-bot"}
        )
        assert refused.status_code == 404 and refused.json()["fields"][0]["field"] == "assistant"


def test_a_named_assistant_the_client_may_use_answers_in_its_own_voice(system: System) -> None:
    system.llm.reset()
    name = f"concierge-{uuid.uuid4().hex[:6]}"
    made = httpx.post(
        f"{system.stack.url('rest_service')}/api/assistants/",
        json={"name": name, "instructions": "You are the hotel concierge."},
        headers={"Authorization": f"Bearer {system.secrets['ADMIN_API_TOKEN']}"},
    )
    assert made.status_code == 201, made.text
    client = make_client(system, allowed_assistants=[name])
    chat = openai_client(system, client["key"])
    assert [m.id for m in chat.models.list()] == ["secretary", name]

    def concierge_knows_it() -> bool:  # the assistants read the new row from the config
        system.llm.reply("The spa opens at nine.")
        answer = chat.chat.completions.create(
            model=name, messages=[{"role": "user", "content": "when does the spa open?"}]
        )
        asked = system.llm.requests[-1].system_text if system.llm.requests else ""
        return answer.choices[0].message.content == "The spa opens at nine." and (
            "You are the hotel concierge." in asked
        )

    until_sync(concierge_knows_it, 30, "the concierge answering")


def test_the_public_api_has_its_own_openapi_document(system: System) -> None:
    document = httpx.get(f"{system.stack.url('channels')}/v1/openapi.json").json()
    assert set(document["paths"]) == {
        "/api/v1/files",
        "/v1/models",
        "/v1/chat/completions",
        "/api/v1/messages",
        "/api/v1/messages/{message_id}",
    }
    page = httpx.get(f"{system.stack.url('channels')}/v1/docs")
    assert page.status_code == 200 and "/v1/openapi.json" in page.text


def _seen_by_model(system: System, words: str) -> bool:
    return any(words in json.dumps(r.messages, ensure_ascii=False) for r in system.llm.requests)


def test_files_uploaded_or_named_by_url_reach_the_secretary(system: System) -> None:
    system.llm.reset()
    client = make_client(system)
    gate = "The gate code is LILAC-77."
    notes = ScriptedServer("/notes.txt", lambda: web.Response(text=gate, content_type="text/plain"))
    with notes.start_in_thread(), api(system, client["key"]) as caller:
        uploaded = caller.post(
            "/api/v1/files?name=brief.txt",
            content=b"The meeting room is ORCHID-12.",
            headers={"Content-Type": "text/plain"},
        )
        assert uploaded.status_code == 201, uploaded.text
        file = uploaded.json()
        assert file["bytes"] == 30 and file["file_name"] == "brief.txt"
        posted = caller.post(
            "/api/v1/messages",
            json={
                "text": "read these",
                "user": "jo",
                "attachments": [{"file_id": file["id"]}, {"url": notes.url}],
            },
        )
        assert posted.status_code == 202, posted.text
        until_sync(lambda: _seen_by_model(system, "ORCHID-12"), 30, "the uploaded file read")
        assert _seen_by_model(system, "LILAC-77")

        other = make_client(system)
        with api(system, other["key"]) as stranger:
            theirs = stranger.post(
                "/api/v1/messages",
                json={"text": "x", "user": "jo", "attachments": [{"file_id": file["id"]}]},
            )
        assert theirs.status_code == 422
        assert theirs.json()["fields"][0]["field"] == "attachments.0.file_id"
        too_big = caller.post("/api/v1/files", content=b"x" * (64 * 1024 + 1))
        assert too_big.status_code == 413
        missing = caller.post(
            "/api/v1/messages",
            json={"text": "x", "user": "jo", "attachments": [{"url": notes.url + "-gone"}]},
        )
        assert missing.status_code == 422
        assert missing.json()["fields"][0]["field"] == "attachments.0.url"
        assert "HTTP 404" in missing.json()["fields"][0]["reason"]
        empty = caller.post("/api/v1/files", content=b"")
        assert empty.status_code == 422 and empty.json()["fields"][0]["field"] == "body"


def test_a_file_url_that_is_too_large_or_unreachable_is_refused_naming_it(system: System) -> None:
    client = make_client(system)
    big = ScriptedServer("/big.bin", lambda: web.Response(body=b"x" * (64 * 1024 + 1)))
    nowhere = f"http://127.0.0.1:{free_port()}/gone.txt"
    with big.start_in_thread(), api(system, client["key"]) as caller:
        for url, why in ((big.url, "over 65536 bytes"), (nowhere, "cannot be fetched")):
            refused = caller.post(
                "/api/v1/messages",
                json={"text": "x", "user": "kai", "attachments": [{"url": url}]},
            )
            assert refused.status_code == 422, refused.text
            (field,) = refused.json()["fields"]
            assert field["field"] == "attachments.0.url" and why in field["reason"]


_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
BODIES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "text": _SCALARS | st.text(min_size=1, max_size=30),
            "user": _SCALARS | st.sampled_from(["", " ", "a\x00b", "u" * 201, "ok-user"]),
            "assistant": _SCALARS | st.just("secretary"),
            "idempotency_key": _SCALARS | st.sampled_from(["", "k" * 129, "has space"]),
            "model": _SCALARS,
            "messages": st.lists(
                st.fixed_dictionaries(
                    {"role": st.sampled_from(["user", "system", 3]), "content": _SCALARS}
                ),
                max_size=2,
            ),
            "stream": _SCALARS,
        },
    ),
)


@pytest.fixture(scope="module")
def fuzz_key(system: System) -> str:
    return str(make_client(system)["key"])


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES)
def test_any_body_is_taken_or_refused_naming_the_field_never_a_500(
    system: System, fuzz_key: str, body: object
) -> None:
    with api(system, fuzz_key) as caller:
        for path in ("/api/v1/messages", "/v1/chat/completions"):
            response = caller.post(path, json=body, timeout=60)
            assert response.status_code in (200, 202, 404, 422), response.text
            if response.status_code in (404, 422):
                fields = response.json()["fields"]
                assert fields and all(f["field"] and f["reason"] for f in fields)
