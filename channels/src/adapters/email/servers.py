"""The two mail servers, over the standard library's blocking clients (the adapter runs
them in a thread): the mailbox the secretary reads (IMAP, with IDLE where the server has
it) and the server it sends through (SMTP).

`imaplib` and `smtplib` are the mature, complete clients; the async ones on PyPI are thinner
and would add a dependency for what a thread does as well at one mailbox's pace."""

from __future__ import annotations

import contextlib
import imaplib
import re
import select
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.logging import get_logger

log = get_logger(__name__)

#: How long a server may take to answer one command.
TIMEOUT_S = 30.0
#: RFC 2177: a client re-issues IDLE at least every 29 minutes.
IDLE_RENEW_S = 25 * 60
_UID = re.compile(rb"UID (\d+)")


@dataclass(frozen=True)
class ServerUrl:
    """`imap[s]://user:pass@host:port/MAILBOX` or `smtp[s]://user:pass@host:port`."""

    secure: bool
    host: str
    port: int
    user: str
    password: str
    mailbox: str

    @classmethod
    def parse(cls, url: str, kind: str) -> ServerUrl:
        parts = urlsplit(url.strip())
        if parts.scheme not in (kind, f"{kind}s") or not parts.hostname:
            raise ValueError(f"not an {kind}:// or {kind}s:// URL")
        secure = parts.scheme.endswith("s")
        defaults = {"imap": (143, 993), "smtp": (587, 465)}[kind]
        return cls(
            secure=secure,
            host=parts.hostname,
            port=parts.port or defaults[secure],
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            mailbox=unquote(parts.path.strip("/")) or "INBOX",
        )


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes


class Mailbox:
    """One IMAP connection to the secretary's mailbox. Not thread-safe: one thread uses it."""

    def __init__(self, url: ServerUrl) -> None:
        self.url = url
        self._client: imaplib.IMAP4 | None = None
        self.uid_validity = 0
        self.idle = False

    def connect(self) -> None:
        """Logs in and selects the mailbox; raises what the server says when it refuses (and
        leaves no connection open: the loop tries again and again while it refuses)."""
        self.close()
        url = self.url
        if url.secure:
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                url.host, url.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_S
            )
        else:
            client = imaplib.IMAP4(url.host, url.port, timeout=TIMEOUT_S)
        try:
            self._log_in(client)
        except BaseException:
            with contextlib.suppress(OSError):
                client.shutdown()
            raise
        self._client = client

    def _log_in(self, client: imaplib.IMAP4) -> None:
        url = self.url
        if not url.secure and "STARTTLS" in client.capabilities:
            client.starttls(ssl.create_default_context())
        client.login(url.user, url.password)
        status, data = client.select(_quoted(url.mailbox))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot select {url.mailbox}: {data!r}")
        found = client.untagged_responses.get("UIDVALIDITY") or [b"0"]
        last = found[-1]
        self.uid_validity = int(last) if isinstance(last, bytes) and last.isdigit() else 0
        self.idle = "IDLE" in client.capabilities

    @property
    def client(self) -> imaplib.IMAP4:
        if self._client is None:
            self.connect()
        assert self._client is not None
        return self._client

    def new_uids(self, after: int) -> list[int]:
        """Unseen, unanswered messages with a UID above `after`, oldest first. A NOOP first:
        Dovecot brings a selected mailbox up to date after a command, not before it, so a
        SEARCH alone misses mail delivered since the last command (a poll late)."""
        self.client.noop()
        status, data = self.client.uid("SEARCH", f"UID {after + 1}:*", "UNSEEN", "UNANSWERED")
        if status != "OK":
            raise imaplib.IMAP4.error(f"search failed: {data!r}")
        found = data[0].split() if data and data[0] else []
        return sorted(uid for uid in (int(x) for x in found) if uid > after)

    def fetch(self, uid: int) -> Fetched | None:
        """The raw message, without marking it seen; None when it is gone."""
        status, data = self.client.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
        if status != "OK":
            return None
        for item in data:
            if isinstance(item, tuple) and _UID.search(item[0]):
                return Fetched(uid, item[1])
        return None

    def flag(self, uid: int, flag: str) -> None:
        self.client.uid("STORE", str(uid), "+FLAGS.SILENT", f"({flag})")

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Returns when the mailbox may have news (IDLE: the server said so) or after
        `seconds`, or soon after `stop` is set."""
        if not self.idle:
            stop.wait(seconds)
            return
        client = self.client
        tag = client._new_tag().decode()
        client.send(f"{tag} IDLE\r\n".encode())
        answer = client.readline()
        if not answer.startswith(b"+"):  # NO, BAD, or the BYE of a connection it dropped
            raise imaplib.IMAP4.abort(f"the server refused IDLE: {answer[:200]!r}")
        sock = client.sock
        deadline = time.monotonic() + min(seconds, IDLE_RENEW_S)
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
                if pending or select.select([sock], [], [], 0.5)[0]:
                    line = client.readline()
                    if not line:
                        raise imaplib.IMAP4.abort("the server closed the connection")
                    if b"EXISTS" in line or b"RECENT" in line:
                        break
        finally:
            client.send(b"DONE\r\n")
            while True:  # the rest of the untagged news, then IDLE's own answer
                line = client.readline()
                if not line or line.startswith(tag.encode()):
                    break

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):  # dropped already: the socket is let go of
            with contextlib.suppress(OSError):
                client.shutdown()


def _quoted(mailbox: str) -> str:
    return mailbox if mailbox.isalnum() else '"' + mailbox.replace('"', '\\"') + '"'


def send_mail(url: ServerUrl, message: EmailMessage, sender: str, to: str) -> None:
    """One mail through SMTP (STARTTLS when the server offers it). A temporary refusal
    (4xx) or a server that cannot be reached: `RetryLater`; a permanent refusal of the
    recipient or the mail (5xx): `Undeliverable`."""
    try:
        with _smtp(url) as smtp:
            # One recipient: its refusal raises SMTPRecipientsRefused, so none is returned.
            smtp.send_message(message, from_addr=sender, to_addrs=[to])
    except smtplib.SMTPRecipientsRefused as exc:
        code, reason = next(iter(exc.recipients.values()), (550, b""))
        raise _refusal(code, reason) from exc
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        raise _refusal(exc.smtp_code, exc.smtp_error) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise RetryLater(60.0, f"smtp login refused: {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, 421
        raise RetryLater(10.0, f"smtp: {type(exc).__name__}: {exc}"[:200]) from exc


def _refusal(code: int, reason: bytes | str) -> Exception:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
    if 400 <= code < 500:
        return RetryLater(30.0, f"smtp {code}: {text}"[:200])
    return Undeliverable(f"smtp {code}: {text}"[:200])


def _smtp(url: ServerUrl) -> smtplib.SMTP:
    """A connection ready to send; one the server refuses is closed, not left open."""
    context = ssl.create_default_context()
    if url.secure:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            url.host, url.port, timeout=TIMEOUT_S, context=context
        )
    else:
        smtp = smtplib.SMTP(url.host, url.port, timeout=TIMEOUT_S, local_hostname=_hostname())
    try:
        if not url.secure:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        if url.user:
            smtp.login(url.user, url.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def _hostname() -> str:
    return socket.getfqdn() or "localhost"
