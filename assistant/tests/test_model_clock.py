"""The time a turn waits on the model (`ModelClock`), which the answer-time SLO leaves out:
requests one after another add up, requests at the same time count once, and a request that
fails counts as well."""

from __future__ import annotations

import pytest

from assistant.src.clients.llm import ModelClock


class Ticks:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def test_requests_one_after_another_add_up() -> None:
    ticks = Ticks()
    clock = ModelClock(now=ticks)
    with clock.waiting():
        ticks.at += 2
    ticks.at += 5  # the turn's own work: not the model's
    with clock.waiting():
        ticks.at += 1.5
    assert clock.seconds == 3.5


def test_requests_at_the_same_time_count_once() -> None:
    """Two sub-assistants asked at once: from the first request out to the last one back."""
    ticks = Ticks()
    clock = ModelClock(now=ticks)
    first, second = clock.waiting(), clock.waiting()
    first.__enter__()
    ticks.at += 1
    second.__enter__()
    ticks.at += 2
    first.__exit__(None, None, None)
    ticks.at += 1
    second.__exit__(None, None, None)
    assert clock.seconds == 4


def test_a_failed_request_is_the_model_s_time_too() -> None:
    ticks = Ticks()
    clock = ModelClock(now=ticks)
    with pytest.raises(TimeoutError), clock.waiting():
        ticks.at += 30
        raise TimeoutError
    assert clock.seconds == 30


def test_a_turn_that_asked_no_model_waited_none() -> None:
    assert ModelClock().seconds == 0.0
