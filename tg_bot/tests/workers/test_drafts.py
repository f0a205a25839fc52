"""Live answers in tg_bot: drafts from `queue:drafts` shown as sendMessageDraft in private
chats and as throttled edits of one message in groups; stale, out-of-order and delivered ones
dropped; Markdown Telegram refuses shown as plain text. The real worker, client and limiter
against the Telegram stand-in and real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.clock import utcnow
from common.infrastructure.queue_messages import ChatType, DraftMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.settings import load_settings
from sandbox.telegram_html import parse_html, utf16_len
from sandbox.telegram_live import NOT_MODIFIED
from tests.waiting import until
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.formatting import MarkdownRenderer
from tg_bot.src.domain.live_answers import live_key, part_id, take_live_message
from tg_bot.src.domain.rate_limiter import Limit, SendLimiter, SendLimits
from tg_bot.src.settings import Settings
from tg_bot.src.workers.drafts import DraftsWorker, draft_id, render

PRIVATE, GROUP = 4242, -100_4242
JITTER = 0.15  # how far a call's arrival at the stand-in may drift from its slot (a busy CI)
WORDS = [
    "Streaming", "answers", "grow", "word", "by", "word", "until", "the", "model", "is", "done",
    "writing", "them", "out",
]  # fmt: skip


@pytest.fixture
async def drafts_worker(bot_env, telegram, redis, names) -> AsyncIterator[DraftsWorker]:
    """The worker reading `queue:drafts`, with intervals short enough for a test."""
    settings = load_settings(Settings).model_copy(
        update={"stream_draft_interval_seconds": 0.3, "stream_edit_interval_seconds": 0.5}
    )
    limits = SendLimits(Limit.per_second(30), Limit.per_second(1), Limit.per_minute(20))
    async with TelegramClient(telegram.url, telegram.token, retries=0) as client:
        worker = DraftsWorker(
            client, SendLimiter(redis, names, limits), redis, names, settings, block_ms=20
        )
        task = asyncio.create_task(worker.run())
        await until(lambda: redis.exists(names.drafts))  # its group is there
        try:
            yield worker
        finally:
            worker.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


def draft(
    answer: uuid.UUID, seq: int, text: str, chat_id: int = PRIVATE, **fields: Any
) -> DraftMessage:
    chat_type = ChatType.PRIVATE if chat_id > 0 else ChatType.SUPERGROUP
    return DraftMessage(
        message_id=answer, chat_id=chat_id, chat_type=chat_type, text=text, seq=seq, **fields
    )


async def publish(redis, names, *drafts: DraftMessage) -> None:
    for one in drafts:
        await redis.xadd(names.drafts, {"data": one.to_json()})


async def stream_words(redis, names, answer: uuid.UUID, chat_id: int, pause: float) -> str:
    """Drafts as the assistant writes them: a word more each time; the whole text."""
    for seq in range(1, len(WORDS) + 1):
        await publish(redis, names, draft(answer, seq, " ".join(WORDS[:seq]), chat_id))
        await asyncio.sleep(pause)
    return " ".join(WORDS)


async def test_a_private_draft_grows_at_the_draft_pace_and_ends_on_the_newest(
    drafts_worker, telegram, redis, names
) -> None:
    answer = uuid.uuid4()
    whole = await stream_words(redis, names, answer, PRIVATE, 0.05)
    await until(lambda: _last_text(telegram.live.drafts_to(PRIVATE)) == whole, timeout=5)

    shown = telegram.live.drafts_to(PRIVATE)
    assert 2 <= len(shown) < len(WORDS)  # throttled, yet more than the first
    assert {d.draft_id for d in shown} == {draft_id(answer)} and draft_id(answer) != 0
    assert all(whole.startswith(d.text) for d in shown)
    assert all(len(a.text) < len(b.text) for a, b in itertools.pairwise(shown))
    assert all(b.at - a.at >= 0.3 - JITTER for a, b in itertools.pairwise(shown))
    assert shown[-1].at - shown[0].at >= 0.3 * (len(shown) - 1) - JITTER
    assert all(d.parse_mode == "HTML" for d in shown)
    assert not telegram.sent and not telegram.rejected


async def test_a_group_gets_one_message_then_edits_no_closer_than_the_edit_interval(
    drafts_worker, telegram, redis, names
) -> None:
    answer = uuid.uuid4()
    whole = await stream_words(redis, names, answer, GROUP, 0.1)
    await until(lambda: telegram.sent_to(GROUP) and telegram.sent_to(GROUP)[0].text == whole)

    (message,) = telegram.sent_to(GROUP)
    edits = telegram.live.edits_in(GROUP)
    assert len(edits) >= 1 and {e.message_id for e in edits} == {message.message_id}
    stamps = [message.at, *(e.at for e in edits)]
    assert all(b - a >= 0.5 - JITTER for a, b in itertools.pairwise(stamps))
    assert not telegram.live.drafts
    assert await take_live_message(redis, names, str(answer)) == message.message_id


LATER = "(a later draft)"


async def later_draft_shown(redis, names, telegram) -> None:
    """Until a draft of another answer, published now, is shown: the drafts published before
    it have been dealt with by then."""
    before = sum(d.text == LATER for d in telegram.live.drafts)
    await publish(redis, names, draft(uuid.uuid4(), 1, LATER))
    await until(lambda: sum(d.text == LATER for d in telegram.live.drafts) > before)


def shown(telegram) -> list[str]:
    """The drafts shown, the later ones left out."""
    return [d.text for d in telegram.live.drafts if d.text != LATER]


async def test_stale_out_of_order_and_delivered_drafts_are_not_shown(
    drafts_worker, telegram, redis, names
) -> None:
    old, late, done, fresh = (uuid.uuid4() for _ in range(4))
    long_ago = utcnow() - timedelta(seconds=30)
    await publish(redis, names, draft(old, 1, "from long ago", created_at=long_ago))
    await publish(redis, names, draft(late, 5, "the newest"), draft(late, 3, "an older one"))
    await redis.set(names.telegram_sent_part(str(part_id(done, 0))), "1")
    await publish(redis, names, draft(done, 1, "after the final"))
    await publish(redis, names, draft(fresh, 1, "fresh"))
    await until(lambda: any(d.text == "fresh" for d in telegram.live.drafts))
    await later_draft_shown(redis, names, telegram)  # anything still on its way came first

    assert sorted(shown(telegram)) == ["fresh", "the newest"]

    await take_live_message(redis, names, str(fresh))  # the final is on its way
    await publish(redis, names, draft(fresh, 2, "fresh and more"))
    await later_draft_shown(redis, names, telegram)
    assert sorted(shown(telegram)) == ["fresh", "the newest"]


async def test_markup_telegram_refuses_is_shown_as_plain_text(
    drafts_worker, telegram, redis, names
) -> None:
    telegram.fail("sendMessageDraft", status=400, description="Bad Request: can't parse entities")
    await publish(redis, names, draft(uuid.uuid4(), 1, "**half bold _and more"))
    await until(lambda: telegram.live.drafts)

    (shown,) = telegram.live.drafts
    assert shown.parse_mode is None and "half bold" in shown.text and "<" not in shown.html


async def test_a_tool_status_is_shown_under_the_text_in_italics(
    drafts_worker, telegram, redis, names
) -> None:
    answer = uuid.uuid4()
    await publish(redis, names, draft(answer, 1, "Let me see.", status="checking your calendar…"))
    await until(lambda: telegram.live.drafts)

    (shown,) = telegram.live.drafts
    assert shown.text == "Let me see.\n\nchecking your calendar…"
    assert shown.html.endswith("<i>checking your calendar…</i>")


def _last_text(drafts: list) -> str | None:
    return drafts[-1].text if drafts else None


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(
        st.characters(blacklist_categories=["Cs"]) | st.sampled_from(list("*_`[]()#>-~|\n")),
        max_size=5000,
    ),
    status=st.none() | st.text(min_size=1, max_size=60),
    cut=st.integers(min_value=0, max_value=5000),
)
def test_any_unfinished_markdown_renders_to_html_telegram_accepts(
    text: str, status: str | None, cut: int
) -> None:
    shown = render(
        draft(uuid.uuid4(), 1, text[:cut], status=status), MarkdownRenderer(), limit=4096
    )
    if not shown:
        assert not text[:cut].strip() and status is None
        return
    assert utf16_len(shown) <= 4096
    parse_html(shown)  # raises when Telegram would refuse it


@settings(max_examples=50, deadline=None)
@given(
    payload=st.binary(max_size=300)
    | st.text(max_size=300)
    | st.builds(lambda d: json.dumps(d), st.dictionaries(st.text(max_size=12), st.integers()))
)
def test_any_payload_that_is_not_a_draft_is_dropped_quietly(payload: bytes | str) -> None:
    redis = aioredis.Redis()  # connects on first use: never, here
    names = Names("test:drafts-payload:")
    limits = SendLimits(Limit.per_second(30), Limit.per_second(1), Limit.per_minute(20))
    settings_ = Settings(environment="test", telegram_token="1:x")
    telegram = TelegramClient("http://127.0.0.1:9", "1:x")
    worker = DraftsWorker(telegram, SendLimiter(redis, names, limits), redis, names, settings_)
    worker.offer(payload)  # never raises, and nothing is shown
    assert not worker._answers


OTHER_PRIVATE = 4343


async def shown_in_another_chat(redis, names, telegram) -> None:
    """Until a draft to another chat, published now, is shown: those published before it
    have been dealt with by then (a chat held back does not hold this one)."""
    before = len(telegram.live.drafts_to(OTHER_PRIVATE))
    await publish(redis, names, draft(uuid.uuid4(), 1, LATER, OTHER_PRIVATE))
    await until(lambda: len(telegram.live.drafts_to(OTHER_PRIVATE)) > before)


async def test_a_429_holds_that_chats_drafts_back_for_retry_after(
    drafts_worker, telegram, redis, names
) -> None:
    telegram.fail("sendMessageDraft", status=429, retry_after=1, chat_id=PRIVATE)
    await publish(redis, names, draft(uuid.uuid4(), 1, "refused"))
    await until(lambda: telegram.rejected)
    # The worker holds the chat back from when the 429 reaches it, after Telegram recorded it.
    await until(lambda: drafts_worker.paused(PRIVATE), 5, "the 429 taken")
    await publish(redis, names, draft(uuid.uuid4(), 1, "while held back"))
    await shown_in_another_chat(redis, names, telegram)
    assert telegram.live.drafts_to(PRIVATE) == []

    [refused] = telegram.rejected
    await until(lambda: not drafts_worker.paused(PRIVATE), 5, "retry_after passed")
    assert telegram.clock() >= refused.at + 1.0
    await publish(redis, names, draft(uuid.uuid4(), 1, "after the wait"))
    await until(lambda: telegram.live.drafts_to(PRIVATE))
    assert [d.text for d in telegram.live.drafts_to(PRIVATE)] == ["after the wait"]


async def test_a_draft_telegram_refuses_is_dropped_and_the_next_shown(
    drafts_worker, telegram, redis, names
) -> None:
    telegram.fail("sendMessageDraft", status=400, description="Bad Request: chat not found")
    answer = uuid.uuid4()
    await publish(redis, names, draft(answer, 1, "refused"))
    await until(lambda: telegram.rejected)
    await publish(redis, names, draft(answer, 2, "refused, and then more"))
    await until(lambda: telegram.live.drafts_to(PRIVATE))
    assert [d.text for d in telegram.live.drafts_to(PRIVATE)] == ["refused, and then more"]


async def test_in_a_group_markup_telegram_refuses_is_sent_and_edited_as_plain_text(
    drafts_worker, telegram, redis, names
) -> None:
    parse = "Bad Request: can't parse entities: unsupported start tag"
    telegram.fail("sendMessage", status=400, description=parse)
    telegram.fail("editMessageText", status=400, description=parse)
    answer = uuid.uuid4()
    await publish(redis, names, draft(answer, 1, "**half bold", GROUP))
    await until(lambda: telegram.sent_to(GROUP))
    await publish(redis, names, draft(answer, 2, "**half bold and more", GROUP))
    await until(lambda: telegram.live.edits_in(GROUP))

    [message] = telegram.sent_to(GROUP)
    [edit] = telegram.live.edits_in(GROUP)
    assert message.text == "**half bold and more" and message.parse_mode is None
    assert edit.parse_mode is None


async def test_in_a_group_a_draft_that_changes_nothing_or_a_message_gone_is_let_go(
    drafts_worker, telegram, redis, names
) -> None:
    """An edit into the same text is "not modified" (nothing to do); a message deleted
    meanwhile refuses the edit, and the answer's next draft is tried again."""
    answer = uuid.uuid4()
    await publish(redis, names, draft(answer, 1, "the same", GROUP))
    await until(lambda: telegram.sent_to(GROUP))
    await publish(redis, names, draft(answer, 2, "the same", GROUP))
    await until(lambda: any(r.description.startswith(NOT_MODIFIED) for r in telegram.rejected))
    telegram.fail(
        "editMessageText", status=400, description="Bad Request: message to edit not found"
    )
    await publish(redis, names, draft(answer, 3, "gone", GROUP))
    await until(lambda: len(telegram.rejected) == 2)
    await publish(redis, names, draft(answer, 4, "back again", GROUP))
    await until(lambda: telegram.live.edits_in(GROUP))
    assert [m.text for m in telegram.sent_to(GROUP)] == ["back again"]


async def test_a_first_group_message_that_crossed_the_final_answer_is_deleted(
    drafts_worker, telegram, redis, names
) -> None:
    """The final answer went out while the draft's message was on its way: that message
    would be a stray copy, so it goes."""
    telegram.fail("sendMessage", status=0, delay=0.5, chat_id=GROUP)
    answer = uuid.uuid4()
    await publish(redis, names, draft(answer, 1, "on its way", GROUP))
    await until(lambda: telegram.calls.get("sendMessage"))
    assert await take_live_message(redis, names, str(answer)) is None  # the final goes out
    await until(lambda: telegram.live.deleted)
    [message] = telegram.sent_to(GROUP)
    assert telegram.live.deleted == [(GROUP, message.message_id)]


async def test_a_draft_whose_live_state_redis_cannot_read_is_dropped_and_others_go_on(
    drafts_worker, telegram, redis, names
) -> None:
    answer = uuid.uuid4()
    await redis.set(live_key(names, str(answer)), "not a hash")
    await publish(redis, names, draft(answer, 1, "unreadable state"))

    async def another_chat_shown() -> bool:
        # a fresh draft each time: the failure's traceback may hold the loop past MAX_AGE_S
        await publish(redis, names, draft(uuid.uuid4(), 1, LATER, OTHER_PRIVATE))
        return bool(telegram.live.drafts_to(OTHER_PRIVATE))

    await until(another_chat_shown, 20, "a draft to another chat shown", interval=0.5)
    assert telegram.live.drafts_to(PRIVATE) == []
