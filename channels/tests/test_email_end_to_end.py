"""The e-mail channel with every service a real process and real mail servers (Dovecot for
IMAP, Postfix for SMTP, `mail_servers.py`): a mail in is answered by a mail in the sender's
inbox, in its thread; a document reaches the assistant; a reminder made by mail arrives by
mail; robots' mail and strangers' mail are not answered; a restart of the channels service
in the middle of a turn answers the mail once."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
import redis

from channels.src.adapters.email.composing import Outgoing, compose
from channels.src.adapters.email.servers import Mailbox, ServerUrl, send_mail
from channels.tests.mail_servers import MailServers, free_port, mail_servers
from common.infrastructure.errors import RetryLater, Undeliverable
from sandbox.llm_server import Step
from tests.harness import MigratedDatabases
from tests.system import System, running_system
from tests.waiting import until_sync

pytestmark = [pytest.mark.timeout(240)]

SECRETARY = MailServers.address("secretary")
ALICE = MailServers.address("alice")
BOB = MailServers.address("bob")
STRANGER = MailServers.address("stranger")


@pytest.fixture(scope="module")
def mail() -> Iterator[MailServers]:
    with mail_servers() as servers:
        yield servers


@pytest.fixture(scope="module")
def system(
    mail: MailServers,
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    prefix = f"{session_prefix}email-{uuid.uuid4().hex[:6]}:"
    workdir = tmp_path_factory.mktemp("email")
    extra = {
        "channels": {
            "EMAIL_IMAP_URL": mail.imap_url("secretary"),
            "EMAIL_SMTP_URL": mail.smtp_url,
            "EMAIL_FROM": f"Secretary <{SECRETARY}>",
            "EMAIL_ALLOWED_SENDERS": f"{ALICE}, {BOB}",
            "EMAIL_POLL_SECONDS": "5",
        }
    }
    with running_system(
        migrated_databases, redis_url, prefix, secrets, workdir, extra_env=extra
    ) as running:
        yield running


@pytest.fixture
def fresh(system: System, mail: MailServers) -> System:
    system.llm.reset()
    mail.clear()
    return system


def written(
    sender: str, text: str, subject: str = "Lunch", **headers: str
) -> tuple[EmailMessage, str]:
    message = EmailMessage()
    message["From"] = f"Alice Example <{sender}>"
    message["To"] = SECRETARY
    message["Subject"] = subject
    message_id = f"<{uuid.uuid4().hex}@{sender.rpartition('@')[2]}>"
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message, message_id


def send(mail: MailServers, message: EmailMessage, sender: str = ALICE) -> None:
    mail.submit(message.as_bytes(), sender, SECRETARY)


def read(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    return plain.get_content(), rich.get_content()


def seen_all(mail: MailServers) -> bool:
    flags = mail.flags("secretary")
    return bool(flags) and all(b"\\Seen" in f for f in flags)


def answered(mail: MailServers) -> bool:
    return any(b"\\Answered" in flags for flags in mail.flags("secretary"))


def test_a_mail_is_answered_in_its_thread_with_both_parts_and_nothing_quoted(
    fresh: System, mail: MailServers
) -> None:
    fresh.llm.reply("**Yes**, lunch at 12:30 works. See [the menu](https://example.com/menu).")
    earlier = "<root-of-the-thread@example.test>"
    message, message_id = written(
        ALICE,
        "Can we have lunch at 12:30?\n\nOn Mon, 1 Jun 2026, Bob <b@example.test> wrote:\n"
        "> an old secret line\n",
        subject="Re: Lunch plans",
        References=earlier,
        In_Reply_To=earlier,
    )
    send(mail, message)

    (raw,) = mail.wait_for("alice", 1)
    answer = read(raw)
    assert answer["Subject"] == "Re: Lunch plans"
    assert answer["In-Reply-To"] == message_id
    assert answer["References"].split() == [earlier, message_id]
    assert answer["Auto-Submitted"] == "auto-replied"
    assert SECRETARY in answer["From"]
    plain, rich = parts(answer)
    assert "Yes, lunch at 12:30 works. See the menu (https://example.com/menu)." in plain
    assert "<strong>Yes</strong>" in rich and 'href="https://example.com/menu"' in rich
    assert "old secret line" not in plain + rich
    (asked,) = fresh.llm.requests
    said = json.dumps(asked.messages)
    assert "Can we have lunch at 12:30?" in said and "old secret line" not in said
    until_sync(lambda: answered(mail), 20, "the mail flagged answered")


def test_a_document_attached_to_a_mail_reaches_the_assistant(
    fresh: System, mail: MailServers
) -> None:
    fresh.llm.reply("The notes say the meeting moved to Friday.")
    message, _ = written(ALICE, "What do my notes say?", subject="Notes")
    message.add_attachment(
        b"The meeting moved to Friday, room 4.", maintype="text", subtype="plain",
        filename="notes.txt",
    )  # fmt: skip
    send(mail, message)

    (raw,) = mail.wait_for("alice", 1)
    assert "moved to Friday" in parts(read(raw))[0]
    said = json.dumps(fresh.llm.requests[0].messages)
    assert "room 4" in said


def test_a_reminder_made_by_mail_arrives_by_mail_with_a_subject_of_its_own(
    fresh: System, mail: MailServers
) -> None:
    due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    fresh.llm.call(
        "reminder", {"action": "create", "text": "water the plants", "when": due.isoformat()}
    )
    fresh.llm.reply("I'll remind you to water the plants.")
    message, _ = written(ALICE, "Remind me to water the plants in a moment", subject="Plants")
    send(mail, message)

    raws = mail.wait_for("alice", 2, timeout=90)
    mails = [read(raw) for raw in raws]
    reply = next(m for m in mails if m["In-Reply-To"])
    reminder = next(m for m in mails if not m["In-Reply-To"])
    assert reply["Subject"] == "Re: Plants"
    assert "water the plants" in reminder["Subject"] and not reminder["Subject"].startswith("Re:")
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert "water the plants" in parts(reminder)[0]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.example.test>"},
        {"X_Autoreply": "yes"},
    ],
    ids=["auto-reply", "bulk", "list", "x-autoreply"],
)
def test_a_robots_mail_is_marked_seen_and_not_answered(
    fresh: System, mail: MailServers, headers: dict[str, str]
) -> None:
    message, _ = written(ALICE, "I am out of office until Monday.", **headers)
    send(mail, message)
    until_sync(lambda: seen_all(mail), 30, "the robot's mail marked seen")
    assert fresh.llm.requests == []
    assert mail.messages("alice") == []
    assert not answered(mail)


def test_a_bounce_and_a_stranger_are_not_answered_and_the_strangers_mail_stays_unread(
    fresh: System, mail: MailServers
) -> None:
    stranger, _ = written(STRANGER, "Hello, may I ask you something?")
    send(mail, stranger, STRANGER)
    mail.wait_for("secretary", 1)  # delivered in this order (Postfix may reorder a burst)
    bounce, _ = written("mailer-daemon@example.test", "Delivery failed")
    send(mail, bounce, "")
    mail.wait_for("secretary", 2)
    # A mail from an allowed sender after both: once it is answered, both were looked at.
    fresh.llm.reply("Answered Bob.")
    later, _ = written(BOB, "And me?")
    send(mail, later, BOB)
    mail.wait_for("bob", 1)

    assert mail.messages("stranger") == [] and mail.messages("alice") == []
    assert len(fresh.llm.requests) == 1
    flags = mail.flags("secretary")
    assert len(flags) == 3
    assert b"\\Seen" not in flags[0], "a stranger's mail is left for a person to read"
    assert b"\\Seen" in flags[1] and b"\\Answered" not in flags[1]


def test_a_restart_of_channels_in_the_middle_of_a_turn_answers_the_mail_once(
    fresh: System, mail: MailServers, redis_url: str
) -> None:
    fresh.llm.script(Step(text="Answered once, after the restart.", delay=6.0))
    message, _ = written(ALICE, "Are you still there?", subject="Restart")
    send(mail, message)
    until_sync(lambda: fresh.llm.requests or None, 30, "the mail queued and being answered")

    channels = fresh.stack["channels"]
    channels.stop()
    # The mail read again from scratch: unseen once more and the place in the mailbox lost.
    client = mail.imap("secretary")
    client.uid("STORE", "1:*", "-FLAGS.SILENT", "(\\Seen)")
    client.logout()
    with redis.Redis.from_url(redis_url) as client_redis:
        client_redis.delete(fresh.names.email_cursor(SECRETARY))
    fresh.stack.restart("channels")

    (raw,) = mail.wait_for("alice", 1, timeout=60)
    assert "Answered once" in parts(read(raw))[0]
    until_sync(lambda: answered(mail), 20, "the mail flagged answered")
    until_sync(
        lambda: "channel_message_duplicate" in channels.logs() or None,
        30,
        "the mail read again and recognised",
    )
    assert len(mail.messages("alice")) == 1
    assert len(fresh.llm.requests) == 1


def test_a_reply_that_says_a_buttons_label_presses_it(fresh: System, mail: MailServers) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    fresh.llm.call("reminder", {"action": "create", "text": "call mum", "when": later.isoformat()})
    fresh.llm.reply("I'll remind you to call mum tomorrow.")
    message, first_id = written(ALICE, "Remind me to call mum tomorrow", subject="Mum")
    send(mail, message)
    (raw,) = mail.wait_for("alice", 1)
    confirmed = read(raw)
    plain, rich = parts(confirmed)
    assert "Reply with: ✖ Cancel" in plain and "<b>✖ Cancel</b>" in rich

    ours = confirmed["Message-ID"]
    reply, _ = written(
        ALICE,
        "cancel\n\nOn Tue, 24 Nov 2026 at 10:00, Secretary wrote:\n> Reply with: ✖ Cancel\n",
        subject="Re: Mum",
        In_Reply_To=ours,
        References=f"{first_id} {ours}",
    )
    send(mail, reply)
    raws = mail.wait_for("alice", 2)
    cancelled = next(read(r) for r in raws if read(r)["In-Reply-To"] != first_id)
    assert "Reminder cancelled." in parts(cancelled)[0]
    assert cancelled["Subject"] == "Re: Mum"
    assert len(fresh.llm.requests) == 2, "the press is the intake's, not the model's"


def test_smtp_refusals_are_dead_letters_and_an_unreachable_server_is_tried_again(
    mail: MailServers,
) -> None:
    ours = compose(Outgoing(SECRETARY, "x@elsewhere.test", "Hi", "hi", "<t1@example.test>"))
    smtp = ServerUrl.parse(mail.smtp_url, "smtp")
    with pytest.raises(Undeliverable, match="smtp 550"):
        send_mail(smtp, ours, SECRETARY, "x@elsewhere.test")
    nowhere = ServerUrl.parse(f"smtp://127.0.0.1:{free_port()}", "smtp")
    with pytest.raises(RetryLater):
        send_mail(nowhere, ours, SECRETARY, ALICE)


def test_idle_wakes_on_new_mail_and_without_idle_a_stop_ends_the_wait(mail: MailServers) -> None:
    mailbox = Mailbox(ServerUrl.parse(mail.imap_url("bob"), "imap"))
    mailbox.connect()
    try:
        assert mailbox.idle, "Dovecot has IDLE"
        waiting = threading.Thread(target=mailbox.wait, args=(3600, threading.Event()))
        waiting.start()
        message, _ = written(ALICE, "wake up")
        mail.submit(message.as_bytes(), ALICE, BOB)
        until_sync(lambda: not waiting.is_alive(), 30, "IDLE to hear the new mail")
        assert mailbox.new_uids(0)

        mailbox.idle = False
        stop = threading.Event()
        polling = threading.Thread(target=mailbox.wait, args=(3600, stop))
        polling.start()
        stop.set()
        until_sync(lambda: not polling.is_alive(), 10, "the poll's wait to end on stop")
    finally:
        mailbox.close()
        mail.clear()
