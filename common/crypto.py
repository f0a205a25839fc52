"""Fernet helpers for secrets at rest. Only rest_service holds the master key."""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet, InvalidToken


class SecretDecryptionError(Exception):
    """A stored secret does not decrypt under the configured master key."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def is_valid_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


class SecretBox:
    """Encrypts and decrypts text secrets under one master key."""

    def __init__(self, master_key: str) -> None:
        self._fernet = Fernet(master_key.encode())

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
