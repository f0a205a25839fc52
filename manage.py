#!/usr/bin/env python3
"""Smart Assistant's one command: `./manage.py up`, `./manage.py test`, and the operations.

Standard library only until the project's environment exists: the first run creates
`.venv` from `uv.lock` (installing uv if the machine has none) and re-runs itself inside it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".smart-assistant-lock"
TOOLS = ROOT / ".tools"


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("uv.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    tool_uv = TOOLS / "bin" / "uv"
    if not tool_uv.exists():
        print("manage.py: installing uv into .tools/ (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run(
            [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet", "uv"], check=True
        )
    return str(tool_uv)


def _ensure_environment() -> None:
    """Sync `.venv` with the lock when it changed, then continue inside it."""
    if os.environ.get("SMART_ASSISTANT_NO_BOOTSTRAP") == "1":
        return
    inside = Path(sys.prefix).resolve() == VENV.resolve()
    digest = _lock_digest()
    if not (VENV_PYTHON.exists() and STAMP.exists() and STAMP.read_text() == digest):
        print("manage.py: installing the project's environment from uv.lock", file=sys.stderr)
        subprocess.run(
            [_uv(), "sync", "--frozen", "--all-extras", "--python", sys.executable],
            check=True,
            cwd=ROOT,
            env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)},
        )
        STAMP.write_text(digest)
    if not inside:
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "manage.py"), *sys.argv[1:]])


if __name__ == "__main__":
    _ensure_environment()
    sys.path.insert(0, str(ROOT))
    from ops.cli import main

    sys.exit(main(sys.argv[1:]))
