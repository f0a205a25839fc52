"""The `.env` file: read it, and write it on first run with fresh secrets."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from common import service_tokens
from common.crypto import generate_key


def _token() -> str:
    """43 characters: past the 32 the settings demand (common/settings.py)."""
    return secrets.token_urlsafe(32)


_GENERATED = {
    "ADMIN_API_TOKEN": _token,
    "SERVICE_API_TOKEN": _token,
    **{service_tokens.env_name(name): _token for name in service_tokens.SCOPES},
    "LLM_MODEL_DECRYPT_KEY": generate_key,
}


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip().removeprefix("export ").strip()] = value
    return values


def write_env_file(example: Path, target: Path) -> list[str]:
    """Copy `example` to `target`, filling the generated secrets. Returns their names."""
    text = example.read_text()
    filled: list[str] = []
    for name, make in _GENERATED.items():
        pattern = re.compile(rf"^{name}=.*$", re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(f"{name}={make()}", text, count=1)
        else:
            text += f"\n{name}={make()}\n"
        filled.append(name)
    target.write_text(text)
    target.chmod(0o600)
    return filled
