"""The admin's Feedback list (rating shown and filtered, comment, a link to the conversation)
and Satisfaction page (the figures of GET /api/analytics/feedback, each 👎 linking to its
conversation opened at the answer's thread), through the admin's own HTTP pages."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from rest_service.tests import test_feedback as rated
from rest_service.tests.conftest import Api, unique
from rest_service.tests.test_admin import logged_in  # noqa: F401  (the fixture)

LIST = "/admin/feedback/list"


async def test_the_list_shows_and_filters_ratings(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    user, assistant = await api.user(), await api.assistant(name=unique("tea-shop"))
    comment = unique("too-expensive")
    other = unique("too-slow")
    down = await rated.answer(api, user, assistant)
    up = await rated.answer(api, user, assistant)
    await rated.rate(api, down, user, assistant, rating=-1, comment=comment)
    await rated.rate(api, up, user, assistant, rating=1)
    await rated.rate(api, await rated.answer(api, user, assistant), user, assistant, rating=-1,
                     comment=other)  # fmt: skip
    await rated.rate(api, await rated.answer(api, user, assistant), user, assistant, rating=1)

    listed = await logged_in.get(LIST)
    assert listed.status_code == 200, listed.text
    assert comment in listed.text and assistant["name"] in listed.text and "👎" in listed.text
    assert f"/admin/conversations?user={user['id']}" in listed.text
    assert comment not in (await logged_in.get(f"{LIST}?rating=1")).text
    dislikes = (await logged_in.get(f"{LIST}?rating=-1")).text
    assert comment in dislikes and other in dislikes
    assert comment in (await logged_in.get(f"{LIST}?rating=junk")).text
    assert (await logged_in.get(f"{LIST}?search={comment}")).status_code == 200


async def test_the_satisfaction_page_adds_up_and_links_each_dislike(
    logged_in: httpx.AsyncClient,  # noqa: F811
    api: Api,
) -> None:
    user, assistant = await api.user(), await api.assistant(name=unique("tea-shop"))
    comment = unique("wrong-price")
    key = await rated.answer(api, user, assistant)
    await rated.rate(api, key, user, assistant, rating=-1, comment=comment)
    await rated.rate(api, await rated.answer(api, user, assistant), user, assistant, rating=1)
    thread = await api.thread(user["id"], assistant["id"])

    page = await logged_in.get(f"/admin/satisfaction?assistant_id={assistant['id']}&days=7")

    assert page.status_code == 200, page.text
    assert '<div class="h1" id="satisfaction-total">50 %</div>' in page.text
    assert '<div class="h1" id="rated-total">2</div>' in page.text
    assert assistant["name"] in page.text and comment in page.text
    link = f"/admin/conversations?user={quote(user['id'])}&amp;thread={thread['thread_id']}"
    assert link in page.text
    opened = await logged_in.get(
        f"/admin/conversations?user={user['id']}&thread={thread['thread_id']}"
    )
    assert opened.status_code == 200 and "Here you are." in opened.text
    for odd in ("days=abc&assistant_id=nope", "days=-5", "days=99999999"):
        assert (await logged_in.get(f"/admin/satisfaction?{odd}")).status_code == 200, odd
    empty = await logged_in.get(f"/admin/satisfaction?assistant_id={(await api.assistant())['id']}")
    assert "Nothing rated" in empty.text and "No 👎 in these days." in empty.text
