"""System programs some tests need (kubectl, caddy, pgbouncer, promtool, chromium, the
Postgres server binaries, Dovecot and Postfix): a test without its program skips with one line
that names it and the Debian package to install. CI sets REQUIRE_SYSTEM_TOOLS=1 and installs
them all; there a missing program fails the test instead, so nothing is skipped unnoticed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

#: Set to 1 where every program must be there (CI): a missing one is a failure, not a skip.
REQUIRE_SYSTEM_TOOLS = "REQUIRE_SYSTEM_TOOLS"


def tools_required() -> bool:
    return os.environ.get(REQUIRE_SYSTEM_TOOLS, "") not in ("", "0")


def missing_program(name: str, package: str) -> str:
    return f"{name} is missing: apt-get install {package}"


def require_program(name: str, package: str, *candidates: str | Path) -> str:
    """The path of `name` on PATH, else of the first of `candidates` that exists (programs
    Debian keeps off PATH); skips the test when there is none, or fails it under
    REQUIRE_SYSTEM_TOOLS=1."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in candidates:
        if Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    skip_or_fail(missing_program(name, package))


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test for a reason of the machine's; a failure under REQUIRE_SYSTEM_TOOLS=1."""
    if tools_required():
        pytest.fail(f"{reason} ({REQUIRE_SYSTEM_TOOLS}=1)")
    pytest.skip(reason)


def postgres_bin() -> Path:
    """The folder of the Postgres server binaries (initdb, pg_ctl, postgres): those initdb on
    PATH links to, else Debian's newest under /usr/lib/postgresql (off PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version)
    return Path(require_program("initdb", "postgresql", *reversed(versions))).resolve().parent


def _version(initdb: Path) -> tuple[int, ...]:
    number = initdb.parts[-3]
    return tuple(int(part) for part in number.split(".") if part.isdigit())
