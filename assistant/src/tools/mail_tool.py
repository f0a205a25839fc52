"""`mail`: the user's Gmail through google_calendar_service, with care.

Reading, searching and drafting are done at once. Sending, replying, archiving and
labelling are always asked first: the call is held (`outside.hold`) with a line saying
exactly what would be sent or changed ("Send to anna@example.org, subject 'Lunch': 'Yes,
Thursday works'"), and only the user's Yes runs it (`ToolCallOrigin.confirmed`), once: a
send carries the call's idempotency key, so a second run sends nothing.

Mail is outside content: anyone can write to the user, so what the tool returns is read as
data, and a turn that read mail asks before any other tool stores or removes something.
Archive and label take only a message this user was shown lately (kept per user in Redis).
A user may have several Google accounts: a search spans every one allowing mail, and each
message and conversation shown is remembered with its account, so a read, reply, archive or
label goes to the mailbox it came from (a new mail goes from the `account` named, else the
default one); the Yes / No line names the account when the user has more than one.
Mail is private: in a group the tool reads and sends nothing. In a scheduled briefing
(cron_service's prompt) a search means the mail that matters today (unread in the inbox,
newest first, a few), and a connection without mail is left out silently.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import ValidationError

from assistant.src.tools.base import Actor, BaseTool, ToolCallOrigin, ToolError
from assistant.src.tools.calendar_tool import reconnect_note
from assistant.src.tools.outside import hold
from assistant.src.tools.shown import ShownItems
from common.features.calendar_client import (
    CalendarNotConnected,
    CalendarServiceUnavailable,
    GoogleAccessNotGranted,
)
from common.features.mail_client import (
    MailChange,
    MailClient,
    MailMessage,
    MailOut,
)
from common.infrastructure.errors import AppError, NotFoundError

#: What "what came in" means when the model gives no query.
DEFAULT_QUERY = "in:inbox newer_than:1d"
#: A briefing's "mail that matters today": unread in the inbox, newest first, a few.
BRIEFING_QUERY = "in:inbox is:unread newer_than:1d"
BRIEFING_MAX = 5
#: The actor channel of a scheduled briefing's turn (cron_service's assistant_prompt).
_BRIEFING = "cron"
#: How long a message shown to the user may be archived or labelled without showing it again.
SHOWN_TTL_S = 6 * 3600
_WRITES = ("send", "reply", "archive", "label")
_ACTIONS = "search, read, draft, send, reply, archive or label"
_QUOTE_CHARS = 300


class MailTool(BaseTool, tool_type="mail"):
    reads_outside_content = True

    @cached_property
    def mail(self) -> MailClient:
        settings = self.services.settings
        return MailClient(
            self.services.http,
            settings.google_calendar_service_url,
            settings.own_service_token,
            settings.tool_timeout_seconds,
        )

    async def run(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        if call.actor.is_group:
            return _private_only(call.actor)
        action = arguments.get("action")
        handlers = {
            "search": self._search,
            "read": self._read,
            "draft": self._draft,
            "send": self._send,
            "reply": self._send,
            "archive": self._change,
            "label": self._change,
        }
        handler = handlers.get(action) if isinstance(action, str) else None
        if handler is None:
            raise ToolError(f"unknown action {action!r}: use {_ACTIONS}")
        try:
            if action in _WRITES and not call.confirmed:
                return await hold(self, arguments, call, await self._describe(arguments, call))
            return await handler(arguments, call)
        except CalendarNotConnected as exc:
            if call.actor.channel == _BRIEFING:
                return _SKIPPED
            if isinstance(exc, GoogleAccessNotGranted):
                return _allow_mail_answer(exc)
            return _connect_answer(exc)
        except NotFoundError as exc:
            raise ToolError("no such message or conversation any more; search again") from exc
        except AppError as exc:
            raise _failure(exc) from exc

    # -- reading -------------------------------------------------------------------------------

    async def _search(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        briefing = call.actor.channel == _BRIEFING
        query = str(arguments.get("query") or (BRIEFING_QUERY if briefing else DEFAULT_QUERY))
        limit = int(arguments.get("max") or (BRIEFING_MAX if briefing else 10))
        found = await self.mail.messages(call.actor.user_id, query, limit)
        await self._remember(call.actor, found.messages)
        return {
            "query": found.query,
            "count": len(found.messages),
            "messages": [_brief(m) for m in found.messages],
            **reconnect_note(found.reconnect_accounts, found.reconnect_url),
        }

    async def _read(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        thread_id = _required(arguments, "thread_id", "read")
        account = await self._thread_account(call.actor, arguments, thread_id)
        thread = await self.mail.thread(call.actor.user_id, thread_id, account)
        await self._remember(call.actor, thread.messages)
        return {
            "thread_id": thread.id,
            **({"account": thread.account} if thread.account else {}),
            "subject": thread.subject,
            "messages": [{**_brief(m), "text": m.text or ""} for m in thread.messages],
            "note": "Summarise this conversation for the user in a few lines.",
        }

    # -- writing -------------------------------------------------------------------------------

    async def _draft(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        out = await self._from_account(call, _outgoing(arguments, call, keyed=False))
        made = await self.mail.draft(call.actor.user_id, out)
        return {
            "status": "drafted",
            **({"account": made.account} if made.account else {}),
            "draft_id": made.id,
            "thread_id": made.thread_id,
            "to": made.to,
            "subject": made.subject,
            "body": arguments.get("body"),
            "message": (
                "The draft is in the user's Gmail drafts. Show them its text; to send it, call "
                "reply (or send) with the same text: the user then answers Yes or No."
            ),
        }

    async def _send(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        out = await self._from_account(call, _outgoing(arguments, call))
        sent = await self.mail.send_mail(call.actor.user_id, out)
        return {
            "status": "sent" if sent.sent else "sent_already",
            **({"account": sent.account} if sent.account else {}),
            "to": sent.to,
            "subject": sent.subject,
            "thread_id": sent.thread_id,
        }

    async def _change(self, arguments: dict[str, Any], call: ToolCallOrigin) -> Any:
        message_id = _required(arguments, "message_id", str(arguments["action"]))
        _line, account = await self._shown(call.actor, message_id)
        change = _change(arguments).model_copy(update={"account": account})
        changed = await self.mail.modify(call.actor.user_id, message_id, change)
        return {"status": "changed", "message_id": changed.id, "labels": changed.labels}

    async def _from_account(self, call: ToolCallOrigin, out: MailOut) -> MailOut:
        """A reply goes from the mailbox its conversation was shown from (unless the model
        named another); a new mail from the account named, else the default one."""
        if out.account or not out.thread_id:
            return out
        found = await self._items(call.actor).get(_thread_key(out.thread_id))
        account = found[0] if found and isinstance(found[0], str) else None
        return out.model_copy(update={"account": account})

    async def _thread_account(
        self, actor: Actor, arguments: dict[str, Any], thread_id: str
    ) -> str | None:
        named = _account(arguments)
        if named:
            return named
        found = await self._items(actor).get(_thread_key(thread_id))
        return found[0] if found and isinstance(found[0], str) else None

    # -- what the user is asked ----------------------------------------------------------------

    async def _describe(self, arguments: dict[str, Any], call: ToolCallOrigin) -> str:
        """Exactly what the call would do, in our words, from its arguments (and, for a reply
        or a change, from the mailbox): the Yes / No line."""
        action = arguments["action"]
        body = _quote(str(arguments.get("body") or ""))
        if action == "send":
            out = await self._from_account(call, _outgoing(arguments, call))  # refuse it now
            to = ", ".join(arguments.get("to") or [])
            said = f"Send to {to}, subject '{arguments.get('subject') or ''}': '{body}'"
            return await self._naming(call, said, out.account)
        if action == "reply":
            thread_id = _required(arguments, "thread_id", "reply")
            out = await self._from_account(call, _outgoing(arguments, call))
            thread = await self.mail.thread(call.actor.user_id, thread_id, out.account)
            to = ", ".join(arguments.get("to") or []) or _last_sender(thread.messages)
            said = f"Reply to {to} in '{thread.subject}': '{body}'"
            return await self._naming(call, said, thread.account)
        message_id = _required(arguments, "message_id", str(action))
        shown, account = await self._shown(call.actor, message_id)
        if action == "archive":
            return await self._naming(call, f"Archive {shown}", account)
        change = _change(arguments)
        what = "Remove the label" if change.remove_labels else "Add the label"
        return await self._naming(call, f"{what} '{arguments.get('label')}' on {shown}", account)

    async def _naming(self, call: ToolCallOrigin, said: str, account: str | None) -> str:
        """The Yes / No line, saying which mailbox when the user has more than one."""
        status = await self.mail.status(call.actor.user_id)
        mailboxes = [a.account for a in status.accounts if "mail" in a.access]
        if len(mailboxes) < 2:
            return said
        named = account or status.account or mailboxes[0]
        full = [m for m in mailboxes if named.casefold() in m.casefold()]
        return f"{said} (from {full[0] if len(full) == 1 else named})"

    def _items(self, actor: Actor) -> ShownItems:
        return ShownItems(self, self.services.names.mail_shown(actor.user_id), SHOWN_TTL_S)

    async def _remember(self, actor: Actor, messages: list[MailMessage]) -> None:
        shown: dict[str, list[Any]] = {}
        for m in messages:
            shown[m.id] = [f"'{m.subject}' from {m.sender}", m.account]
            shown[_thread_key(m.thread_id)] = [m.account]
        await self._items(actor).note(shown)

    async def _shown(self, actor: Actor, message_id: str) -> tuple[str, str | None]:
        """How the message was shown, and its account."""
        found = await self._items(actor).get(message_id)
        if not found or not isinstance(found[0], str):
            raise ToolError(
                f"message {message_id!r} was not shown to the user lately: search or read "
                "first, show it to the user, then use the id from that answer"
            )
        account = found[1] if len(found) > 1 and isinstance(found[1], str) else None
        return found[0], account


def _outgoing(arguments: dict[str, Any], call: ToolCallOrigin, *, keyed: bool = True) -> MailOut:
    action = arguments.get("action")
    if action in ("send",) and not arguments.get("to"):
        raise ToolError("send needs to (the recipients' addresses); to answer a mail use reply")
    try:
        return MailOut(
            to=arguments.get("to") or [],
            subject=arguments.get("subject"),
            body=arguments.get("body") or "",
            thread_id=arguments.get("thread_id") if action != "send" else None,
            idempotency_key=call.idempotency_key if keyed else None,
            account=_account(arguments),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        raise ToolError(f"{where}: {first['msg']}") from None


def _account(arguments: dict[str, Any]) -> str | None:
    named = arguments.get("account")
    return named.strip() or None if isinstance(named, str) else None


def _thread_key(thread_id: str) -> str:
    """Conversations are remembered beside messages (a thread's id may be its first
    message's)."""
    return f"thread:{thread_id}"


def _change(arguments: dict[str, Any]) -> MailChange:
    if arguments["action"] == "archive":
        return MailChange(archive=True)
    label = arguments.get("label")
    if not label:
        raise ToolError("label needs label (the label's name)")
    removing = bool(arguments.get("remove"))
    return MailChange(
        add_labels=[] if removing else [label], remove_labels=[label] if removing else []
    )


def _required(arguments: dict[str, Any], name: str, action: str) -> str:
    value = arguments.get(name)
    if not value:
        raise ToolError(f"{action} needs {name} (from search or read)")
    return str(value)


def _brief(message: MailMessage) -> dict[str, Any]:
    return {
        "message_id": message.id,
        "thread_id": message.thread_id,
        "from": message.sender,
        "subject": message.subject,
        "date": message.date,
        "unread": message.unread,
        "snippet": message.snippet,
        **({"account": message.account} if message.account else {}),
    }


def _last_sender(messages: list[MailMessage]) -> str:
    incoming = [m for m in messages if "SENT" not in m.labels and "DRAFT" not in m.labels]
    return (incoming or messages)[-1].sender if messages else "the conversation"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_CHARS else f"{flat[: _QUOTE_CHARS - 1]}…"


#: A briefing without mail allowed leaves mail out, saying nothing about it.
_SKIPPED = {
    "status": "skipped",
    "message": "Mail is not available for this user: leave it out and do not mention it.",
}


def _private_only(actor: Actor) -> dict[str, Any]:
    return {
        "status": "private_chat_required",
        "message": (
            "Mail is private, so nothing is read or sent in a group. Ask "
            f"{actor.label} to message you in a private chat about their mail."
        ),
    }


def _allow_mail_answer(exc: GoogleAccessNotGranted) -> dict[str, Any]:
    return {
        "status": "mail_not_allowed",
        "connect_url": exc.auth_url,
        "message": (
            "I need permission to read the user's mail. Give them connect_url (it works for "
            "10 minutes, once): after they allow mail at Google, they confirm with "
            "/calendar confirm, and then they can ask again."
        ),
    }


def _connect_answer(exc: CalendarNotConnected) -> dict[str, Any]:
    return {
        "status": "reconnect_required" if exc.reconnect else "not_connected",
        "connect_url": exc.auth_url,
        "message": (
            "The user's Google account is not connected"
            + (" any more" if exc.reconnect else "")
            + ". Give them connect_url (it works for 10 minutes, once); after they allow "
            "access, they confirm with /calendar confirm, and then they can ask again."
        ),
    }


def _failure(exc: AppError) -> ToolError:
    if isinstance(exc, CalendarServiceUnavailable):
        return ToolError("the mail service is unreachable right now; suggest trying again later")
    if exc.status_code >= 500:
        return ToolError(f"Gmail is unavailable right now: {exc.detail}")
    fields = "; ".join(f"{f.field}: {f.reason}" for f in exc.fields)
    return ToolError(f"{exc.detail}{f' ({fields})' if fields else ''}")
