"""An answer asks about held calls in the order the model made them, however the calls of one
turn, running at once, happened to finish and note their questions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistant.src.orchestrator import in_call_order
from common.features.confirmations import HeldCall, Pending, PendingDelete


def held(position: str) -> HeldCall:
    return HeldCall(user_id="u", chat_id=1, assistant_id="a", tool="remember", position=position)


DELETE = PendingDelete("u", "event", "primary", "Dentist", "2026-11-26T09:00:00+01:00")


def test_two_held_calls_noted_in_the_order_they_finished_are_asked_in_the_models_order() -> None:
    noted = [("t1", held("1")), ("t0", held("0"))]
    assert [token for token, _ in in_call_order(noted)] == ["t0", "t1"]


def test_positions_are_numbers_and_a_sub_assistants_calls_follow_their_caller() -> None:
    noted = [("a", held("10")), ("b", held("2/1")), ("c", held("9")), ("d", held("2"))]
    assert [token for token, _ in in_call_order(noted)] == ["d", "b", "c", "a"]


def test_deletes_and_answered_questions_keep_their_places() -> None:
    noted: list[tuple[str, Pending | None]] = [
        ("x", held("3")), ("gone", None), ("del", DELETE), ("y", held("1")),
    ]  # fmt: skip
    assert [token for token, _ in in_call_order(noted)] == ["y", "gone", "del", "x"]


@given(st.permutations([f"{i}" for i in range(12)] + ["4/0", "4/1", "11/3"]))
def test_any_finishing_order_gives_the_same_questions(positions: list[str]) -> None:
    noted: list[tuple[str, Pending | None]] = [(p, held(p)) for p in positions]
    ordered = [token for token, _ in in_call_order(noted)]
    expected = sorted(positions, key=lambda p: tuple(int(x) for x in p.split("/")))
    assert ordered == expected
