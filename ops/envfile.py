"""The env file (`.env`): read it as the services do (python-dotenv, through pydantic-settings),
write it on first run with fresh secrets, and fill the secrets an existing one lacks."""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from common.infrastructure import service_tokens
from common.infrastructure.crypto import generate_key
from common.infrastructure.settings import ENV_FILE_VARIABLE

__all__ = [
    "ENV_FILE_VARIABLE",
    "EnvFileError",
    "fill_missing_secrets",
    "read_env_file",
    "write_env_file",
]


class EnvFileError(ValueError):
    """The env file cannot be read as the services would read it."""


def _token() -> str:
    """43 characters: past the 32 the settings demand (common/infrastructure/settings.py)."""
    return secrets.token_urlsafe(32)


_GENERATED = {
    "ADMIN_API_TOKEN": _token,
    "SERVICE_API_TOKEN": _token,
    **{service_tokens.env_name(name): _token for name in service_tokens.SCOPES},
    "LLM_MODEL_DECRYPT_KEY": generate_key,
    # docker-compose.yml refuses to start without it (the database's password).
    "POSTGRES_PASSWORD": _token,
}


def read_env_file(path: Path) -> dict[str, str]:
    """The file's values as python-dotenv gives them to the services (quotes, escapes, inline
    comments, `${VAR}`); a line it cannot parse is an error here, not a silent skip."""
    if not path.exists():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"cannot read env file {path}: {exc}") from exc
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = binding.original.string.strip()
            raise EnvFileError(
                f"{path} line {binding.original.line}: cannot parse {line[:60]!r} "
                "(expected NAME=value)"
            )
    values = dotenv_values(path, encoding="utf-8")
    return {name: value for name, value in values.items() if value is not None}


def write_env_file(example: Path, target: Path) -> list[str]:
    """Copy `example` to `target`, filling the generated secrets. Returns their names."""
    text, filled = _fill(example.read_text(), lambda _name: True)
    target.write_text(text)
    target.chmod(0o600)
    return filled


def fill_missing_secrets(target: Path) -> list[str]:
    """Give every generated secret that `target` leaves empty or out a fresh value, keeping
    everything else as it is. Returns the names it filled (none: the file is untouched)."""
    present = read_env_file(target)
    text, filled = _fill(target.read_text(), lambda name: not present.get(name))
    if filled:
        target.write_text(text)
        target.chmod(0o600)
    return filled


def _fill(text: str, wanted: Callable[[str], bool]) -> tuple[str, list[str]]:
    filled: list[str] = []
    for name, make in _GENERATED.items():
        if not wanted(name):
            continue
        pattern = re.compile(rf"^(export\s+)?{name}\s*=.*$", re.MULTILINE)
        if pattern.search(text):
            line = f"{name}={make()}"
            text = pattern.sub(lambda _match: line, text, count=1)  # noqa: B023 (used at once)
        else:
            text = text.rstrip("\n") + f"\n{name}={make()}\n"
        filled.append(name)
    return text, filled
