"""The Gmail stand-in itself: where Gmail v1's discovery document puts each method, the
shapes it answers, its search operators, and the 403 a token without mail gets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest

from sandbox.google_api import GoogleStandIn, create_app
from sandbox.google_mail import b64url, unb64url
from sandbox.google_schema import discovery_document, validate
from sandbox.google_state import AccessToken

EMAIL = "me@example.com"
MAIL = ["https://www.googleapis.com/auth/gmail.modify"]
CALENDAR_ONLY = ["https://www.googleapis.com/auth/calendar"]

METHODS = [
    ("messages", "list", "gmail.users.messages.list"),
    ("messages", "get", "gmail.users.messages.get"),
    ("messages", "send", "gmail.users.messages.send"),
    ("messages", "modify", "gmail.users.messages.modify"),
    ("threads", "get", "gmail.users.threads.get"),
    ("drafts", "create", "gmail.users.drafts.create"),
    ("labels", "list", "gmail.users.labels.list"),
    ("labels", "create", "gmail.users.labels.create"),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.mark.parametrize(("resource", "name", "route"), METHODS)
def test_each_gmail_route_is_where_discovery_says(resource: str, name: str, route: str) -> None:
    described = discovery_document("gmail.v1")["resources"]["users"]["resources"][resource]
    method = described["methods"][name]
    served = create_app().router[route]
    assert _shape(served.canonical) == _shape(f"/{method['path']}")
    assert any(r.method == method["httpMethod"] for r in served)


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    async with GoogleStandIn() as stand_in:
        stand_in.state.tokens["mail"] = AccessToken(EMAIL, MAIL, 4_000_000_000, None)
        stand_in.state.tokens["cal"] = AccessToken(EMAIL, CALENDAR_ONLY, 4_000_000_000, None)
        yield stand_in


@pytest.fixture
async def http(google: GoogleStandIn) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": "Bearer mail"}
    base = f"{google.url}/gmail/v1/users/me"
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        yield client


def _seed(google: GoogleStandIn) -> list[str]:
    stored = google.mail.seed(
        EMAIL,
        [
            {"from": "Anna <anna@example.org>", "subject": "Lunch on Thursday?", "text": "Free?"},
            {
                "from": "news@shop.example",
                "subject": "Sale",
                "text": "50% off",
                "html": "<b>50%</b>",
                "unread": False,
                "date": "2020-01-01T08:00:00Z",
            },
        ],
    )
    return [m.id for m in stored]


async def test_searching_knows_gmails_operators(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    anna, shop = _seed(google)

    async def ids(q: str) -> list[str]:
        answer = (await http.get("/messages", params={"q": q})).json()
        validate("ListMessagesResponse", answer, "gmail.v1")
        return [m["id"] for m in answer.get("messages", [])]

    assert await ids("") == [anna, shop]
    assert await ids("from:anna") == [anna]
    assert await ids("is:unread in:inbox newer_than:1d") == [anna]
    assert await ids("subject:sale is:read") == [shop]
    assert await ids('"50% off" before:2021/01/01') == [shop]
    assert await ids("after:2021-01-01 older_than:1y") == []
    assert await ids("label:starred") == []
    paged = (await http.get("/messages", params={"maxResults": 1})).json()
    assert paged["nextPageToken"] == "1" and paged["resultSizeEstimate"] == 2
    bad = await http.get("/messages", params={"q": "newer_than:soon"})
    assert bad.status_code == 400


async def test_a_message_comes_in_each_format_with_base64url_bodies(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    anna, shop = _seed(google)
    full = (await http.get(f"/messages/{shop}")).json()
    parts = full["payload"]["parts"]
    assert [p["mimeType"] for p in parts] == ["text/plain", "text/html"]
    assert unb64url(parts[0]["body"]["data"]) == b"50% off"
    plain = (await http.get(f"/messages/{anna}")).json()
    assert unb64url(plain["payload"]["body"]["data"]) == b"Free?"
    meta = (await http.get(f"/messages/{anna}", params={"format": "metadata"})).json()
    assert "body" not in meta["payload"] and meta["payload"]["headers"][0]["name"] == "From"
    raw = (await http.get(f"/messages/{anna}", params={"format": "raw"})).json()
    assert b"Subject: Lunch on Thursday?" in unb64url(raw["raw"])
    minimal = (await http.get(f"/messages/{anna}", params={"format": "minimal"})).json()
    assert "payload" not in minimal and minimal["labelIds"] == ["INBOX", "UNREAD"]
    assert (await http.get("/messages/nope")).status_code == 404


def _raw(to: str, subject: str, text: str) -> str:
    message = EmailMessage()
    message["To"], message["Subject"] = to, subject
    message.set_content(text)
    return b64url(message.as_bytes())


async def test_a_reply_joins_its_thread_and_is_kept_as_sent(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    anna, _ = _seed(google)
    thread = google.mail.mailbox(EMAIL).messages[anna].thread_id
    body = {"raw": _raw("anna@example.org", "Re: Lunch", "Yes!"), "threadId": thread}
    sent = (await http.post("/messages/send", json=body)).json()
    assert sent["threadId"] == thread and sent["labelIds"] == ["SENT"]
    whole = (await http.get(f"/threads/{thread}")).json()
    assert [m["id"] for m in whole["messages"]] == [anna, sent["id"]]
    shown = (await http.get(f"{google.url}/_sandbox/mail/{EMAIL}/sent")).json()
    assert [s["threadId"] for s in shown] == [thread]
    assert (await http.post("/messages/send", json={"raw": "", "x": 1})).status_code == 400
    nobody = await http.post("/messages/send", json={"raw": _raw("", "s", "t")})
    assert nobody.status_code == 400
    lost = {"raw": _raw("a@b.c", "s", "t"), "threadId": "gone"}
    assert (await http.post("/messages/send", json=lost)).status_code == 404
    assert (await http.get("/threads/gone")).status_code == 404


async def test_drafts_labels_and_archiving(google: GoogleStandIn, http: httpx.AsyncClient) -> None:
    anna, _ = _seed(google)
    draft = await http.post("/drafts", json={"message": {"raw": _raw("a@b.c", "s", "t")}})
    assert draft.json()["message"]["labelIds"] == ["DRAFT"]
    assert (await http.post("/drafts", json={})).status_code == 400
    label = (await http.post("/labels", json={"name": "Family"})).json()
    assert (await http.post("/labels", json={"name": "family"})).status_code == 409
    assert (await http.post("/labels", json={"name": " "})).status_code == 400
    names = [x["name"] for x in (await http.get("/labels")).json()["labels"]]
    assert "INBOX" in names and "Family" in names
    change = {"addLabelIds": [label["id"]], "removeLabelIds": ["INBOX", "UNREAD"]}
    changed = (await http.post(f"/messages/{anna}/modify", json=change)).json()
    assert changed["labelIds"] == [label["id"]]
    found = (await http.get("/messages", params={"q": "label:family"})).json()
    assert [m["id"] for m in found["messages"]] == [anna]
    wrong = await http.post(f"/messages/{anna}/modify", json={"addLabelIds": ["Nope"]})
    assert wrong.status_code == 400 and "Invalid label" in wrong.text
    assert (await http.post("/labels", content=b"[")).status_code == 400
    assert (await http.post("/labels", json=[1])).status_code == 400


async def test_a_token_without_mail_is_refused_as_google_does(
    google: GoogleStandIn, http: httpx.AsyncClient
) -> None:
    answer = await http.get("/messages", headers={"Authorization": "Bearer cal"})
    error = answer.json()["error"]
    assert answer.status_code == 403 and error["errors"][0]["reason"] == "insufficientPermissions"
    assert error["status"] == "PERMISSION_DENIED"
    other = await http.get(f"{google.url}/gmail/v1/users/x@y.z/messages")
    assert other.status_code == 403
    assert (await http.get("/labels", headers={"Authorization": "Bearer no"})).status_code == 401
