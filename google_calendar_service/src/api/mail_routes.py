"""The mail routes (docs/contract.md "REST routes"): the user's Gmail through their Google
connection. Service token only, like the calendar's; a connection without mail answers
409 `google_access_not_granted` with the link."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from common.features.mail_client import (
    MAIL_ID_PATTERN,
    MailChange,
    MailDraft,
    MailMessages,
    MailModified,
    MailOut,
    MailSent,
    MailThread,
)
from google_calendar_service.src.api.deps import MailDep, calendar_callers_only
from google_calendar_service.src.api.routes import AccountQuery

mail_router = APIRouter(dependencies=[calendar_callers_only], tags=["mail"])
MailId = Annotated[str, Path(pattern=MAIL_ID_PATTERN)]


@mail_router.get("/mail/{user_id}/messages", response_model=MailMessages)
async def mail_messages(
    user_id: uuid.UUID,
    mail: MailDep,
    q: Annotated[str, Query(max_length=500)] = "",
    max: Annotated[int, Query(ge=1, le=50)] = 10,
) -> MailMessages:
    """The newest messages matching Gmail's search `q` (from:, subject:, is:unread,
    newer_than:2d, in:inbox, label:...), at most `max`, across every Google account whose
    grant allows mail (each message says its `account`; accounts whose grant died are in
    `reconnect_accounts`)."""
    return await mail.messages(str(user_id), q, max)


@mail_router.get("/mail/{user_id}/threads/{thread_id}", response_model=MailThread)
async def mail_thread(
    user_id: uuid.UUID, thread_id: MailId, mail: MailDep, account: AccountQuery = None
) -> MailThread:
    """A conversation's messages, oldest first, with their plain text; in `account`, else
    the default mail account."""
    return await mail.thread(str(user_id), thread_id, account)


@mail_router.post("/mail/{user_id}/drafts", response_model=MailDraft, status_code=201)
async def mail_draft(user_id: uuid.UUID, body: MailOut, mail: MailDep) -> MailDraft:
    """A draft in the user's mailbox; with `thread_id` a reply in that conversation."""
    return await mail.draft(str(user_id), body)


@mail_router.post("/mail/{user_id}/send", response_model=MailSent)
async def mail_send(
    user_id: uuid.UUID, body: MailOut, mail: MailDep, response: Response
) -> MailSent:
    """201 when sent now, 200 when the idempotency key had sent it already; 409
    `mail_send_unsettled` while a send with the key is under way or was cut off."""
    sent = await mail.send(str(user_id), body)
    response.status_code = 201 if sent.sent else 200
    return sent


@mail_router.post("/mail/{user_id}/messages/{message_id}/modify", response_model=MailModified)
async def mail_modify(
    user_id: uuid.UUID, message_id: MailId, body: MailChange, mail: MailDep
) -> MailModified:
    """Add labels (made when missing) and remove them, by name; `archive` leaves the inbox."""
    return await mail.modify(str(user_id), message_id, body)
