"""The e-mail channel against mail servers set up as a provider's are (`mail_servers(secure=
True)`: Dovecot and Postfix with TLS under a throwaway CA, SMTP submission with a login),
with the adapter in this process over a real rest_service and Redis: the account's password
goes only over TLS to a certificate we trust; a mailbox that drops the connection is read
again and no mail is lost; a file over the limit is left out; an answer goes out once and
its mail is flagged answered however long the mailbox sat idle; SMTP's refusals are told
apart (try later, or never)."""

from __future__ import annotations

import imaplib
import ssl
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

import pytest
import redis.asyncio as aioredis

from channels.src.adapters.base import AdapterContext
from channels.src.adapters.email import EmailAdapter
from channels.src.adapters.email.composing import Outgoing, compose
from channels.src.adapters.email.servers import Mailbox, ServerUrl, send_mail
from channels.src.intake import Intake, reply
from channels.src.settings import Settings
from channels.tests.mail_servers import BUSY, MailServers, mail_servers
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.queue_messages import IncomingMessage, OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient
from tests.streams import stream_entries
from tests.waiting import until, until_sync

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SECRETARY = MailServers.address("secretary")
ALICE = MailServers.address("alice")
BOB = MailServers.address("bob")


@pytest.fixture(scope="module")
def servers() -> Iterator[MailServers]:
    with mail_servers(secure=True) as running:
        yield running


@pytest.fixture
def mail(servers: MailServers, monkeypatch: pytest.MonkeyPatch) -> MailServers:
    """The servers, empty, their CA the one this process trusts (as a provider's CA is)."""
    assert servers.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(servers.ca_file))
    servers.clear()
    return servers


def written(sender: str, text: str, subject: str = "Plans") -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Someone <{sender}>"
    message["To"] = SECRETARY
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    message.set_content(text)
    return message


def deliver(mail: MailServers, message: EmailMessage, sender: str = ALICE) -> None:
    mail.submit(message.as_bytes(), sender, SECRETARY)


def settings_for(mail: MailServers, **values: Any) -> Settings:
    given: dict[str, Any] = {
        "email_imap_url": mail.imaps_url(),
        "email_smtp_url": mail.submissions_url(),
        "email_from": f"Secretary <{SECRETARY}>",
        "email_allowed_senders": f"{ALICE}, {BOB}",
        "email_poll_seconds": 5.0,
    }
    return Settings(_env_file=None, environment="test", **{**given, **values})


def adapter_for(
    settings: Settings, rest: RestClient, redis: aioredis.Redis, names: Names
) -> EmailAdapter:
    return EmailAdapter(AdapterContext(settings, redis, names, Intake(rest, redis, names), rest))


@asynccontextmanager
async def running(adapter: EmailAdapter) -> AsyncIterator[EmailAdapter]:
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()


async def for_secretary(redis: aioredis.Redis, names: Names) -> list[IncomingMessage]:
    entries = await stream_entries(redis, names.stream(TO_SECRETARY))
    return [IncomingMessage.model_validate_json(fields[b"data"]) for _, fields in entries]


async def queued(redis: aioredis.Redis, names: Names, count: int) -> list[IncomingMessage]:
    async def enough() -> list[IncomingMessage] | None:
        found = await for_secretary(redis, names)
        return found if len(found) >= count else None

    return await until(enough, 30, f"{count} mail(s) queued for the secretary")


def flagged(mail: MailServers, flag: bytes) -> list[bool]:
    return [flag in flags for flags in mail.flags("secretary")]


# -- the servers' own protocol: TLS, logins, refusals ------------------------------------------


def test_the_mailbox_is_reached_over_tls_and_a_certificate_not_trusted_is_refused(
    mail: MailServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(mail, written(ALICE, "over TLS"))
    mail.wait_for("secretary", 1)
    for url in (mail.imaps_url(), mail.imap_url()):  # implicit TLS, then STARTTLS
        mailbox = Mailbox(ServerUrl.parse(url, "imap"))
        mailbox.connect()
        try:
            assert isinstance(mailbox.client.sock, ssl.SSLSocket)
            (uid,) = mailbox.new_uids(0)
            fetched = mailbox.fetch(uid)
            assert fetched is not None and b"over TLS" in fetched.raw
            assert mailbox.fetch(uid + 100) is None, "a mail gone before it is fetched"
        finally:
            mailbox.close()
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(ssl.SSLCertVerificationError):
        Mailbox(ServerUrl.parse(mail.imaps_url(), "imap")).connect()


def test_a_search_finds_mail_delivered_since_the_last_command(mail: MailServers) -> None:
    """As a poll without IDLE does: the mail that came between two polls is found by the
    second, not the third."""
    mailbox = Mailbox(ServerUrl.parse(mail.imaps_url(), "imap"))
    mailbox.connect()
    try:
        assert mailbox.new_uids(0) == []
        for count in (1, 2):
            deliver(mail, written(ALICE, f"mail {count}"))
            mail.wait_for("secretary", count)
            assert len(mailbox.new_uids(0)) == count
    finally:
        mailbox.close()


def test_a_folder_that_does_not_exist_is_refused_naming_it(mail: MailServers) -> None:
    url = ServerUrl.parse(mail.imaps_url().replace("/INBOX", "/Secretary"), "imap")
    with pytest.raises(imaplib.IMAP4.error, match="cannot select Secretary"):
        Mailbox(url).connect()


def test_submission_with_a_login_and_starttls_without_one_both_deliver(mail: MailServers) -> None:
    for url in (mail.submissions_url(), mail.smtp_url):
        ours = compose(Outgoing(SECRETARY, ALICE, "Hi", f"sent via {url[:5]}", "<x@example.test>"))
        send_mail(ServerUrl.parse(url, "smtp"), ours, SECRETARY, ALICE)
    raws = mail.wait_for("alice", 2)
    assert any(b"sent via smtps" in raw for raw in raws)
    assert any(b"sent via smtp:" in raw for raw in raws)


def test_idle_ends_with_an_error_when_the_server_drops_the_connection(mail: MailServers) -> None:
    def dropped(*, in_idle: bool) -> BaseException | None:
        mailbox = Mailbox(ServerUrl.parse(mail.imap_url("bob"), "imap"))
        mailbox.connect()
        try:
            with ThreadPoolExecutor(1) as pool:
                if not in_idle:  # dropped between two commands: IDLE gets the server's BYE
                    mail.kick("bob")
                wait = pool.submit(mailbox.wait, 3600, threading.Event())
                if in_idle:
                    until_sync(lambda: mail.idling("bob"), 10, "the connection in IDLE")
                    mail.kick("bob")
                return wait.exception(timeout=30)
        finally:
            mailbox.close()

    refused = dropped(in_idle=False)
    assert isinstance(refused, imaplib.IMAP4.abort) and "refused IDLE" in str(refused)
    assert isinstance(dropped(in_idle=True), imaplib.IMAP4.abort | OSError)


# -- the adapter --------------------------------------------------------------------------------


async def test_a_mailbox_that_drops_the_connection_is_read_again_and_no_mail_is_lost(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    async with running(adapter_for(settings_for(mail), rest, redis, names)):
        deliver(mail, written(ALICE, "the first one"))
        await queued(redis, names, 1)
        await until(lambda: mail.idling("secretary"), 20, "the mailbox waiting in IDLE")
        mail.kick("secretary")
        deliver(mail, written(ALICE, "after the drop"))
        first, second = await queued(redis, names, 2)
    assert (first.text, second.text) == ("the first one", "after the drop")
    assert flagged(mail, b"\\Seen") == [True, True]


async def test_a_mailbox_that_refuses_the_login_is_the_channels_trouble_until_it_takes_it(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    """`/health` says the channel is down (with why) while its loop tries again, and on once
    mail is read again: the password changed on the server, then changed back."""
    async with running(adapter_for(settings_for(mail), rest, redis, names)) as adapter:
        await until(lambda: mail.idling("secretary"), 20, "the mailbox waiting in IDLE")
        assert adapter.trouble is None
        with mail.logins_refused("secretary"):
            mail.kick("secretary")
            refused = await until(
                lambda: adapter.trouble if "AUTHENTICATIONFAILED" in (adapter.trouble or "")
                else None, 30, "the refused login said as the channel's trouble",
            )  # fmt: skip
        assert refused.startswith("mail cannot be read now, trying again: ")
        deliver(mail, written(ALICE, "after the password is back"))
        (taken,) = await queued(redis, names, 1)
        assert taken.text == "after the password is back"
        await until(lambda: adapter.trouble is None, 30, "the trouble cleared")


async def test_a_file_over_the_limit_is_left_out_and_the_rest_reaches_the_secretary(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    settings = settings_for(mail, email_attachment_max_bytes=2000)
    message = written(ALICE, "Two files for you")
    message.add_attachment(b"small notes", maintype="text", subtype="plain", filename="notes.txt")
    message.add_attachment(b"%PDF-1.4" + b"x" * 5000, maintype="application", subtype="pdf",
                           filename="scan.pdf")  # fmt: skip
    async with running(adapter_for(settings, rest, redis, names)):
        deliver(mail, message)
        (queued_mail,) = await queued(redis, names, 1)
    assert queued_mail.text == "Two files for you"
    assert [(a.file_name, a.size) for a in queued_mail.attachments] == [("notes.txt", 11)]


async def test_an_answer_goes_out_once_and_is_flagged_answered_after_the_mailbox_sat_idle(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    async with running(adapter_for(settings_for(mail), rest, redis, names)) as adapter:
        deliver(mail, written(ALICE, "first question"))
        (first,) = await queued(redis, names, 1)
        await adapter.send(reply(first, "First answer."))
        assert flagged(mail, b"\\Answered") == [True]

        # The server closes connections that sat idle (here: all of them, at once).
        mail.kick("secretary")
        deliver(mail, written(ALICE, "second question"))
        _, second = await queued(redis, names, 2)
        answer = reply(second, "Second answer.")
        await adapter.send(answer)
        await adapter.send(answer)  # the queue hands it over again
    assert flagged(mail, b"\\Answered") == [True, True]
    raws = mail.wait_for("alice", 2)
    assert len(raws) == 2 and sum(b"Second answer." in raw for raw in raws) == 1


async def test_an_answer_after_the_folder_was_renumbered_flags_no_mail(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    async with running(adapter_for(settings_for(mail), rest, redis, names)) as adapter:
        deliver(mail, written(ALICE, "a question"))
        (question,) = await queued(redis, names, 1)
        mail.renumber("secretary")  # its UIDs may now name other mails
        await adapter.send(reply(question, "An answer."))
    mail.wait_for("alice", 1)
    assert flagged(mail, b"\\Answered") == [False]


async def test_an_answer_to_a_mail_no_longer_remembered_and_a_reminder_are_sent_and_flag_nothing(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    async with running(adapter_for(settings_for(mail), rest, redis, names)) as adapter:
        deliver(mail, written(ALICE, "a question"))
        (question,) = await queued(redis, names, 1)
        # Answered after the mail's record expired (or by another deployment's queue).
        late = reply(question, "A late answer.").model_copy(
            update={"correlation_id": str(uuid.uuid4())}
        )
        await adapter.send(late)
        # A reminder answers no mail at all.
        reminder = OutgoingMessage(
            message_id=uuid.uuid4(), chat_id=question.chat_id, text="Water the plants.",
            channel=Channel.EMAIL, channel_chat_id=ALICE, kind=OutgoingKind.NOTIFICATION,
        )  # fmt: skip
        await adapter.send(reminder)
    raws = mail.wait_for("alice", 2)
    assert any(b"A late answer." in raw for raw in raws)
    assert any(b"Subject: Water the plants." in raw for raw in raws)
    assert flagged(mail, b"\\Answered") == [False]


async def test_an_answer_without_an_address_is_undeliverable(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    adapter = adapter_for(settings_for(mail), rest, redis, names)
    nowhere = OutgoingMessage(
        message_id=uuid.uuid4(), chat_id=channel_chat_number(Channel.EMAIL, "alice"),
        text="hi", channel=Channel.EMAIL, channel_chat_id="alice",
    )  # fmt: skip
    with pytest.raises(Undeliverable, match="without an address"):
        await adapter.send(nowhere)


# -- refusals (last: a refused login makes Dovecot slow down the logins after it) ----------


def test_smtp_refusals_are_told_apart_try_later_or_never(mail: MailServers) -> None:
    ours = compose(Outgoing(SECRETARY, ALICE, "Hi", "hi", "<r@example.test>"))
    submission = ServerUrl.parse(mail.submissions_url(), "smtp")
    with pytest.raises(Undeliverable, match=r"smtp 553.*not owned by user"):
        send_mail(submission, ours, BOB, ALICE)  # EMAIL_FROM is not the account's address
    with pytest.raises(RetryLater, match=r"smtp 450.*Mailbox busy"):
        send_mail(ServerUrl.parse(mail.smtp_url, "smtp"), ours, SECRETARY, BUSY)
    # Last, as in the module: a failed login makes Dovecot slow down the next ones.
    with pytest.raises(RetryLater, match="smtp login refused: 535"):
        send_mail(ServerUrl.parse(mail.submissions_url(password="wrong"), "smtp"), ours,
                  SECRETARY, ALICE)  # fmt: skip
    assert mail.messages("alice") == []


async def test_a_refused_login_or_a_from_that_is_no_address_fails_the_start_and_stop_is_clean(
    mail: MailServers, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    refused = adapter_for(
        settings_for(mail, email_imap_url=mail.imaps_url(password="wrong")), rest, redis, names
    )
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        await refused.start()
    await refused.stop()
    nameless = adapter_for(settings_for(mail, email_from="Secretary"), rest, redis, names)
    with pytest.raises(ValueError, match="EMAIL_FROM is not an address"):
        await nameless.start()
    await nameless.stop()
