"""`python -m rest_service.seed [--reset [--yes]] [FILE]`: the default configuration.

Without `--reset` it never overwrites: a database without assistants gets the whole
document, one with them only the default rows missing by name. `--reset` puts every default
back: it prints the differences first and asks (y/N) on a terminal; with no terminal it
refuses unless `--yes` is given."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from common.infrastructure.logging import configure_logging
from common.infrastructure.settings import load_settings
from rest_service.app.models.snapshot import ImportResult
from rest_service.app.settings import Settings
from rest_service.seed import DEFAULT_CONFIG, SeedResult, differences, reset, seed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m rest_service.seed")
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--reset", action="store_true", help="overwrite with the defaults")
    parser.add_argument("--yes", action="store_true", help="reset without asking")
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    configure_logging(settings, "rest_service.seed")
    if not args.reset:
        print(_report(asyncio.run(seed(settings, args.file))))
        return 0
    return _reset(settings, args.file, args.yes)


def _reset(settings: Settings, path: Path, yes: bool) -> int:
    lines = asyncio.run(differences(settings, path))
    if not lines:
        print("seed --reset: the configuration already is the default one; nothing to change")
        return 0
    print("seed --reset would change (+ added, ~ changed):")
    print("\n".join(f"  {line}" for line in lines))
    if not yes and not _confirmed():
        return 1
    result = asyncio.run(reset(settings, path))
    print(f"seed --reset: defaults restored, config version {result.version}: {_counts(result)}")
    return 0


def _confirmed() -> bool:
    if sys.stdin is None or not sys.stdin.isatty():
        print(
            "seed --reset: not confirmed and no terminal to ask on; nothing changed "
            "(add --yes to reset without asking)",
            file=sys.stderr,
        )
        return False
    try:
        answer = input("Overwrite these with the defaults? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("seed --reset: nothing changed", file=sys.stderr)
    return False


def _report(outcome: SeedResult) -> str:
    version = outcome.result.version
    if outcome.full:
        return f"seeded the default configuration, config version {version}: " + _counts(
            outcome.result
        )
    lines = []
    if outcome.added:
        lines.append(f"seed added {', '.join(outcome.added)} (config version {version})")
    if outcome.key_for:
        lines.append(f"seed put OPENAI_API_KEY (encrypted) into provider {outcome.key_for!r}")
    if not lines:
        lines.append("seed: every default row is there (by name); nothing added")
    lines.append("seed changed nothing that exists (`seed --reset` restores the defaults)")
    return "\n".join(lines)


def _counts(result: ImportResult) -> str:
    return (
        ", ".join(
            f"{name} +{getattr(result, name).created}/~{getattr(result, name).updated}"
            for name in ("providers", "models", "assistants", "tools", "links")
        )
        + " (+created/~updated)"
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
