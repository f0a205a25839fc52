#!/usr/bin/env python3
"""Smart Assistant's one command: `./manage.py up`, `./manage.py test`, and the operations.

Standard library only until the project's environment exists: the first run creates
`.venv` from `uv.lock` (with a pinned uv, and a uv-managed Python 3.11 when the machine's
python is another version) and re-runs itself inside it. `test` and `bench` install the
development extras too; every other command only the runtime ones.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
TOOLS = ROOT / ".tools"
#: The uv this project is tested with (the Dockerfiles install the same).
UV_VERSION = "0.13.9"
#: The Python every image and the lock use (pyproject: requires-python "==3.11.*").
PYTHON_VERSION = (3, 11)
#: Commands that need the development extra (pytest, linters, container tools).
DEV_COMMANDS = frozenset({"test", "bench"})
#: manage.py's own options that take a value (to find the command in argv before argparse).
_VALUED_OPTIONS = frozenset({"--data-dir", "--env-file", "--base-port"})


class BootstrapError(RuntimeError):
    """The environment cannot be made; the message says what to do."""


def say(message: str) -> None:
    print(f"manage.py: {message}", file=sys.stderr, flush=True)


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("uv.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def command_of(argv: list[str]) -> str | None:
    """The sub-command in manage.py's arguments (`--base-port 9000 up` -> `up`)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def extras() -> list[str]:
    """The optional-dependency groups of pyproject.toml (no tomllib: any Python reads this)."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return re.findall(r"^([A-Za-z0-9_-]+)\s*=\s*\[", section, re.MULTILINE)


def extra_set(command: str | None) -> tuple[str, list[str]]:
    """("dev" | "runtime", the uv flags that install it). dev = runtime + the dev extra."""
    if command in DEV_COMMANDS:
        return "dev", ["--all-extras"]
    flags = [flag for name in extras() if name != "dev" for flag in ("--extra", name)]
    return "runtime", flags


def stamp(name: str) -> Path:
    return VENV / f".smart-assistant-{name}"


#: The one stamp of earlier versions, written after `--all-extras`: it stands for dev.
LEGACY_STAMP = VENV / ".smart-assistant-lock"


def satisfied(wanted: str, digest: str) -> bool:
    """The environment holds `wanted` for this lock: its own stamp, or dev's (a superset)."""
    names = ("runtime", "dev") if wanted == "runtime" else ("dev",)
    stamps = [stamp(n) for n in names] + [LEGACY_STAMP]
    return VENV_PYTHON.exists() and any(s.exists() and s.read_text() == digest for s in stamps)


def parse_uv_version(output: str) -> tuple[int, ...] | None:
    """`uv 0.13.9 (abc 2025-10-01)` -> (0, 13, 9)."""
    found = re.search(r"\buv (\d+)\.(\d+)\.(\d+)", output)
    return tuple(int(part) for part in found.groups()) if found else None


def uv_compatible(version: tuple[int, ...] | None) -> bool:
    """An older uv than the pinned one may not read this lock's format; a newer one does."""
    pinned = tuple(int(part) for part in UV_VERSION.split("."))
    return version is not None and version >= pinned


def _version_of(uv: str) -> tuple[int, ...] | None:
    try:
        result = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return parse_uv_version(result.stdout)


def _uv() -> str:
    """The machine's uv when it is at least the pinned version, else the pinned one in .tools."""
    found = shutil.which("uv")
    if found:
        version = _version_of(found)
        if uv_compatible(version):
            return found
        shown = ".".join(map(str, version)) if version else "of unknown version"
        say(f"the machine's uv {shown} is older than {UV_VERSION}; using {UV_VERSION} in .tools/")
    tool_uv = TOOLS / "bin" / "uv"
    if _version_of(str(tool_uv)) != tuple(int(p) for p in UV_VERSION.split(".")):
        say(f"installing uv {UV_VERSION} into .tools/ (once)")
        _run([sys.executable, "-m", "venv", str(TOOLS)], "making .tools/")
        _run(
            [str(TOOLS / "bin" / "python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
            f"installing uv {UV_VERSION} (pip needs PyPI once)",
        )
    return str(tool_uv)


def python_for_sync(uv: str) -> str:
    """This interpreter when it is 3.11; else a 3.11 uv finds or installs (managed)."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return sys.executable
    wanted = ".".join(map(str, PYTHON_VERSION))
    found = _find_python(uv, wanted)
    if found:
        return found
    say(f"this is Python {sys.version.split()[0]}; installing a uv-managed Python {wanted} (once)")
    installed = subprocess.run([uv, "python", "install", wanted], cwd=ROOT)
    found = _find_python(uv, wanted) if installed.returncode == 0 else None
    if not found:
        raise BootstrapError(
            f"Smart Assistant needs Python {wanted} and this machine has "
            f"{sys.version.split()[0]}; uv could not download {wanted} (offline, or "
            f"UV_PYTHON_DOWNLOADS=never?). Install python{wanted} (e.g. apt-get install "
            f"python{wanted}), or run `uv python install {wanted}` once with network access"
        )
    return found


def _find_python(uv: str, wanted: str) -> str | None:
    result = subprocess.run(
        [uv, "python", "find", wanted], capture_output=True, text=True, cwd=ROOT
    )
    path = result.stdout.strip()
    return path if result.returncode == 0 and path else None


def _run(command: list[str], what: str, **kwargs: object) -> None:
    result = subprocess.run(command, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise BootstrapError(f"{what} failed (exit code {result.returncode}); see above")


def ensure_environment(argv: list[str]) -> None:
    """Sync `.venv` with the lock and the command's extras when needed, then continue in it."""
    if os.environ.get("SMART_ASSISTANT_NO_BOOTSTRAP") == "1":
        return
    inside = Path(sys.prefix).resolve() == VENV.resolve()
    digest = _lock_digest()
    wanted, flags = extra_set(command_of(argv))
    if not satisfied(wanted, digest):
        uv = _uv()
        python = python_for_sync(uv)
        say(f"installing the project's environment from uv.lock ({wanted} extras)")
        # Compiled now, not by the first start: five services compiling their imports at
        # once doubled the first `up`'s start-up (as the images do: UV_COMPILE_BYTECODE).
        _run(
            [uv, "sync", "--frozen", "--compile-bytecode", *flags, "--python", python],
            "uv sync",
            cwd=ROOT,
            env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)},
        )
        for old in (stamp("runtime"), stamp("dev"), LEGACY_STAMP):  # a sync removes the rest
            old.unlink(missing_ok=True)
        stamp(wanted).write_text(digest)
    if not inside:
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "manage.py"), *argv])


if __name__ == "__main__":
    try:
        ensure_environment(sys.argv[1:])
    except BootstrapError as exc:
        say(f"error: {exc}")
        sys.exit(1)
    sys.path.insert(0, str(ROOT))
    from ops.cli import main

    sys.exit(main(sys.argv[1:]))
