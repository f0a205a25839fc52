"""The mail client against the real google_calendar_service (and its Google stand-in): every
call answers typed, and a connection without mail raises GoogleAccessNotGranted carrying the
link. Each answer model is its route's schema: common/tests/test_calendar_client.py's ROUTES."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.features.calendar_client import GoogleAccessNotGranted
from common.features.mail_client import (
    MailChange,
    MailClient,
    MailOut,
)
from common.infrastructure.http_client import client_session
from common.tests.test_calendar_client import user_id
from ops.processes import ServiceProcess
from sandbox.google_api import GoogleStandIn
from tests.calendar_stack import Browser, connect

__all__ = ["user_id"]


@pytest.fixture
async def mail(
    calendar_process: ServiceProcess, secrets: dict[str, str]
) -> AsyncIterator[MailClient]:
    async with client_session() as http:
        yield MailClient(http, calendar_process.url, secrets["SERVICE_API_TOKEN"], timeout=30)


async def test_mail_is_asked_for_then_every_call_answers_typed(
    mail: MailClient,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    user_id: str,
) -> None:
    await connect(api, browser, user_id)
    with pytest.raises(GoogleAccessNotGranted) as caught:
        await mail.messages(user_id)
    await browser.open(await browser.consent_redirect(caught.value.auth_url or ""))
    await mail.confirm(user_id)
    [seeded] = google.mail.seed(browser.email, [{"from": "anna@example.org", "subject": "Hi"}])

    found = await mail.messages(user_id, "from:anna", 5)
    assert [m.id for m in found.messages] == [seeded.id]
    thread = await mail.thread(user_id, seeded.thread_id)
    assert thread.subject == "Hi"
    reply = MailOut(body="Hello!", thread_id=seeded.thread_id, idempotency_key="k1")
    assert (await mail.draft(user_id, reply)).to == ["anna@example.org"]
    assert (await mail.send_mail(user_id, reply)).sent
    assert not (await mail.send_mail(user_id, reply)).sent
    changed = await mail.modify(user_id, seeded.id, MailChange(archive=True))
    assert "INBOX" not in changed.labels
