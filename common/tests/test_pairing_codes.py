"""Pairing codes: every code made reads back as itself, however it is typed back (case,
spaces around), and nothing else reads as a code."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from common.features.pairing import ALPHABET, CODE_PATTERN, LENGTH, new_code, parse_code

codes = st.text(alphabet=ALPHABET, min_size=LENGTH, max_size=LENGTH)


def test_a_new_code_is_six_characters_without_look_alikes() -> None:
    made = {new_code() for _ in range(50)}
    assert all(parse_code(code) == code for code in made) and len(made) > 1
    assert not set("".join(made)) & set("0O1IL")


@given(code=codes, before=st.sampled_from(["", " ", "\n"]), after=st.sampled_from(["", " "]))
def test_a_code_typed_back_in_lower_case_or_with_spaces_reads_as_itself(
    code: str, before: str, after: str
) -> None:
    assert parse_code(f"{before}{code.lower()}{after}") == code


@given(raw=st.text(max_size=12))
def test_anything_read_as_a_code_is_one(raw: str) -> None:
    code = parse_code(raw)
    assert code is None or re.fullmatch(CODE_PATTERN, code)


@given(code=codes, extra=st.text(alphabet=ALPHABET, min_size=1, max_size=3))
def test_a_code_with_more_characters_is_not_a_code(code: str, extra: str) -> None:
    assert parse_code(code + extra) is None and parse_code(code[:-1]) is None
