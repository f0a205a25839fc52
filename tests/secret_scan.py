"""A secret scanner for the repository: what must never be committed (private keys, bot
tokens, provider keys, OAuth client secrets, cloud keys, master keys, passwords in URLs),
with a narrow allow-list of the obvious local placeholders our docs and compose files use.

Used by tests/test_security.py; kept apart so the test can plant secrets in a temporary
file and prove the scanner sees them.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: How much of a file is probed for a NUL byte to tell a binary file.
_BINARY_PROBE = 8192

#: Passwords in URLs that are local placeholders, not secrets: throwaway test databases
#: and the compose default that a real install overrides (`${POSTGRES_PASSWORD:-...}`).
PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "pass", "secret", "postgres", "test_password", "changeme", "…", "..."}
)

#: Settings whose value is a secret: in env-style files they must be empty or placeholders.
SECRET_SETTING = re.compile(
    r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|API_KEY|DECRYPT_KEY))"
    r"\s*[=:]\s*(.*?)\s*$"
)
_PLACEHOLDER_VALUE = re.compile(
    r"""^(?:|["']{2}|\$\{[A-Z0-9_]+(?::[-?][^}]*)?\}|<[^>]*>|changeme|change-me|xxx+|\.\.\.|…"""
    r"""|test_password)$""",
    re.IGNORECASE,
)
_ENV_FILES = re.compile(r"(^|/)(\.env[^/]*|[^/]*\.env|docker-compose[^/]*\.ya?ml)$")

PATTERNS: dict[str, re.Pattern[str]] = {
    "private key (PEM block)": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "Telegram bot token": re.compile(r"(?<![\w:])\d{8,10}:[A-Za-z0-9_-]{35}(?![\w-])"),
    "OpenAI API key": re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}"),
    "Anthropic API key": re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{32,}"),
    "Google OAuth client secret": re.compile(r"GOCSPX-[A-Za-z0-9_-]{20,}"),
    "Google API key": re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])"),
    "Google OAuth refresh token": re.compile(r"(?<![\w-])1//0[A-Za-z0-9_-]{40,}"),
    "AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
    "AWS secret access key": re.compile(
        r"(?i)aws_secret_access_key\s*[=:]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
    ),
    "GitHub token": re.compile(r"(?<![\w-])gh[pousr]_[A-Za-z0-9]{36,}"),
    "Slack token": re.compile(r"(?<![\w-])xox[abpors]-[A-Za-z0-9-]{10,}"),
    "Fernet key assigned to a setting": re.compile(
        r"(?i)[A-Z_]*(?:KEY|SECRET)[A-Z_]*[\"']?\s*[=:]\s*[\"']?[A-Za-z0-9_-]{43}=(?![\w=])"
    ),
}
_URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@\"'`]+:([^\s/@\"'`]+)@[^\s/\"'`]+")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.excerpt}"


def _excerpt(line: str, start: int, end: int) -> str:
    """The match with a little context; the middle of the secret itself is masked."""
    secret = line[start:end]
    masked = secret[:6] + "…" + secret[-4:] if len(secret) > 14 else secret
    return (line[max(0, start - 30) : start] + masked + line[end : end + 20]).strip()


#: Marks a line of made-up credentials in a test (providers' URL shapes, a throwaway role of a
#: server the test starts); the marker sits on the line itself, so it covers nothing else.
EXAMPLE_MARK = "secret-scan: example"


def _url_password_is_placeholder(password: str) -> bool:
    return password.lower() in PLACEHOLDER_PASSWORDS or password.startswith("${")


def scan_line(path: str, number: int, line: str) -> Iterator[Finding]:
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(line):
            yield Finding(path, number, kind, _excerpt(line, match.start(), match.end()))
    for match in _URL_PASSWORD.finditer(line):
        if EXAMPLE_MARK in line:
            continue
        if not _url_password_is_placeholder(match.group(1)):
            yield Finding(
                path, number, "password in a URL", _excerpt(line, match.start(), match.end())
            )
    if _ENV_FILES.search(path):
        setting = SECRET_SETTING.match(line)
        if setting and not _PLACEHOLDER_VALUE.match(setting.group(2)):
            start = line.index(setting.group(2))
            yield Finding(
                path,
                number,
                f"secret setting {setting.group(1)} has a value",
                _excerpt(line, start, start + len(setting.group(2))),
            )


def scan_text(path: str, text: str) -> list[Finding]:
    return [
        finding
        for number, line in enumerate(text.splitlines(), start=1)
        for finding in scan_line(path, number, line)
    ]


def scan_file(root: Path, relative: str) -> list[Finding]:
    file = root / relative
    if file.is_symlink() or not file.is_file():
        return []
    data = file.read_bytes()
    if b"\0" in data[:_BINARY_PROBE]:
        return []  # binary: nothing we keep in git is a binary secret store
    return scan_text(relative, data.decode("utf-8", errors="replace"))


def _in_virtualenv(root: Path, relative: str) -> bool:
    """A virtualenv (pyvenv.cfg at its top) holds third-party code and is never committed."""
    parts = Path(relative).parts
    return any((root.joinpath(*parts[:i]) / "pyvenv.cfg").exists() for i in range(1, len(parts)))


def repository_files(root: Path) -> list[str]:
    """What git tracks, plus untracked files git does not ignore (about to be committed)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    files = sorted({name for name in listed.split("\0") if name})
    return [name for name in files if not _in_virtualenv(root, name)]


def scan_repository(root: Path) -> list[Finding]:
    return [finding for name in repository_files(root) for finding in scan_file(root, name)]
