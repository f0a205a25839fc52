"""The e-mail channel: the secretary reads a mailbox (IMAP) and answers by mail (SMTP).

Reading: new mail (unseen, unanswered, after the last UID handled) is parsed; a robot's mail
(auto-replies, bounces, lists, our own) is marked seen and left, a sender who is not allowed
is left alone (unread, logged), anyone else's goes through the intake, then is marked seen.
The place in the mailbox is kept in Redis and moves after each mail, so a restart reads on
from there, and the intake's mark keeps a mail read twice from being queued twice.

Answering: a reply in the person's thread (`Re:` its subject, In-Reply-To and References),
both parts, nothing quoted; a reminder is a mail of its own. The person's mail is flagged
`\\Answered` only once our answer went out by SMTP. Buttons cannot be pressed in a mail:
the mail lists them ("Reply with: Yes / No") and a reply that says exactly a label presses
it."""

from __future__ import annotations

import asyncio
import hashlib
import imaplib
import json
import threading
from email.utils import parseaddr
from typing import ClassVar

from channels.src.adapters.base import Adapter, AdapterContext
from channels.src.adapters.buttons import pressed_button
from channels.src.adapters.email.composing import (
    Outgoing,
    compose,
    notification_subject,
    reply_subject,
)
from channels.src.adapters.email.parsing import Mail, MailFile, parse
from channels.src.adapters.email.servers import Mailbox, ServerUrl, send_mail
from channels.src.adapters.files import attachment_kind
from channels.src.intake import SEEN_TTL_SECONDS, Inbound, Received
from common.features.blobs import BlobStore
from common.infrastructure.channels import Channel
from common.infrastructure.errors import Undeliverable
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    Attachment,
    Button,
    OutgoingKind,
    OutgoingMessage,
    channel_message_uuid,
)

log = get_logger(__name__)

#: How long a thread's subject, chain and buttons are kept after its last mail.
THREAD_TTL_S = 90 * 24 * 3600
#: After the mailbox failed, the next try waits this long (doubling up to the poll interval).
RETRY_FIRST_S = 1.0
_MAIL_ERRORS = (OSError, imaplib.IMAP4.error, EOFError)


def allowed(sender: str, rule: str) -> bool:
    """Whether EMAIL_ALLOWED_SENDERS (addresses or `@domain`s, comma-separated) lets the
    sender's mail be answered; an empty rule lets nobody's."""
    sender = sender.strip().lower()
    if "@" not in sender:
        return False
    domain = "@" + sender.rpartition("@")[2]
    for entry in rule.split(","):
        entry = entry.strip().lower()
        if entry and entry in (sender, domain):
            return True
    return False


class EmailAdapter(Adapter):
    channel: ClassVar[Channel] = Channel.EMAIL

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.account = parseaddr(settings.email_from)[1].strip().lower()
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._reader: Mailbox | None = None
        self._imap: ServerUrl | None = None
        self._blobs = BlobStore(context.redis, context.names)

    def _urls(self) -> tuple[ServerUrl, ServerUrl]:
        settings = self.context.settings
        imap = ServerUrl.parse(settings.email_imap_url.get_secret_value(), "imap")
        smtp = ServerUrl.parse(settings.email_smtp_url.get_secret_value(), "smtp")
        return imap, smtp

    async def start(self) -> None:
        """Logs in to the mailbox once (a refused login fails the channel), then reads it."""
        imap, _ = self._urls()
        if "@" not in self.account:
            raise ValueError("EMAIL_FROM is not an address")
        self._reader, self._imap = Mailbox(imap), imap
        await asyncio.to_thread(self._reader.connect)
        self._task = asyncio.create_task(self._read(), name="email-mailbox")

    async def stop(self) -> None:
        """Ends the loop at its next step (a wait ends within half a second of the stop) and
        then closes the mailbox: cancelled, the loop's thread would go on using the
        connection while `close` logs out on it (one's answer read by the other, then a
        30-second wait for the one that never comes)."""
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._reader is not None:
            await asyncio.to_thread(self._reader.close)

    # --- reading --------------------------------------------------------------------------

    async def _read(self) -> None:
        settings = self.context.settings
        reader = self._reader
        assert reader is not None
        pause = RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                await self.check()
                reader.idle = reader.idle and settings.email_idle
                self.trouble = None
                await asyncio.to_thread(reader.wait, settings.email_poll_seconds, self._stop)
                pause = RETRY_FIRST_S
            except Exception as exc:  # the mailbox, rest_service or Redis: try again later
                error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("email_mailbox_failed", error=error)
                self.trouble = f"mail cannot be read now, trying again: {error}"
                await asyncio.to_thread(reader.close)
                await asyncio.to_thread(self._stop.wait, pause)
                pause = min(pause * 2, settings.email_poll_seconds)

    async def check(self) -> None:
        """Takes in every new mail, oldest first, moving the cursor after each."""
        reader = self._reader
        assert reader is not None
        await asyncio.to_thread(lambda: reader.client)  # (re)connects after a failure
        cursor = self.context.names.email_cursor(self.account)
        stored = _text(await self.context.redis.get(cursor))
        validity, _, last = stored.partition(":")
        after = int(last) if validity == str(reader.uid_validity) and last.isdigit() else 0
        for uid in await asyncio.to_thread(reader.new_uids, after):
            fetched = await asyncio.to_thread(reader.fetch, uid)
            if fetched is not None:
                await self._take(uid, fetched.raw)
            await self.context.redis.set(cursor, f"{reader.uid_validity}:{uid}")

    async def _take(self, uid: int, raw: bytes) -> None:
        reader = self._reader
        assert reader is not None
        mail = parse(raw, own_address=self.account)
        if mail.automatic is not None:
            log.info("email_automatic_left", reason=mail.automatic, uid=uid)
            await asyncio.to_thread(reader.flag, uid, "\\Seen")
            return
        if not allowed(mail.sender, self.context.settings.email_allowed_senders):
            log.info("email_sender_not_allowed", sender_domain=mail.sender.rpartition("@")[2])
            return
        queued_id = channel_message_uuid(Channel.EMAIL, self.account, mail.message_id)
        redis, names = self.context.redis, self.context.names
        await redis.hset(
            names.email_mail(str(queued_id)),
            mapping={"uid": uid, "uidvalidity": reader.uid_validity},
        )
        await redis.expire(names.email_mail(str(queued_id)), SEEN_TTL_SECONDS)
        thread = names.email_thread(thread_key(mail.sender, mail.thread_id))
        await redis.hsetnx(thread, "subject", mail.subject)
        await redis.hset(thread, "references", json.dumps(mail.references))
        await redis.expire(thread, THREAD_TTL_S)
        received = await self._receive(mail, thread)
        log.info("email_received", uid=uid, outcome=received.value)
        await asyncio.to_thread(reader.flag, uid, "\\Seen")

    async def _receive(self, mail: Mail, thread: str) -> Received:
        inbound = Inbound(
            channel=Channel.EMAIL,
            account=self.account,
            message_id=mail.message_id,
            chat_id=mail.sender,
            sender_id=mail.sender,
            text=mail.text,
            thread_id=mail.thread_id,
            first_name=mail.sender_name,
            attachments=await self._attachments(mail),
        )
        buttons = json.loads(_text(await self.context.redis.hget(thread, "buttons")) or "[]")
        button = None if inbound.attachments else pressed_button(mail.text, buttons)
        if button is not None:
            return await self.context.intake.press(inbound, button["data"], button["text"])
        return await self.context.intake.receive(inbound)

    async def _attachments(self, mail: Mail) -> list[Attachment]:
        limit = self.context.settings.email_attachment_max_bytes
        found = []
        for index, file in enumerate(mail.files):
            if len(file.data) > limit:
                log.info("email_attachment_too_big", size=len(file.data), limit=limit)
                continue
            found.append(await self._stored(mail, index, file))
        return found

    async def _stored(self, mail: Mail, index: int, file: MailFile) -> Attachment:
        digest = hashlib.sha256(f"{self.account}\n{mail.message_id}".encode()).hexdigest()[:32]
        blob_id = f"email:{digest}:{index}"
        key = await self._blobs.put(file.data, blob_id)
        return Attachment(
            kind=attachment_kind(file.mime_type),
            blob_key=key,
            mime_type=file.mime_type,
            file_name=file.file_name,
            size=len(file.data),
        )

    # --- answering ------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        """Our mail for the answer, once; then the person's mail is flagged answered."""
        redis, names = self.context.redis, self.context.names
        sent = names.email_sent(str(message.message_id))
        if await redis.exists(sent):
            return
        to = (message.channel_chat_id or "").strip()
        if "@" not in to:
            raise Undeliverable("an e-mail answer without an address")
        _, smtp = self._urls()
        mail, thread = await self._outgoing(message, to)
        await asyncio.to_thread(send_mail, smtp, compose(mail), self.account, to)
        await redis.set(sent, "1", ex=SEEN_TTL_SECONDS)
        await self._keep_buttons(thread, mail.buttons)
        await self._flag_answered(message.correlation_id)

    async def _outgoing(self, message: OutgoingMessage, to: str) -> tuple[Outgoing, str]:
        domain = self.account.rpartition("@")[2]
        own_id = f"<{message.message_id}@{domain}>"
        buttons = [b for row in message.buttons for b in row]
        sender = self.context.settings.email_from
        replying = message.kind is not OutgoingKind.NOTIFICATION and bool(
            message.reply_to_channel_message_id
        )
        if not replying:
            subject = notification_subject(message.text)
            mail = Outgoing(sender, to, subject, message.text, own_id, buttons=buttons)
            return mail, self.context.names.email_thread(thread_key(to, own_id))
        thread = self.context.names.email_thread(thread_key(to, message.channel_thread_id or ""))
        state = await self.context.redis.hgetall(thread)
        subject = _text(state.get(b"subject") or state.get("subject"))
        references = json.loads(_text(state.get(b"references") or state.get("references")) or "[]")
        in_reply_to = message.reply_to_channel_message_id
        mail = Outgoing(
            sender, to, reply_subject(subject), message.text, own_id,
            in_reply_to=in_reply_to, references=references or [in_reply_to or ""],
            buttons=buttons,
        )  # fmt: skip
        return mail, thread

    async def _keep_buttons(self, thread: str, buttons: list[Button]) -> None:
        """The buttons a reply in this thread may press: those of our last mail in it."""
        pressable = [{"text": b.text, "data": b.data} for b in buttons if b.data and not b.url]
        redis = self.context.redis
        if pressable:
            await redis.hset(thread, "buttons", json.dumps(pressable))
            await redis.expire(thread, THREAD_TTL_S)
        else:
            await redis.hdel(thread, "buttons")

    async def _flag_answered(self, correlation_id: str | None) -> None:
        """`\\Answered` on the person's mail, best effort: the answer went out already. A
        connection of its own each time: one kept between answers would have been dropped by
        the server (they close idle connections after minutes) by the next answer."""
        if not correlation_id or self._imap is None:
            return
        where = await self.context.redis.hgetall(self.context.names.email_mail(correlation_id))
        uid = _text(where.get(b"uid") or where.get("uid"))
        validity = _text(where.get(b"uidvalidity") or where.get("uidvalidity"))
        if not uid.isdigit():
            return
        try:
            await asyncio.to_thread(_flag, Mailbox(self._imap), int(uid), validity)
        except _MAIL_ERRORS as exc:
            log.warning("email_flag_failed", error=f"{type(exc).__name__}: {exc}"[:200])


def _flag(mailbox: Mailbox, uid: int, validity: str) -> None:
    """Flags the mail answered unless the folder was renumbered since it was read."""
    try:
        mailbox.connect()
        if str(mailbox.uid_validity) == validity:
            mailbox.flag(uid, "\\Answered")
    finally:
        mailbox.close()


def thread_key(address: str, thread_id: str) -> str:
    """A conversation's thread, as one short key: the address and the thread's root."""
    return hashlib.sha256(f"{address.lower()}\n{thread_id}".encode()).hexdigest()[:40]


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
