"""Mail as it really arrives, at its edges: HTML-only replies whose quote is a block of the
mail client's own (Outlook on the web, Thunderbird), read receipts, parts that are neither
text nor file, empty attachments, headers and MIME trees the email package itself cannot
read; and our answers to addresses its strict reader refuses. Reading never raises and loses
no more than the broken part."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.src.adapters.email.adapter import allowed
from channels.src.adapters.email.composing import (
    Outgoing,
    button_lines,
    compose,
    notification_subject,
)
from channels.src.adapters.email.parsing import new_text, parse
from channels.src.adapters.email.text import html_to_text
from channels.tests.test_email_mail import corpus
from common.infrastructure.queue_messages import Button
from tests.tiers import examples

# -- HTML-only replies: the words above the client's quote block -------------------------------


def test_an_outlook_web_reply_in_html_only_loses_the_mail_it_quotes() -> None:
    mail = parse(corpus("outlook_web_html_reply.eml"))
    assert mail.text == "Take the 7:40 one, window seat if there is one."
    assert mail.thread_id == "<flight-1@example.org>" and mail.automatic is None


def test_a_thunderbird_reply_in_html_keeps_its_preformatted_line_breaks_and_loses_its_quote() -> (
    None
):
    mail = parse(corpus("thunderbird_html_reply.eml"))
    assert mail.text == "Donnerstag passt, aber erst nach 15 Uhr.\n\nPraxis Dr. Weiß\nRaum 2"
    assert mail.sender_name == "Dieter Krause"


def test_html_as_text_without_quotes_dropped_keeps_the_quote() -> None:
    html = "<p>new</p><blockquote><p>old</p></blockquote>"
    assert html_to_text(html) == "new\n\nold"
    assert html_to_text(html, drop_quotes=True) == "new"


def test_stray_list_items_and_links_read_as_a_person_would() -> None:
    assert html_to_text("<li>loose</li></ul><p>after</p>") == "- loose\n\nafter"
    linked = '<a href="mailto:a@e.org">write</a> <a href="https://e.org">https://e.org</a>'
    assert html_to_text(linked) == "write https://e.org", "no address twice, no mailto shown"


@pytest.mark.parametrize(
    "broken", ["<![ '-]<?]=x", "<![if !supportLists]-->x<![", "<!['-]"], ids=["ms", "if", "bare"]
)
def test_html_the_parser_refuses_keeps_the_words_before_it(broken: str) -> None:
    assert html_to_text(f"<p>See you at five.</p>{broken}").startswith("See you at five.")


_HTML_BITS = st.sampled_from(
    ["<p>", "</p>", "<li>", "</ul>", "<ol>", "<pre>", "</pre>", "<blockquote>", "<a href='x'>",
     "</a>", "<![", "<!--", "-->", "<?", "]>", "'", '"', "&#x", ";", "word", " ", "\n", "<br>",
     '<div class="gmail_quote">', "<script>", "</script>", "</"]
)  # fmt: skip


@settings(max_examples=examples(300), deadline=None)
@given(bits=st.lists(_HTML_BITS, max_size=25), drop=st.booleans())
def test_any_html_reads_as_text_without_raising(bits: list[str], drop: bool) -> None:
    text = html_to_text("".join(bits), drop_quotes=drop)
    assert "\n\n\n" not in text and text == text.strip()


# -- what a mail is and carries -----------------------------------------------------------------


def test_a_read_receipt_from_a_person_is_a_robots_mail() -> None:
    mail = parse(corpus("outlook_read_receipt.eml"))
    assert mail.sender == "bob@contoso.example"
    assert mail.automatic == "bounce: delivery report"


def test_another_rendering_of_the_text_and_an_empty_attachment_are_no_files() -> None:
    mail = parse(corpus("apple_watch_alternative.eml"))
    assert mail.text == "Here are the slides for Monday."
    assert [(f.mime_type, f.file_name) for f in mail.files] == [("application/pdf", "slides.pdf")]


def test_outlooks_plain_header_block_without_its_rule_ends_the_new_text() -> None:
    reply = "Fine by me.\n\nFrom: Secretary <s@example.org>\nSent: Monday\nTo: Bob\n\nold words"
    assert new_text(reply) == "Fine by me."


def test_a_from_the_email_package_cannot_read_is_nobody_to_answer() -> None:
    def sender(from_: str) -> tuple[str, str | None]:
        raw = f"From: {from_}\r\nMessage-ID: <m1@example.org>\r\n\r\nhello\r\n".encode()
        mail = parse(raw)
        assert (mail.text, mail.message_id) == ("hello", "<m1@example.org>")
        return mail.sender, mail.automatic

    assert sender("a\\@") == sender(":;(<)") == ("", "bounce: no sender")
    # An unclosed quote reads as a bare word: an address without a domain is nobody's either,
    # whatever the rule lists.
    assert sender('"Alice') == ("alice", None)
    assert not allowed("alice", "alice, @example.org")


def test_a_related_part_without_its_boundary_loses_its_text_but_not_the_files_beside_it() -> None:
    raw = (
        b"From: Alice <alice@example.org>\r\nMessage-ID: <broken@example.org>\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: multipart/related\r\n\r\n<p>lost words</p>\r\n--b\r\n"
        b"Content-Type: application/pdf; name=plan.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n"
    )
    mail = parse(raw)
    assert mail.sender == "alice@example.org" and mail.text == ""
    assert [(f.mime_type, f.file_name) for f in mail.files] == [("application/pdf", "plan.pdf")]


def _nested(depth: int) -> bytes:
    raw = b"From: Mallory <mallory@example.org>\r\nMessage-ID: <deep@example.org>\r\n"
    raw += b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
        for i in range(depth)
    )
    raw += b"Content-Type: text/plain\r\n\r\nhello from the bottom\r\n"
    return raw + b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))


def test_mime_nested_deeper_than_the_email_package_recurses_is_read_by_its_headers() -> None:
    mail = parse(_nested(3000))
    assert (mail.sender, mail.message_id) == ("mallory@example.org", "<deep@example.org>")
    assert mail.text == "" and mail.files == []
    assert parse(_nested(20)).text == "hello from the bottom"


# -- our answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "to", ["jörg@example.org", "alice@example.org."], ids=["utf8-local-part", "trailing-dot"]
)
def test_an_answer_to_an_address_the_strict_reader_refuses_is_still_written(to: str) -> None:
    composed = compose(Outgoing("sec@example.org", to, "Re: hi", "Done.", "<o@example.org>"))
    # As smtplib writes a mail to an address that is not ASCII (SMTPUTF8).
    written = composed.as_bytes(policy=policy.SMTPUTF8)
    assert f"To: {to}\r\n".encode() in written
    read = BytesParser(policy=policy.SMTPUTF8).parsebytes(written)
    assert isinstance(read, EmailMessage)
    plain = read.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().strip() == "Done."


def test_a_long_reminder_subject_is_cut_at_a_word_with_an_ellipsis() -> None:
    words = "Call the insurance about the broken window and ask whether the glazier can come"
    subject = notification_subject(f"{words} on Thursday morning\n\nmore")
    assert len(subject) <= 78 and subject.endswith("…")
    assert subject.startswith("Call the insurance") and "\n" not in subject


def test_a_link_button_that_is_not_a_web_address_is_written_out_not_linked() -> None:
    plain, rich = button_lines([Button(text="Call us", url="tel:+4930123456")])
    assert plain == "Call us: tel:+4930123456"
    assert rich == "<p>Call us: tel:+4930123456</p>" and "href" not in rich
