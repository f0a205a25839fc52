"""The Gmail client against the stand-in, through google-api-python-client: each call,
the retries it shares with the calendar client, a send that is never repeated after it may
have gone, a refreshed token on 401, and the 403 of a grant without mail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest

from common.infrastructure.errors import NotFoundError
from google_calendar_service.src.clients.gmail import GmailClient
from google_calendar_service.src.clients.google import CalendarSession
from google_calendar_service.src.errors import (
    GoogleRejectedError,
    GoogleScopeMissingError,
    GoogleUnavailableError,
)
from google_calendar_service.tests.test_google_client import (
    consented,
    plain_http_to_the_stand_in,
    settings_for,
)
from sandbox.google_api import GoogleStandIn
from sandbox.google_mail import b64url

__all__ = ["plain_http_to_the_stand_in"]


@pytest.fixture
def email() -> str:
    return f"{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
async def gmail(
    google: GoogleStandIn, email: str
) -> AsyncIterator[tuple[GmailClient, CalendarSession]]:
    settings = settings_for(google)
    client = GmailClient(settings)
    async with client.session(await consented(google, settings, email, ["mail"])) as session:
        yield client, session


def _raw(to: str, text: str) -> str:
    message = EmailMessage()
    message["To"], message["Subject"] = to, "Re: Lunch"
    message.set_content(text)
    return b64url(message.as_bytes())


async def test_every_call_reaches_the_mailbox(
    google: GoogleStandIn, gmail: tuple[GmailClient, CalendarSession], email: str
) -> None:
    client, session = gmail
    [seeded] = google.mail.seed(email, [{"from": "anna@example.org", "subject": "Lunch"}])
    found = await client.list_messages(session, "from:anna", 5)
    assert found == [{"id": seeded.id, "threadId": seeded.thread_id}]
    message = await client.get_message(session, seeded.id)
    assert message["payload"]["headers"][0] == {"name": "From", "value": "anna@example.org"}
    thread = await client.get_thread(session, seeded.thread_id)
    assert [m["id"] for m in thread["messages"]] == [seeded.id]
    draft = await client.create_draft(session, _raw("anna@example.org", "Yes"), seeded.thread_id)
    assert draft["message"]["threadId"] == seeded.thread_id
    sent = await client.send(session, _raw("anna@example.org", "Yes"), seeded.thread_id)
    assert google.mail.mailbox(email).sent[0]["id"] == sent["id"]
    label = await client.create_label(session, "Family")
    assert label["id"] in [x["id"] for x in await client.labels(session)]
    changed = await client.modify(session, seeded.id, [label["id"]], ["INBOX"])
    assert changed["labelIds"] == ["UNREAD", label["id"]]
    assert await client.list_messages(session, "", 5) != []


async def test_a_grant_without_mail_is_a_missing_scope_not_a_reconnect(
    google: GoogleStandIn, email: str
) -> None:
    settings = settings_for(google)
    client = GmailClient(settings)
    async with client.session(await consented(google, settings, email)) as session:
        with pytest.raises(GoogleScopeMissingError):
            await client.list_messages(session, "", 5)


async def test_an_expired_token_is_refreshed_once_and_the_call_goes_on(
    google: GoogleStandIn, gmail: tuple[GmailClient, CalendarSession], email: str
) -> None:
    client, session = gmail
    before = session.credentials.token
    google.state.expire_access_tokens(email)
    assert await client.labels(session)
    assert session.credentials.token != before
    assert [s.status for s in google.state.operations("gmail.users.labels.list")] == [401, 200]


async def test_a_busy_gmail_is_retried_but_a_send_that_may_have_gone_is_not(
    google: GoogleStandIn, gmail: tuple[GmailClient, CalendarSession], email: str
) -> None:
    client, session = gmail
    google.state.queue_fault("gmail.users.messages.list", 503)
    assert await client.list_messages(session, "", 5) == []
    google.state.queue_fault("gmail.users.messages.send", 429)
    await client.send(session, _raw("a@example.org", "one"), None)
    google.state.queue_fault("gmail.users.messages.send", 500)
    with pytest.raises(GoogleUnavailableError, match=r"Gmail is busy \(500"):
        await client.send(session, _raw("a@example.org", "two"), None)
    statuses = [s.status for s in google.state.operations("gmail.users.messages.send")]
    assert statuses == [429, 200, 500]
    assert len(google.mail.mailbox(email).sent) == 1


async def test_what_gmail_refuses_is_named(
    google: GoogleStandIn, gmail: tuple[GmailClient, CalendarSession], email: str
) -> None:
    client, session = gmail
    [seeded] = google.mail.seed(email, [{"subject": "Hi"}])
    with pytest.raises(NotFoundError, match="no such message"):
        await client.get_thread(session, "gone")
    with pytest.raises(GoogleRejectedError, match="Gmail rejected"):
        await client.modify(session, seeded.id, ["NoSuchLabel"], [])
