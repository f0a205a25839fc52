"""The mail routes through the running service and the Google stand-in: asking for mail
first, searching, reading a conversation, a reply draft, a send made once per key, labels
and archiving, and what bad input and a grant taken back at Google answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.mail_client import MailOut
from common.infrastructure.redis_keys import Names
from common.infrastructure.wire import TelegramUser
from sandbox.google_api import GoogleStandIn
from sandbox.google_mail import Mailbox, unb64url
from tests.calendar_stack import Browser, connect, query_of
from tests.tiers import examples


async def _allow_mail(api: httpx.AsyncClient, browser: Browser, user_id: str) -> None:
    await connect(api, browser, user_id)
    asked = await api.get(f"/mail/{user_id}/messages")
    assert asked.status_code == 409 and asked.json()["error"] == "google_access_not_granted"
    assert "gmail.modify" in query_of(asked.json()["auth_url"])["scope"]
    await browser.open(await browser.consent_redirect(asked.json()["auth_url"]))
    assert (await api.post(f"/auth/confirm/{user_id}")).json()["confirmed"]


@dataclass
class Arranged:
    """The user's mailbox at the stand-in, and the ids of what was seeded in it."""

    box: Mailbox
    ids: list[str]


@pytest.fixture
async def mailbox(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, user: TelegramUser
) -> Arranged:
    """A user who connected and allowed mail; Anna's two messages in one thread, then an
    old newsletter."""
    await _allow_mail(api, browser, str(user.id))
    first = google.mail.seed(
        browser.email,
        [
            {
                "from": "Anna <anna@example.org>",
                "subject": "Lunch on Thursday?",
                "text": "Shall we?",
                "date": "2026-11-26T09:00:00Z",
                "message_id": "<m1@example.org>",
                "unread": False,
            }
        ],
    )[0]
    second = google.mail.seed(
        browser.email,
        [
            {
                "from": "Anna <anna@example.org>",
                "subject": "Re: Lunch on Thursday?",
                "text": "At noon?",
                "thread": first.thread_id,
                "message_id": "<m2@example.org>",
            },
            {"from": "news@shop.example", "subject": "Sale", "date": "2020-01-01T00:00:00Z"},
        ],
    )
    ids = [first.id, second[0].id, second[1].id]
    return Arranged(google.mail.mailbox(browser.email), ids)


async def test_search_and_read_a_conversation(
    api: httpx.AsyncClient, user: TelegramUser, mailbox: Arranged
) -> None:
    second = mailbox.ids[1]
    found = await api.get(f"/mail/{user.id}/messages", params={"q": "is:unread from:anna"})
    [message] = found.json()["messages"]
    assert message["id"] == second and message["unread"] and message["text"] is None
    assert message["sender"] == "Anna <anna@example.org>"
    thread = (await api.get(f"/mail/{user.id}/threads/{message['thread_id']}")).json()
    assert [m["text"] for m in thread["messages"]] == ["Shall we?", "At noon?"]
    assert thread["subject"] == "Lunch on Thursday?"


async def test_a_reply_draft_and_a_send_made_once_per_key(
    api: httpx.AsyncClient,
    user: TelegramUser,
    mailbox: Arranged,
) -> None:
    thread_id = mailbox.box.messages[mailbox.ids[0]].thread_id
    reply = {"body": "Yes, noon works.", "thread_id": thread_id}
    draft = await api.post(f"/mail/{user.id}/drafts", json=reply)
    assert draft.status_code == 201, draft.text
    assert draft.json()["to"] == ["anna@example.org"]
    assert draft.json()["subject"] == "Re: Lunch on Thursday?"

    keyed = {**reply, "idempotency_key": "m1:0"}
    first = await api.post(f"/mail/{user.id}/send", json=keyed)
    again = await api.post(f"/mail/{user.id}/send", json=keyed)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "sent": False}
    [sent] = mailbox.box.sent
    assert sent["threadId"] == thread_id
    mime = message_from_bytes(unb64url(sent["raw"]), policy=policy.default)
    assert mime["In-Reply-To"] == "<m2@example.org>" and mime["To"] == "anna@example.org"
    assert mime.get_content() == "Yes, noon works.\n"


async def test_a_send_that_failed_may_be_tried_again_with_its_key(
    api: httpx.AsyncClient,
    user: TelegramUser,
    google: GoogleStandIn,
    mailbox: Arranged,
) -> None:
    body = {"to": ["bob@example.org"], "subject": "Hi", "body": "Hello", "idempotency_key": "k"}
    google.state.queue_fault("gmail.users.messages.send", 400)
    assert (await api.post(f"/mail/{user.id}/send", json=body)).status_code == 400
    assert (await api.post(f"/mail/{user.id}/send", json=body)).status_code == 201
    assert len(mailbox.box.sent) == 1
    nobody = await api.post(f"/mail/{user.id}/send", json={"body": "to whom?"})
    assert nobody.status_code == 422 and nobody.json()["fields"][0]["field"] == "to"


async def test_labels_are_made_when_missing_and_archiving_leaves_the_inbox(
    api: httpx.AsyncClient, user: TelegramUser, mailbox: Arranged
) -> None:
    message = mailbox.ids[1]
    change = {"add_labels": ["Family"], "remove_labels": ["UNREAD", "Nope"], "archive": True}
    changed = await api.post(f"/mail/{user.id}/messages/{message}/modify", json=change)
    assert changed.json()["labels"] == ["Family"]
    again = {"add_labels": ["family"], "remove_labels": ["Family"]}
    changed = await api.post(f"/mail/{user.id}/messages/{message}/modify", json=again)
    assert changed.json()["labels"] == ["Family"]
    gone = await api.post(f"/mail/{user.id}/messages/nothere/modify", json={"archive": True})
    assert gone.status_code == 404


async def test_mail_taken_back_at_google_asks_for_it_again(
    api: httpx.AsyncClient,
    user: TelegramUser,
    google: GoogleStandIn,
    mailbox: Arranged,
) -> None:
    for token in google.state.tokens.values():
        if token.email == mailbox.box.email:
            token.scopes = [s for s in token.scopes if "gmail" not in s]
    answer = await api.get(f"/mail/{user.id}/messages")
    assert answer.status_code == 409 and answer.json()["error"] == "google_access_not_granted"


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.dictionaries(
        st.sampled_from(["to", "subject", "body", "thread_id", "idempotency_key", "cc"]),
        st.one_of(st.text(max_size=30), st.lists(st.text(max_size=20), max_size=3), st.none()),
    )
)
async def test_any_draft_body_is_a_draft_or_a_422_naming_a_field(
    api: httpx.AsyncClient, user: TelegramUser, body: dict[str, object]
) -> None:
    answer = await api.post(f"/mail/{user.id}/drafts", json=body)
    try:
        MailOut.model_validate(body)
    except ValueError:
        assert answer.status_code == 422 and answer.json()["fields"], answer.text
        return
    # valid input reaches the mailbox check: this user never allowed mail
    assert answer.status_code in (409, 422), answer.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/mail/{user}/messages"),
        ("GET", "/mail/{user}/threads/t1"),
        ("POST", "/mail/{user}/drafts"),
        ("POST", "/mail/{user}/send"),
        ("POST", "/mail/{user}/messages/m1/modify"),
    ],
)
async def test_the_mail_routes_want_the_service_token(
    api: httpx.AsyncClient, user: TelegramUser, method: str, path: str
) -> None:
    url = path.format(user=user.id)
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        answer = await api.request(method, url, headers=headers)
        assert answer.status_code == 401, (method, path, answer.text)


async def test_a_send_under_way_is_not_sent_again(
    api: httpx.AsyncClient,
    user: TelegramUser,
    mailbox: Arranged,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    await redis.set(shared_names.mail_send(str(user.id), "cut-off"), "sending", ex=60)
    body = {"to": ["bob@example.org"], "body": "Hello", "idempotency_key": "cut-off"}
    answer = await api.post(f"/mail/{user.id}/send", json=body)
    assert answer.status_code == 409 and answer.json()["error"] == "mail_send_unsettled"
    assert mailbox.box.sent == []


async def test_a_thread_of_our_own_and_an_html_mail(
    api: httpx.AsyncClient,
    user: TelegramUser,
    google: GoogleStandIn,
    mailbox: Arranged,
) -> None:
    """A reply in a conversation only the user wrote in goes to whom they wrote; a mail with an HTML
    part is read by its text part."""
    first = {"to": ["bob@example.org"], "subject": "Plan", "body": "Shall we?"}
    started = (await api.post(f"/mail/{user.id}/send", json=first)).json()
    follow_up = {"thread_id": started["thread_id"], "subject": "Plan, again", "body": "Well?"}
    sent = (await api.post(f"/mail/{user.id}/send", json=follow_up)).json()
    assert (sent["to"], sent["subject"]) == (["bob@example.org"], "Plan, again")
    [html] = google.mail.seed(
        mailbox.box.email, [{"subject": "News", "text": "plain words", "html": "<p>rich</p>"}]
    )
    thread = (await api.get(f"/mail/{user.id}/threads/{html.thread_id}")).json()
    assert thread["messages"][0]["text"] == "plain words"


@dataclass
class TwoMailboxes:
    """A user whose two Google accounts both allow mail: work (the default) and home."""

    work: Mailbox
    home: Mailbox


@pytest.fixture
async def two_mailboxes(
    api: httpx.AsyncClient, browser: Browser, google: GoogleStandIn, user: TelegramUser
) -> TwoMailboxes:
    home = Browser(google, f"home-{uuid.uuid4().hex[:8]}@example.com", browser.service_url)
    for one in (browser, home):
        assert (await connect(api, one, str(user.id), "mail")).status_code == 200
    google.mail.seed(
        browser.email,
        [
            {"from": "boss@work.example", "subject": "Budget", "date": "2026-11-26T10:00:00Z"},
            {"from": "hr@work.example", "subject": "Holidays", "date": "2026-11-20T10:00:00Z"},
        ],
    )
    google.mail.seed(
        home.email,
        [
            {
                "from": "Mum <mum@home.example>",
                "subject": "Sunday lunch",
                "date": "2026-11-25T10:00:00Z",
                "message_id": "<mum1@home.example>",
            }
        ],
    )
    return TwoMailboxes(google.mail.mailbox(browser.email), google.mail.mailbox(home.email))


async def test_a_search_spans_both_accounts_newest_first_each_saying_its_account(
    api: httpx.AsyncClient, user: TelegramUser, two_mailboxes: TwoMailboxes
) -> None:
    work, home = two_mailboxes.work.email, two_mailboxes.home.email
    found = await api.get(f"/mail/{user.id}/messages", params={"q": "", "max": 2})
    assert found.status_code == 200, found.text
    assert [(m["subject"], m["account"]) for m in found.json()["messages"]] == [
        ("Budget", work),
        ("Sunday lunch", home),
    ]
    assert found.json()["reconnect_accounts"] == []
    every = (await api.get(f"/mail/{user.id}/messages", params={"q": ""})).json()
    assert [m["subject"] for m in every["messages"]] == ["Budget", "Sunday lunch", "Holidays"]


async def test_a_reply_goes_out_of_the_account_named(
    api: httpx.AsyncClient, user: TelegramUser, two_mailboxes: TwoMailboxes
) -> None:
    [mum] = two_mailboxes.home.messages.values()
    default = await api.get(f"/mail/{user.id}/threads/{mum.thread_id}")
    assert default.status_code == 404  # the default (work) mailbox has no such thread
    thread = await api.get(f"/mail/{user.id}/threads/{mum.thread_id}", params={"account": "home"})
    assert thread.json()["account"] == two_mailboxes.home.email
    assert thread.json()["messages"][0]["account"] == two_mailboxes.home.email

    reply = {"body": "See you!", "thread_id": mum.thread_id, "account": "home-"}
    sent = await api.post(f"/mail/{user.id}/send", json=reply)
    assert sent.status_code == 201, sent.text
    assert sent.json()["to"] == ["mum@home.example"]
    assert sent.json()["account"] == two_mailboxes.home.email
    assert two_mailboxes.work.sent == [] and len(two_mailboxes.home.sent) == 1
    archived = await api.post(
        f"/mail/{user.id}/messages/{mum.id}/modify", json={"archive": True, "account": "home"}
    )
    assert archived.json()["account"] == two_mailboxes.home.email
    assert "INBOX" not in archived.json()["labels"]
    unknown = await api.post(f"/mail/{user.id}/send", json={**reply, "account": "nobody"})
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "account"


async def test_a_dead_grant_is_named_while_the_other_mailbox_answers(
    api: httpx.AsyncClient,
    user: TelegramUser,
    google: GoogleStandIn,
    two_mailboxes: TwoMailboxes,
) -> None:
    google.state.invalidate_grants(two_mailboxes.home.email)
    found = await api.get(f"/mail/{user.id}/messages", params={"q": ""})
    assert found.status_code == 200, found.text
    assert {m["account"] for m in found.json()["messages"]} == {two_mailboxes.work.email}
    assert found.json()["reconnect_accounts"] == [two_mailboxes.home.email]
    assert found.json()["reconnect_url"]
    google.state.invalidate_grants(two_mailboxes.work.email)
    none = await api.get(f"/mail/{user.id}/messages", params={"q": ""})
    assert none.status_code == 409, none.text
