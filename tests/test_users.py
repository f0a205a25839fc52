"""The test users helper: every user made is a new one, inside Hypothesis tests too."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tiers import examples
from tests.users import new_telegram_id

_seen: list[int] = []


@settings(max_examples=examples(5), database=None)
@given(st.integers())
def _one_id_per_example(_any: int) -> None:
    _seen.append(new_telegram_id())


def test_each_hypothesis_example_gets_a_telegram_id_of_its_own() -> None:
    _seen.clear()
    _one_id_per_example()
    assert len(_seen) > 1 and len(set(_seen)) == len(_seen)
    assert all(10**8 <= one < 10**10 for one in _seen)
