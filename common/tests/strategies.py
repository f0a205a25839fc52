"""Hypothesis strategies for outside input: text as JSON can carry it, lone surrogates and
NUL included (hypothesis' own `text()` never makes surrogates)."""

from __future__ import annotations

from hypothesis import strategies as st

SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)


def any_text(max_size: int = 300) -> st.SearchStrategy[str]:
    """Any code points: letters, emoji, controls, NUL, lone and split surrogate pairs."""
    pieces = st.one_of(
        st.characters(), SURROGATE, st.just("\x00"), st.sampled_from(["\ud83d\ude00", "😀"])
    )
    return st.lists(pieces, max_size=max_size).map("".join)
