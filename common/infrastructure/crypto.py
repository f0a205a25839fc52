"""Fernet helpers for secrets at rest. Only rest_service holds the master key.

`LLM_MODEL_DECRYPT_KEY` may list several keys, comma-separated, newest first: secrets decrypt
under any of them and are encrypted under the newest (MultiFernet), so a key is rotated by
putting a new one in front, running `./manage.py rotate-key`, then dropping the old one."""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretDecryptionError(Exception):
    """A stored secret does not decrypt under the configured master key."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def is_valid_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def master_keys(value: str) -> list[str]:
    """The keys of `LLM_MODEL_DECRYPT_KEY`, newest first."""
    return [key.strip() for key in value.split(",") if key.strip()]


def is_valid_master_key(value: str) -> bool:
    keys = master_keys(value)
    return bool(keys) and all(is_valid_fernet_key(key) for key in keys)


class SecretBox:
    """Encrypts text secrets under the newest master key; decrypts under any of them."""

    def __init__(self, master_key: str) -> None:
        fernets = [Fernet(key.encode()) for key in master_keys(master_key)]
        self._newest = fernets[0]
        self._fernet = MultiFernet(fernets)

    def is_current(self, token: str) -> bool:
        """Encrypted under the newest key already (a rotation leaves it alone)."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same secret encrypted under the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError("secret does not decrypt under any master key") from exc

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError("secret does not decrypt under the master key") from exc


def mask_secret(secret: str | None) -> str | None:
    """What an admin sees of a secret: its kind and last four characters (`sk-…abcd`)."""
    if not secret:
        return None
    head = secret[:3] if secret.startswith("sk-") else ""
    return f"{head}…{secret[-4:]}" if len(secret) > 8 else "…"
