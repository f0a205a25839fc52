"""The web chat with every service a real process: a visitor's words reach the secretary and
its answer streams into their conversation (drafts, then the answer, as HTML); a retried POST
is one message; a reminder made in the web chat fires there; a Cancel under it works; and the
page itself, in a real browser, shows all of it. Screenshot: `test-artifacts/web-chat.png`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis as syncredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.infrastructure.redis_keys import TO_CHANNELS
from rest_service.tests.test_admin_browser import ARTIFACTS, CHROMIUM_ARGS, TIMEOUT_MS
from sandbox.llm_server import Step
from tests.harness import MigratedDatabases
from tests.metrics_text import scraped
from tests.streams import any_entry_with, xrange_entries
from tests.system import System, running_system
from tests.waiting import until_sync

pytestmark = [pytest.mark.timeout(180)]

SECRET = "web-chat-secret-" + "x" * 16


@pytest.fixture(scope="module")
def system(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    prefix = f"{session_prefix}webchat-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("webchat")
    extra = {"channels": {"WEB_CHAT_SECRET": SECRET}}
    with running_system(
        migrated_databases, redis_url, prefix, secrets, workdir, extra_env=extra
    ) as running:
        yield running


@pytest.fixture
def chat(system: System) -> Iterator[httpx.Client]:
    """A visitor: a client that opened the page (and so holds its cookie)."""
    system.llm.reset()
    with httpx.Client(base_url=system.stack.url("channels"), timeout=10) as client:
        assert client.get("/chat").status_code == 200
        assert client.cookies.get("sa_chat")
        yield client


def events(
    client: httpx.Client, until: str, timeout: float = 30.0, kind_wanted: str = "answer"
) -> list[tuple[str, Any]]:
    """The conversation's events, read from the page's event stream from the start until an
    event of `kind_wanted` whose data contains `until` (NotInTime when none does in time)."""
    seen: list[tuple[str, Any]] = []

    def read() -> list[tuple[str, Any]] | None:
        seen.clear()
        kind = ""
        with client.stream("GET", "/chat/events", timeout=httpx.Timeout(5.0)) as response:
            try:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data = json.loads(line.removeprefix("data: "))
                        seen.append((kind, data))
                        said = json.dumps(data, ensure_ascii=False)
                        if kind == kind_wanted and until in said:
                            return list(seen)
            except httpx.ReadTimeout:
                return None  # nothing new for a while: read again from the start
        return None

    return until_sync(read, timeout, f"an event with {until!r}")


def say(client: httpx.Client, text: str, message_id: str | None = None) -> str:
    """What became of the message (`queued`, `duplicate`, …)."""
    response = client.post("/chat/messages", json={"text": text, "id": message_id or _id()})
    assert response.status_code == 202, response.text
    return str(response.json()["status"])


def _id() -> str:
    return uuid.uuid4().hex


def test_an_answer_streams_in_and_arrives_as_html(system: System, chat: httpx.Client) -> None:
    system.llm.chunk_delay = 0.05
    system.llm.reply("**Hello** there, I am your secretary. How can I help you today?")

    assert say(chat, "hi") == "queued"

    seen = events(chat, "How can I help")
    kinds = [kind for kind, _ in seen]
    assert kinds[0] == "you" and seen[0][1]["text"] == "hi"
    assert "draft" in kinds, "the answer streams in as it is written"
    answer = seen[-1][1]
    assert seen[-1][0] == "answer"
    assert answer["html"].startswith("<p><strong>Hello</strong> there")
    drafts = [body for kind, body in seen if kind == "draft"]
    assert all(d["id"] == answer["id"] for d in drafts)


def answer_times(system: System) -> dict[str, float]:
    """channels' answer-time histograms for the web chat: count and sums."""
    url, name = system.stack.url("channels"), "smart_assistant_answer"
    return {
        "count": scraped(url, f"{name}_seconds_count", channel="web"),
        "took": scraped(url, f"{name}_seconds_sum", channel="web"),
        "without_model": scraped(url, f"{name}_without_model_seconds_sum", channel="web"),
    }


def test_a_delivered_answer_is_timed_from_the_message_with_the_model_s_time_left_out(
    system: System, chat: httpx.Client
) -> None:
    """The answer time runs from channels taking the message to its answer delivered; the
    model's 0.5 s (the stand-in's delay) is in it and left out of the time without it."""
    system.llm.reply("Timed for you.", delay=0.5)
    before = answer_times(system)

    assert say(chat, "time me") == "queued"
    events(chat, "Timed for you")

    def counted() -> dict[str, float] | None:
        now = answer_times(system)
        return now if now["count"] > before["count"] else None

    after = until_sync(counted, 10, "the answer timed")
    took = after["took"] - before["took"]
    without_model = after["without_model"] - before["without_model"]
    assert after["count"] == before["count"] + 1
    assert took >= 0.5
    assert 0 <= without_model <= took - 0.5


def test_a_retried_message_is_one_message_with_one_answer(
    system: System, chat: httpx.Client
) -> None:
    system.llm.reply("Noted once.")
    message_id = _id()
    assert say(chat, "note this", message_id) == "queued"
    assert say(chat, "note this", message_id) == "duplicate"
    seen = events(chat, "Noted once.")
    assert [kind for kind, _ in seen if kind != "draft"] == ["you", "answer"]
    assert len(system.llm.requests) == 1


def test_without_the_cookie_nothing_is_taken_and_a_bad_body_says_which_field(
    system: System, chat: httpx.Client
) -> None:
    url = system.stack.url("channels")
    stranger = httpx.post(f"{url}/chat/messages", json={"text": "hi"})
    assert stranger.status_code == 401
    forged = httpx.post(
        f"{url}/chat/messages", json={"text": "hi"}, cookies={"sa_chat": "someone.forged.x"}
    )
    assert forged.status_code == 401
    empty = chat.post("/chat/messages", json={"text": ""})
    assert empty.status_code == 422
    assert [f["field"] for f in empty.json()["fields"]] == ["text"]
    long = chat.post("/chat/messages", json={"text": "x" * 4097})
    assert long.status_code == 422


def test_a_reminder_made_in_the_web_chat_fires_there_and_its_cancel_works(
    system: System, chat: httpx.Client
) -> None:
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    system.llm.call(
        "reminder", {"action": "create", "text": "water the plants", "when": due.isoformat()}
    )
    system.llm.reply("I'll remind you to water the plants.")
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    system.llm.call("reminder", {"action": "create", "text": "call mum", "when": later.isoformat()})
    system.llm.reply("I'll remind you to call mum tomorrow.")

    say(chat, "remind me to water the plants in a moment")
    fired = events(chat, "⏰", timeout=60)[-1][1]
    assert "water the plants" in fired["html"] and fired["kind"] == "notification"

    say(chat, "remind me to call mum tomorrow")
    confirmed = events(chat, "call mum tomorrow")[-1][1]
    (cancel,) = [b for row in confirmed["buttons"] for b in row if b.get("data")]
    pressed = chat.post(
        "/chat/press", json={"data": cancel["data"], "label": cancel["text"], "id": _id()}
    )
    assert pressed.status_code == 202 and pressed.json()["status"] == "answered"
    assert events(chat, "Reminder cancelled.")[-1][0] == "answer"


def test_the_page_in_a_browser_sends_shows_the_answer_and_its_buttons_work(
    system: System, chromium: str
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing")
    system.llm.reset()
    system.llm.chunk_delay = 0.02
    system.llm.reply("Sure: *lunch* at `12:30`, see [the menu](https://example.com/menu).")
    later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    system.llm.call("reminder", {"action": "create", "text": "pay rent", "when": later.isoformat()})
    system.llm.reply("I'll remind you to pay rent.")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{system.stack.url('channels')}/chat")
            page.fill("#text", "when is lunch?")
            page.keyboard.press("Enter")
            answer = page.locator(".answer", has_text="see the menu")
            answer.locator("em", has_text="lunch").wait_for()
            assert answer.locator("code").inner_text() == "12:30"
            assert answer.locator("a").get_attribute("href") == "https://example.com/menu"
            assert page.locator(".you").first.inner_text() == "when is lunch?"

            page.fill("#text", "remind me to pay rent")
            page.click("button[type=submit]")
            confirmed = page.locator(".answer", has_text="pay rent")
            confirmed.locator(".buttons button").first.click()
            page.locator(".answer", has_text="Reminder cancelled.").wait_for()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "web-chat.png"))

            # A reload shows the conversation as it was (the page reads it from the start).
            page.reload()
            page.locator(".answer", has_text="Reminder cancelled.").wait_for()
            assert page.locator(".you").count() == 3
        finally:
            browser.close()


def test_a_restart_of_channels_mid_turn_still_answers_once(
    system: System, chat: httpx.Client
) -> None:
    """The answer is written while channels is down: it waits on `queue:to_channels` and is
    in the conversation once channels is back, once."""
    system.llm.script(Step(text="Here after the restart.", delay=2.0, contains="slow question"))
    channels = system.stack.processes["channels"]
    say(chat, "a slow question")
    until_sync(lambda: system.llm.requests or None, 30, "the model asked")
    channels.stop()
    try:
        queued = system.names.stream(TO_CHANNELS)
        with syncredis.Redis.from_url(system.stack.env["REDIS_URL"]) as redis:

            def answer_queued() -> bool:
                return any_entry_with(
                    xrange_entries(redis.xrange(queued)), "Here after the restart."
                )

            until_sync(answer_queued, 30, "the answer queued while channels is down")
    finally:
        channels.start(system.stack.workdir)
    seen = events(chat, "Here after the restart.")
    answers = [body for kind, body in seen if kind == "answer"]
    assert [a["html"] for a in answers].count("<p>Here after the restart.</p>\n") == 1


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {}, optional={"text": JSON | st.text(max_size=5000), "id": JSON | st.text(max_size=80)}
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES)
def test_any_body_is_taken_or_refused_naming_the_field_never_a_500(
    chat: httpx.Client, body: object
) -> None:
    for path in ("/chat/messages", "/chat/press"):
        response = chat.post(path, json=body)
        assert response.status_code in (202, 422), response.text
        if response.status_code == 422:
            fields = response.json()["fields"]
            assert fields and all(f["field"] and f["reason"] for f in fields)
