"""Slack's request signature: a request signed as Slack signs it (the stand-in's own
implementation) passes; a changed body, another secret, a forged or missing signature, or a
timestamp more than five minutes off is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.src.adapters.slack.signing import MAX_AGE_SECONDS, BadSignature, verify
from sandbox.slack_api import signature as slack_signs

NOW = 1_700_000_000
secrets = st.text(min_size=1, max_size=64)
bodies = st.binary(max_size=2048)


@given(secret=secrets, body=bodies, skew=st.integers(-MAX_AGE_SECONDS, MAX_AGE_SECONDS))
def test_a_request_slack_signed_within_five_minutes_passes(
    secret: str, body: bytes, skew: int
) -> None:
    stamp = str(NOW + skew)
    verify(secret, stamp, slack_signs(secret, stamp, body), body, NOW)


@given(secret=secrets, body=bodies, data=st.data())
def test_a_changed_body_is_refused(secret: str, body: bytes, data: st.DataObject) -> None:
    other = data.draw(bodies.filter(lambda b: b != body))
    stamp = str(NOW)
    with pytest.raises(BadSignature, match="does not match"):
        verify(secret, stamp, slack_signs(secret, stamp, body), other, NOW)


@given(secret=secrets, other=secrets, body=bodies)
def test_another_secret_is_refused(secret: str, other: str, body: bytes) -> None:
    if secret == other:
        return
    stamp = str(NOW)
    with pytest.raises(BadSignature):
        verify(secret, stamp, slack_signs(other, stamp, body), body, NOW)


@given(age=st.integers(MAX_AGE_SECONDS + 1, 10**9), later=st.booleans())
def test_a_stale_or_future_timestamp_is_refused_even_when_signed(age: int, later: bool) -> None:
    stamp = str(NOW + age if later else NOW - age)
    with pytest.raises(BadSignature, match="too old"):
        verify("s", stamp, slack_signs("s", stamp, b"{}"), b"{}", NOW)


@given(forged=st.text(max_size=80))
def test_any_forged_signature_is_refused(forged: str) -> None:
    stamp = str(NOW)
    if forged == slack_signs("s", stamp, b"{}"):
        return
    with pytest.raises(BadSignature):
        verify("s", stamp, forged, b"{}", NOW)


@pytest.mark.parametrize(
    ("stamp", "signed"),
    [(None, "v0=00"), (str(NOW), None), ("", "v0=00"), ("soon", "v0=00"), ("1e9", "v0=00")],
    ids=["no-timestamp", "no-signature", "empty-timestamp", "word", "exponent"],
)
def test_a_request_without_a_usable_signature_is_refused(
    stamp: str | None, signed: str | None
) -> None:
    with pytest.raises(BadSignature):
        verify("s", stamp, signed, b"{}", NOW)
