"""Several master keys, newest first: encrypt under the newest, decrypt under any, rotate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.infrastructure.crypto import (
    SecretBox,
    SecretDecryptionError,
    generate_key,
    is_valid_master_key,
    mask_secret,
)

KEYS = [generate_key() for _ in range(3)]


@settings(max_examples=40, deadline=None)
@given(secret=st.text(max_size=200), older=st.integers(1, 2))
def test_a_secret_of_an_older_key_rotates_to_the_newest(secret: str, older: int) -> None:
    token = SecretBox(KEYS[older]).encrypt(secret)
    ring = SecretBox(",".join(KEYS))
    assert ring.decrypt(token) == secret and not ring.is_current(token)
    rotated = ring.rotate(token)
    assert ring.is_current(rotated)
    assert SecretBox(KEYS[0]).decrypt(rotated) == secret
    assert SecretBox(KEYS[0]).decrypt(ring.encrypt(secret)) == secret


def test_a_secret_no_key_opens_is_an_error() -> None:
    token = SecretBox(generate_key()).encrypt("x")
    with pytest.raises(SecretDecryptionError):
        SecretBox(",".join(KEYS)).rotate(token)
    with pytest.raises(SecretDecryptionError, match="does not decrypt under the master key"):
        SecretBox(",".join(KEYS)).decrypt(token)
    with pytest.raises(SecretDecryptionError):
        SecretBox(KEYS[0]).decrypt("not a token")


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        (None, None),
        ("", None),
        ("short", "…"),
        ("12345678", "…"),
        ("sk-proj-abcdefgh1234", "sk-…1234"),
        ("AIzaSyA-somekey-wxyz", "…wxyz"),
    ],
)
def test_an_admin_sees_only_a_secrets_kind_and_last_four(
    secret: str | None, shown: str | None
) -> None:
    assert mask_secret(secret) == shown


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (KEYS[0], True),
        (f"{KEYS[0]},{KEYS[1]}", True),
        (f" {KEYS[0]} , {KEYS[1]} ", True),
        (f"{KEYS[0]},short", False),
        ("", False),
        (",", False),
    ],
    # the keys are made per run: ids of their own keep pytest-xdist's workers' lists equal
    ids=["one", "two", "two-spaced", "one-and-short", "empty", "comma"],
)
def test_a_master_key_setting_is_one_or_more_fernet_keys(value: str, valid: bool) -> None:
    assert is_valid_master_key(value) is valid
