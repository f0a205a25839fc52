"""Reading a mail and writing ours: a corpus of real-shaped mails (Gmail, Outlook and Apple
Mail replies with their quotes, HTML only, attachments, other charsets, no Message-ID,
bounces), the loop rules, and our answers' headers and parts; and, over any headers and
bodies, that reading never raises and writing always makes a mail that reads back."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.src.adapters.buttons import pressed_button
from channels.src.adapters.email.adapter import allowed, thread_key
from channels.src.adapters.email.composing import (
    REFERENCES_KEPT,
    Outgoing,
    compose,
    kept_references,
    notification_subject,
    reply_subject,
)
from channels.src.adapters.email.parsing import automatic, new_text, parse, stable_id
from channels.src.adapters.email.servers import ServerUrl
from channels.src.adapters.email.text import html_to_text, markdown_to_text
from channels.src.adapters.files import attachment_kind
from common.infrastructure.queue_messages import AttachmentKind, Button
from tests.tiers import examples

CORPUS = Path(__file__).parent / "email_corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_a_gmail_reply_is_its_new_lines_in_the_thread_of_its_first_reference() -> None:
    mail = parse(corpus("gmail_reply.eml"))
    assert mail.text == "Yes, book the table for 8 pm please.\nAnd remind me on Friday at 6."
    assert mail.message_id == "<CAF=xyz789+Q@mail.gmail.com>"
    assert mail.sender == "alice.example@gmail.com" and mail.sender_name == "Alice Example"
    assert mail.thread_id == "<first-mail@example.org>"
    assert mail.references == [
        "<first-mail@example.org>", "<CAF=abc123@mail.gmail.com>", "<answer-1@example.org>",
        "<CAF=xyz789+Q@mail.gmail.com>",
    ]  # fmt: skip
    assert mail.subject == "Re: Dinner on Friday" and mail.automatic is None and not mail.files


def test_an_outlook_reply_loses_its_header_block_and_reads_its_charset() -> None:
    mail = parse(corpus("outlook_reply.eml"))
    assert mail.text == "Move it to 11:00, café downstairs.\n\nBob"
    assert mail.thread_id == "<meeting-1@example.org>"
    assert mail.sender == "bob@contoso.example"


def test_an_apple_mail_reply_loses_its_quoted_lines() -> None:
    mail = parse(corpus("apple_mail_reply.eml"))
    assert mail.text == "What terminal does it leave from? 🛫"
    assert mail.message_id == "<9A8B7C6D-5E4F-3A2B-1C0D-E9F8A7B6C5D4@icloud.example>"


def test_an_html_only_mail_is_read_as_text_without_its_styles_and_scripts() -> None:
    mail = parse(corpus("html_only.eml"))
    assert mail.text == (
        "Hello,\n\nwhat is the weather in Szeged (https://maps.example/szeged) tomorrow?\n\n"
        "- morning\n- evening"
    )
    assert mail.subject == "Kérdés" and mail.sender_name == "Dénes Gábor"
    assert mail.thread_id == mail.message_id == "<html-only-1@example.hu>"


def test_attachments_are_files_with_their_types_and_names() -> None:
    mail = parse(corpus("with_attachments.eml"))
    assert mail.text == "Please read the contract and my voice note."
    found = [(f.mime_type, f.file_name) for f in mail.files]
    assert found == [
        ("application/pdf", "contract.pdf"), ("audio/ogg", "note.ogg"), ("image/png", "photo.png")
    ]  # fmt: skip
    assert mail.files[0].data.startswith(b"%PDF-1.4")
    kinds = [attachment_kind(f.mime_type) for f in mail.files]
    assert kinds == [AttachmentKind.DOCUMENT, AttachmentKind.VOICE, AttachmentKind.PHOTO]
    assert attachment_kind("audio/mpeg") is AttachmentKind.AUDIO


def test_a_mail_in_windows_1251_without_a_message_id_gets_a_stable_one() -> None:
    raw = corpus("cp1251_no_message_id.eml")
    mail = parse(raw)
    assert mail.text == "Привет! Когда встреча?"
    assert mail.subject == "Привет" and mail.sender_name == "Иван"
    assert mail.message_id == stable_id(raw) == parse(raw).message_id
    assert mail.thread_id == mail.message_id


def test_an_unknown_charset_is_read_rather_than_refused() -> None:
    assert parse(corpus("unknown_charset.eml")).text == "plain words"


def test_a_bounce_is_a_robots_mail() -> None:
    assert parse(corpus("bounce.eml")).automatic is not None


def _headers(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alice@example.org"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("hi")
    return message


ROBOT_IDS = [
    "auto-replied", "auto-generated", "bulk", "list", "junk", "list-id", "list-unsubscribe",
    "x-autoreply", "null-return-path",
]  # fmt: skip


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"Precedence": "junk"},
        {"List_Id": "<team.example.org>"},
        {"List_Unsubscribe": "<mailto:leave@example.org>"},
        {"X_Autoreply": "yes"},
        {"Return_Path": "<>"},
    ],
    ids=ROBOT_IDS,
)
def test_robots_mail_is_recognised(headers: dict[str, str]) -> None:
    assert automatic(_headers(**headers), "alice@example.org") is not None


def test_a_persons_mail_and_our_own_are_told_apart() -> None:
    person = _headers(Auto_Submitted="no", Precedence="first-class", Return_Path="<a@b.org>")
    assert automatic(person, "alice@example.org") is None
    assert automatic(_headers(), "mailer-daemon@example.org") is not None
    assert automatic(_headers(), "me@example.org", own_address="Me@Example.org") is not None


def test_quotes_signatures_and_wrapped_attributions_are_cut() -> None:
    assert new_text("ok\n\n-- \nAlice\nCEO") == "ok"
    assert new_text("fine\nLe mar. 24 nov. 2026, Bob a écrit :\n> x") == "fine"
    assert new_text("yes\nAm 24.11.2026 um 10:00 schrieb Bob <b@x.de>:\n> x") == "yes"
    assert new_text("one\n> quoted\ntwo") == "one\ntwo"
    assert new_text("From: is how I start\nthis line") == "From: is how I start\nthis line"


def test_senders_are_allowed_by_address_or_domain_and_nobody_by_default() -> None:
    rule = "Alice@Example.org, @partner.example"
    assert allowed("alice@example.org", rule)
    assert allowed("anyone@partner.example", rule)
    assert not allowed("anyone@sub.partner.example", rule)
    assert not allowed("alice@example.org.evil", rule)
    assert not allowed("bob@example.org", rule)
    assert not allowed("alice@example.org", "")


def test_a_reply_that_says_a_buttons_label_presses_it() -> None:
    buttons = [{"text": "Yes", "data": "1:cy:abc:"}, {"text": "No", "data": "1:cn:abc:"}]
    assert pressed_button(" yes. ", buttons) == buttons[0]
    assert pressed_button("No!", buttons) == buttons[1]
    assert pressed_button("yes please", buttons) is None
    assert pressed_button("", buttons) is None
    assert pressed_button("Cancel", [{"text": "✖ Cancel", "data": "1:cx:j:"}]) is not None


def test_an_answer_is_a_threaded_mail_with_both_parts_and_nothing_quoted() -> None:
    composed = compose(
        Outgoing(
            sender="Secretary <sec@example.org>", to="alice@example.org",
            subject=reply_subject("RE: Re: Dinner"), markdown="**Booked** for `8 pm`.\n\n- a\n- b",
            message_id="<ours@example.org>", in_reply_to="<theirs@example.org>",
            references=["<root@example.org>", "<theirs@example.org>"],
            buttons=[Button(text="Yes", data="1:cy:abc:"), Button(text="No", data="1:cn:abc:"),
                     Button(text="Open", url="https://example.org/x")],
        )
    )  # fmt: skip
    mail = BytesParser(policy=policy.default).parsebytes(composed.as_bytes())
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "Re: Dinner"
    assert mail["In-Reply-To"] == "<theirs@example.org>"
    assert mail["References"] == "<root@example.org> <theirs@example.org>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["From"] == "Secretary <sec@example.org>"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    assert plain.get_content().strip() == (
        "Booked for 8 pm.\n\n- a\n- b\n\nReply with: Yes / No\nOpen: https://example.org/x"
    )
    html = rich.get_content()
    assert "<strong>Booked</strong>" in html and "<code>8 pm</code>" in html
    assert 'href="https://example.org/x"' in html and "Reply with: <b>Yes</b> / <b>No</b>" in html


def test_raw_html_in_an_answer_stays_text() -> None:
    composed = compose(Outgoing("s@example.org", "a@example.org", "x", "<script>x</script>",
                                "<i@example.org>"))  # fmt: skip
    rich = composed.get_body(preferencelist=("html",))
    assert rich is not None and "<script>" not in rich.get_content()


def test_subjects_references_and_thread_keys() -> None:
    assert reply_subject("") == "Re: your message"
    assert reply_subject("AW: Sv: Plan") == "Re: Plan"
    assert notification_subject("⏰ **Water** the plants\n\nmore") == "⏰ Water the plants"
    chain = [f"<{n}@x>" for n in range(50)]
    kept = kept_references(chain)
    assert len(kept) == REFERENCES_KEPT and kept[0] == "<0@x>" and kept[-1] == "<49@x>"
    assert thread_key("A@x.org", "<r@x>") == thread_key("a@x.org", "<r@x>")


def test_server_urls_carry_the_account_and_defaults() -> None:
    url = "imaps://me%40example.org:p%3Ass@imap.example.org/Secretary"  # secret-scan: example
    imap = ServerUrl.parse(url, "imap")
    assert (imap.secure, imap.host, imap.port) == (True, "imap.example.org", 993)
    assert (imap.user, imap.password, imap.mailbox) == ("me@example.org", "p:ss", "Secretary")
    smtp = ServerUrl.parse("smtp://mail.example.org", "smtp")
    assert (smtp.secure, smtp.port, smtp.user, smtp.mailbox) == (False, 587, "", "INBOX")
    with pytest.raises(ValueError):
        ServerUrl.parse("https://example.org", "imap")


def test_html_as_text_keeps_words_and_links() -> None:
    assert html_to_text("<p>a<br>b</p><ol><li>x</li><li>y</li></ol>") == "a\nb\n\n1. x\n2. y"
    assert markdown_to_text("[site](https://e.org) and <b>raw</b>") == (
        "site (https://e.org) and <b>raw</b>"
    )


_HEADER_NAMES = st.sampled_from(
    ["From", "Subject", "Message-ID", "References", "In-Reply-To", "Auto-Submitted",
     "Precedence", "List-Id", "Return-Path", "Content-Type", "Content-Transfer-Encoding",
     "X-Autoreply"]
)  # fmt: skip
_HEADER_VALUES = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"), max_size=80
)


@settings(max_examples=examples(300), deadline=None)
@given(
    headers=st.lists(st.tuples(_HEADER_NAMES, _HEADER_VALUES), max_size=8),
    body=st.binary(max_size=400),
)
def test_any_headers_and_body_are_read_without_raising(
    headers: list[tuple[str, str]], body: bytes
) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("utf-8")
    mail = parse(head + b"\r\n" + body)
    assert mail.message_id.startswith("<") and mail.thread_id.startswith("<")
    assert mail.references[-1] == mail.message_id or mail.message_id in mail.references
    assert "\x00" not in mail.sender


_LABELS = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=20)


@settings(max_examples=examples(200), deadline=None)
@given(
    markdown=st.text(max_size=300),
    subject=_HEADER_VALUES,
    labels=st.lists(_LABELS, max_size=3),
)
def test_any_answer_makes_a_mail_that_reads_back_with_its_words(
    markdown: str, subject: str, labels: list[str]
) -> None:
    composed = compose(
        Outgoing("sec@example.org", "alice@example.org", reply_subject(subject), markdown,
                 "<ours@example.org>", in_reply_to="<theirs@example.org>",
                 references=["<theirs@example.org>"],
                 buttons=[Button(text=label, data="1:cy:abc:") for label in labels])
    )  # fmt: skip
    mail = BytesParser(policy=policy.default).parsebytes(composed.as_bytes())
    assert isinstance(mail, EmailMessage)
    assert mail["In-Reply-To"] == "<theirs@example.org>"
    assert str(mail["Subject"]).startswith("Re: ")
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None and mail.get_body(preferencelist=("html",)) is not None
    if labels:
        assert "Reply with: " in plain.get_content()
