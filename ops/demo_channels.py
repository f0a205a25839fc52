"""The demo's people in WhatsApp, Slack and e-mail: the terminal says something there
(`/whatsapp TEXT`, `/slack TEXT`, `/email TEXT`) and prints what the secretary answered there.
WhatsApp's and Slack's stand-ins deliver signed webhooks to the channels service as the
platforms do; the e-mail is a real mail to the secretary's mailbox on private Dovecot and
Postfix servers (sandbox/mail_servers.py), answered by a mail in yours."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sandbox import slack_events
from sandbox import whatsapp_api as wa
from sandbox.mail_servers import MailServers
from sandbox.slack_api import SlackStandIn
from sandbox.whatsapp_api import WhatsAppStandIn

#: Who the terminal is in WhatsApp and in Slack.
WHATSAPP_NUMBER = "4915112345678"
SLACK_USER, SLACK_DM = "U0DEMOUSER", "D0DEMOCHAT"
#: Who the terminal is in e-mail, and the secretary's mailbox (users of sandbox/mail_servers).
EMAIL_USER, EMAIL_SECRETARY = "alice", "secretary"
#: After the first answer, how long to wait for more (a long answer in several messages).
SETTLE_S = 0.5

Run = Callable[[Awaitable[Any]], Any]


def _answers(shown: Callable[[], list[str]], before: int, timeout: float) -> list[str]:
    """What was shown past the first `before`, once the first has come and more stop coming."""
    deadline = time.monotonic() + timeout
    while len(shown()) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = len(shown())
    while time.monotonic() < deadline:
        time.sleep(SETTLE_S)
        if len(shown()) == seen:
            break
        seen = len(shown())
    return shown()[before:]


class WhatsAppUser:
    def __init__(self, api: WhatsAppStandIn, run: Run) -> None:
        self.api = api
        self._run = run

    def _shown(self) -> list[str]:
        return [m.text for m in self.api.sent_to(WHATSAPP_NUMBER)]

    def say(self, text: str, timeout: float) -> list[str]:
        before = len(self._shown())
        self._run(self.api.deliver(self.api.message(WHATSAPP_NUMBER, "You", wa.text(text))))
        return _answers(self._shown, before, timeout)


class SlackUser:
    def __init__(self, api: SlackStandIn, run: Run, events_url: str) -> None:
        self.api = api
        self._run = run
        self._url = events_url

    def _shown(self) -> list[str]:
        return ["\n".join(p.sections) for p in self.api.posted_to(SLACK_DM)]

    def say(self, text: str, timeout: float) -> list[str]:
        before = len(self._shown())
        event = slack_events.direct_message(SLACK_USER, SLACK_DM, text)
        self._run(self.api.deliver_event(self._url, slack_events.envelope(event)))
        return _answers(self._shown, before, timeout)


class EmailUser:
    """You, writing to the secretary's mailbox; its answers arrive in your inbox."""

    def __init__(self, mail: MailServers) -> None:
        self.mail = mail
        self._subject = "Hello"

    @staticmethod
    def settings(mail: MailServers) -> dict[str, str]:
        """The channels service's e-mail settings: the secretary's mailbox, only you allowed."""
        return {
            "EMAIL_IMAP_URL": mail.imap_url(EMAIL_SECRETARY),
            "EMAIL_SMTP_URL": mail.smtp_url,
            "EMAIL_FROM": f"Secretary <{mail.address(EMAIL_SECRETARY)}>",
            "EMAIL_ALLOWED_SENDERS": mail.address(EMAIL_USER),
        }

    def _shown(self) -> list[str]:
        return [_plain_text(raw) for _, raw in self.mail.messages(EMAIL_USER)]

    def say(self, text: str, timeout: float) -> list[str]:
        before = len(self._shown())
        message = EmailMessage()
        message["From"] = f"You <{self.mail.address(EMAIL_USER)}>"
        message["To"] = self.mail.address(EMAIL_SECRETARY)
        message["Subject"] = self._subject
        message["Message-ID"] = make_msgid(domain="example.test")
        message.set_content(text)
        self.mail.submit(
            message.as_bytes(),
            self.mail.address(EMAIL_USER),
            self.mail.address(EMAIL_SECRETARY),
        )
        return _answers(self._shown, before, timeout)


def _plain_text(raw: bytes) -> str:
    """A mail's plain-text part (what a mail program shows without HTML)."""
    message = message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    return str(body.get_content()).strip() if body is not None else ""
