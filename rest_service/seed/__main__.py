"""`python -m rest_service.seed [file]`: import the default configuration (idempotent)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from common.logging import configure_logging
from common.settings import load_settings
from rest_service.app.settings import Settings
from rest_service.seed import DEFAULT_CONFIG, seed


def main(argv: list[str]) -> int:
    settings = load_settings(Settings)
    configure_logging(settings, "rest_service.seed")
    path = Path(argv[0]) if argv else DEFAULT_CONFIG
    result = asyncio.run(seed(settings, path))
    parts = ", ".join(
        f"{name} +{getattr(result, name).created}/~{getattr(result, name).updated}"
        for name in ("providers", "models", "assistants", "tools", "links")
    )
    print(f"seeded config version {result.version}: {parts} (+created/~updated)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
