"""The side-by-side with the peer bot (bench/peer.py, bench/peer_launcher.py) computes what it
says without the peer's source: the launcher points the peer's Application builder at the
stand-in, answers pair with their messages by the " [n]" they carry (the peer answers a chat's
messages in any order), tiktoken's file is rebuilt from js-tiktoken's ranks, and the issue-41
rows compare the right figures."""

from __future__ import annotations

import json
from typing import Any

from bench.peer import answer_times, chats_out_of_order, tiktoken_ranks, versus_peer
from bench.peer_launcher import patch_builder
from bench.pipeline import Result, table
from sandbox.telegram_api import SentMessage
from sandbox.telegram_live import Edit


class _Builder:
    """python-telegram-bot's ApplicationBuilder as the peer uses it: a chain, then build()."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def token(self, token: str) -> _Builder:
        self.calls.append(("token", token))
        return self

    def base_url(self, url: str) -> _Builder:
        self.calls.append(("base_url", url))
        return self

    def base_file_url(self, url: str) -> _Builder:
        self.calls.append(("base_file_url", url))
        return self

    def build(self) -> dict[str, Any]:
        return {"built_after": list(self.calls)}


def test_the_launcher_sets_the_stand_ins_urls_before_every_build() -> None:
    class Builder(_Builder):
        pass

    patch_builder(Builder, "http://127.0.0.1:4321/")
    built = Builder().token("42:x").build()
    assert built == {
        "built_after": [
            ("token", "42:x"),
            ("base_url", "http://127.0.0.1:4321/bot"),
            ("base_file_url", "http://127.0.0.1:4321/file/bot"),
        ]
    }
    assert _Builder().build() == {"built_after": []}  # only the class given is patched


def _sent(chat: int, message_id: int, text: str, at: float) -> SentMessage:
    return SentMessage(message_id, chat, text, text, None, [], None, at, at)


def _edit(chat: int, message_id: int, text: str, at: float) -> Edit:
    return Edit(chat, message_id, text, text, None, at)


def test_answers_pair_with_their_message_by_number_and_finish_at_their_last_edit() -> None:
    injected = {1: [10.0, 10.5], 2: [11.0]}
    sent = [
        _sent(1, 7, "You said: hi [1]", 10.6),  # the second message answered first
        _sent(1, 8, "You said: hi [0]", 10.7),
        _sent(2, 9, "You said: hi [0]", 11.01),
        _sent(2, 10, "You said: hi [", 11.02),  # unfinished: no number yet
        _sent(2, 11, "You said: hi [5]", 11.03),  # a number this chat never sent
    ]
    edits = [
        _edit(1, 7, "You said: hi [1]", 10.8),
        _edit(1, 7, "You said: hi [1]", 10.65),
        _edit(2, 99, "elsewhere", 20.0),
    ]
    first, finished = answer_times(injected, sent, edits)
    assert [round(ms) for ms in first] == [100, 700, 10]
    assert [round(ms) for ms in finished] == [300, 700, 10]
    assert chats_out_of_order(sent) == 1


def test_tiktokens_file_is_rebuilt_from_js_tiktokens_ranks_in_rank_order() -> None:
    ranks = {"pat_str": "x", "special_tokens": {}, "bpe_ranks": "! 2 Iw== JA==\n! 0 IQ== Ig==\n"}
    module = f"export default {json.dumps(ranks)};"
    assert tiktoken_ranks(module) == b"IQ== 0\nIg== 1\nIw== 2\nJA== 3\n"


def _result(scenario: str, **figures: Any) -> Result:
    base: dict[str, Any] = {
        "scenario": scenario, "messages": 10, "users": 2, "answered": 10, "seconds": 1.0,
        "throughput": 10.0, "latency_ms": {"p50": 20.0}, "cpu_ms_per_message": 10.0,
        "cpu_seconds": {"peer": 0.1}, "peak_rss_mb": {"peer": 200.0}, "rss_mb": {},
        "stages_ms": {}, "telegram_429s": 0, "max_sends_per_second": 1.0,
        "max_sends_per_chat_second": 1.0, "limit_violations": None,
        "delivery": {"out_of_order": 0, "duplicates": 0, "missing": 0},
    }  # fmt: skip
    return Result(**{**base, **figures})


def test_issue_41s_rows_compare_ours_with_the_peers_figures() -> None:
    ours = [
        _result(
            "backlog",
            throughput=160.0,
            cpu_ms_per_message=7.5,
            infra_cpu_ms_per_message=2.5,
            cpu_seconds={"one_process": 15.0},
            peak_rss_mb={"one_process": 179.0},
            extra={"startup": {"seconds": 1.4}, "startup_empty": {"seconds": 3.2}},
        ),
        _result(
            "steady",
            cpu_ms_per_message=21.0,
            latency_ms={"p50": 16.0},
            peak_rss_mb={"one_process": 181.0},
        ),
    ]
    peers = [
        _result(
            "backlog, peer",
            throughput=30.0,
            cpu_ms_per_message=33.0,
            extra={"chats_out_of_order": 42, "startup": {"seconds": 0.8}},
        ),
        _result(
            "steady, peer",
            cpu_ms_per_message=20.0,
            extra={"first_text_ms": {"p50": 13.0}, "chats_out_of_order": 3},
        ),
    ]
    rows = {
        r["target"]: (r["ours"], r["peer"], r["met"])
        for r in versus_peer(ours, peers, "one_process")
    }
    assert rows == {
        "backlog msg/s, ≥ 5× the peer's": (160.0, 30.0, True),
        "backlog CPU ms/msg (services) ≤ 8": (7.5, 33.0, True),
        "backlog CPU ms/msg in Postgres + Redis ≤ 2": (2.5, None, False),
        "paced CPU ms/msg ≤ the peer's": (21.0, 20.0, False),
        # ours answers whole, so its first text is its answer; the peer's is its first send
        "paced first visible text p50 ms ≤ the peer's": (16.0, 13.0, False),
        "paced finished answer p50 ms ≤ 15": (16.0, 20.0, False),
        "backlog: VmHWM MB, all processes ≤ 180": (179.0, 200.0, True),
        "steady: VmHWM MB, all processes ≤ 180": (181.0, 200.0, False),
        "start to answering s, migrated database ≤ 1.5": (1.4, 0.8, True),
        "start to answering s, empty database ≤ 3": (3.2, 0.8, False),
        "backlog: chats with an answer out of order": (0, 42, None),
        "steady: chats with an answer out of order": (0, 3, None),
    }
    processes = {r["target"] for r in versus_peer(ours, peers, "processes")}
    assert "backlog: VmHWM MB, all processes ≤ 400" in processes


def test_the_peers_rows_join_the_figures_but_not_our_targets() -> None:
    ours = _result("steady", cpu_seconds={"tg_bot": 0.05, "assistant": 0.05})
    rendered = table([ours], {}, [_result("steady, peer", cpu_seconds={"peer": 0.3})])
    assert "| steady, peer | 10/10 | 10.0 | 20.0 |" in rendered
    assert "(peer 30.0)" in rendered  # its own process named, not the five's columns
    assert "(0.0/0.0/5.0/0.0/5.0/0.0)" in rendered
    assert "steady: answer p50 ms ≤ 15 | 20.0 | MISSED" in rendered
    assert "steady, peer:" not in rendered
