"""Live answers end to end: rest_service, assistant and tg_bot as real
processes under Telegram's real send limits, the LLM stand-in streaming every answer slowly,
the Telegram stand-in recording drafts, messages and edits.

A private chat sees sendMessageDraft grow, then the final sendMessage; a group sees one
message that grows by edits and ends as the final answer. The final is the stored answer as
tg_bot formats it, and no send broke Telegram's limits (none refused with 429).
"""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import psycopg2
import pytest

from bench.pipeline import STREAM_ANSWER, Pipeline, Scenario
from common.infrastructure.postgres_url import sync_url
from sandbox import telegram_updates as build
from sandbox.telegram_html import parse_html
from tests.waiting import until
from tg_bot.src.domain.formatting import MarkdownRenderer

pytestmark = pytest.mark.e2e

ALICE, GROUP = 7_100_001, -100_7_100_002
#: Sends are stamped when the stand-in accepts them: allow this much delivery jitter (a
#: loaded machine holds one arrival back by a tenth of a second; two in one slot show ~0).
JITTER_S = 0.25


def stored_answers(database_url: str) -> dict[str, str]:
    """The assistant's stored answers by conversation key."""
    dsn = sync_url(database_url).replace("postgresql+psycopg2://", "postgresql://", 1)
    with contextlib.closing(psycopg2.connect(dsn)) as connection, connection.cursor() as cur:
        cur.execute("select conversation_key, content from chat_messages where role = 'assistant'")
        return {key: content for key, content in cur.fetchall()}


@pytest.mark.timeout(180)
async def test_drafts_grow_the_final_is_the_stored_answer_and_limits_hold(tmp_path: Path) -> None:
    pipeline = Pipeline(tmp_path)
    try:
        await pipeline.start(Scenario("live", 0, 1, "", real_limits=True, stream=True))
        pipeline.llm.chunk_delay = 0.1  # 4.5 s of writing: a group sees edits on the way
        telegram = pipeline.telegram
        alice = build.user(ALICE, "Alice")
        group = build.group_chat(GROUP)
        telegram.inject(build.private_text(alice, "plan my day"))
        telegram.inject(build.mention(group, alice, "bench_bot", after=" plan our day"))
        await until(lambda: telegram.sent_to(ALICE) and telegram.live.edits_in(GROUP), 60)
        final_html = MarkdownRenderer().render(STREAM_ANSWER)
        final_text = parse_html(final_html).text.strip()
        await until(lambda: [m.text for m in telegram.sent_to(GROUP)] == [final_text], 60)

        # A private chat: drafts that grow, then the answer as a message of its own.
        drafts = telegram.live.drafts_to(ALICE)
        assert len(drafts) >= 2 and len({d.draft_id for d in drafts}) == 1
        assert all(len(a.text) < len(b.text) for a, b in itertools.pairwise(drafts))
        (answer,) = telegram.sent_to(ALICE)
        assert answer.html == final_html and answer.at > drafts[-1].at

        # A group: one message, grown by edits, its last edit the final answer.
        (live,) = telegram.sent_to(GROUP)
        edits = telegram.live.edits_in(GROUP)
        assert len(edits) >= 2 and edits[-1].html == final_html
        assert live.reply_to_message_id is not None

        stored = stored_answers(pipeline.database_url)
        assert set(stored.values()) == {STREAM_ANSWER} and f"chat:{GROUP}" in stored

        # Telegram's limits: a chat's sends (messages and edits) 1 s apart, none refused.
        for chat in (ALICE, GROUP):
            stamps = sorted(
                [m.at for m in telegram.sent_to(chat)]
                + [e.at for e in telegram.live.edits_in(chat)]
            )
            assert all(b - a >= 1 - JITTER_S for a, b in itertools.pairwise(stamps))
        assert not [r for r in telegram.rejected if r.status == 429]
    finally:
        await pipeline.stop()
