"""Slack's answers to `chat.postMessage` (the Slack stand-in speaking the Web API) as the
sender's outcomes: posted, try again after Slack's `Retry-After`, or never deliverable."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from channels.src.adapters.slack.web_api import SlackWebApi, retry_delay
from common.infrastructure.errors import RetryLater, Undeliverable
from common.infrastructure.http_client import client_session
from sandbox.slack_api import SlackStandIn

POST = "chat.postMessage"
BODY = {"channel": "D0ANNA0001", "text": "hi", "blocks": []}


@pytest.fixture
async def api(slack: SlackStandIn) -> AsyncIterator[SlackWebApi]:
    async with client_session() as http:
        yield SlackWebApi(http, slack.api_base, slack.token)


async def test_a_post_is_posted(slack: SlackStandIn, api: SlackWebApi) -> None:
    answer = await api.call(POST, BODY)
    assert answer["ok"] and [p.text for p in slack.posted_to("D0ANNA0001")] == ["hi"]


async def test_429_is_try_again_after_slacks_retry_after(
    slack: SlackStandIn, api: SlackWebApi
) -> None:
    slack.fail(POST, status=429, retry_after=7)
    with pytest.raises(RetryLater) as retry:
        await api.call(POST, BODY)
    assert retry.value.delay == 7
    assert not slack.posted


async def test_ratelimited_in_the_body_is_try_again_too(
    slack: SlackStandIn, api: SlackWebApi
) -> None:
    slack.fail(POST, status=200, error="ratelimited", retry_after=3)
    with pytest.raises(RetryLater) as retry:
        await api.call(POST, BODY)
    assert retry.value.delay == 3


async def test_slacks_own_trouble_is_try_again(slack: SlackStandIn, api: SlackWebApi) -> None:
    slack.fail(POST, status=503, error="service_unavailable", retry_after=None)
    with pytest.raises(RetryLater):
        await api.call(POST, BODY)


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "invalid_auth", "account_inactive"]
)
async def test_a_closed_channel_or_a_dead_token_is_undeliverable(
    slack: SlackStandIn, api: SlackWebApi, error: str
) -> None:
    slack.fail(POST, status=200, error=error, retry_after=None)
    with pytest.raises(Undeliverable, match=error):
        await api.call(POST, BODY)


async def test_a_wrong_token_is_undeliverable(slack: SlackStandIn) -> None:
    async with client_session() as http:
        with pytest.raises(Undeliverable, match="invalid_auth"):
            await SlackWebApi(http, slack.api_base, "xoxb-wrong").call(POST, BODY)


async def test_no_answer_is_try_again() -> None:
    async with client_session() as http:
        with pytest.raises(RetryLater):
            await SlackWebApi(http, "http://127.0.0.1:9", "x").call(POST, BODY)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, 1.0), ("30", 30.0), ("soon", 1.0), ("-4", 0.0), ("99999", 300.0), ("nan", 1.0)],
    ids=["none", "seconds", "word", "negative", "huge", "nan"],
)
def test_retry_after_is_read_within_sense(header: str | None, seconds: float) -> None:
    assert retry_delay(header) == seconds


async def test_slacks_own_trouble_in_an_ok_answer_is_try_again(
    slack: SlackStandIn, api: SlackWebApi
) -> None:
    slack.fail(POST, status=200, error="internal_error", retry_after=None)
    with pytest.raises(RetryLater, match="internal_error"):
        await api.call(POST, BODY)
    assert not slack.posted


async def test_an_error_slack_does_not_list_fails_naming_it(slack: SlackStandIn) -> None:
    """Neither retried at once nor dropped: the queue's retries and dead letter take it."""
    async with client_session() as http:
        with pytest.raises(RuntimeError, match="unknown_method"):
            await SlackWebApi(http, slack.api_base, slack.token).call("chat.postMesage", BODY)


async def test_an_answer_that_is_not_the_web_apis_fails_naming_its_status(
    slack: SlackStandIn,
) -> None:
    """A wrong `SLACK_API_BASE` (or a proxy's page) answers HTML or text, not Slack's JSON."""
    async with client_session() as http:
        with pytest.raises(RuntimeError, match="HTTP 404, not a Web API answer"):
            await SlackWebApi(http, f"{slack.url}/apis", slack.token).call(POST, BODY)
    assert not slack.posted
