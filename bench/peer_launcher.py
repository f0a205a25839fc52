"""Starts the peer bot (n3d1117/chatgpt-telegram-bot) against the Telegram stand-in without
editing its files: `python bench/peer_launcher.py PEER_SOURCE`, in the peer's own environment
(bench/peer.py makes it), with `PEER_TELEGRAM_API_BASE` the stand-in's URL.

The peer builds its `Application` with python-telegram-bot's `ApplicationBuilder` and no
`base_url`; this sets the builder's `base_url` and `base_file_url` just before each `build()`,
then runs the peer's `bot/main.py` as its `__main__`. Its OpenAI client takes
`OPENAI_BASE_URL` from the environment by itself. Standard library only (plus the peer's own
python-telegram-bot): it runs outside this project's environment.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

API_BASE_VARIABLE = "PEER_TELEGRAM_API_BASE"


def patch_builder(builder: type[Any], api_base: str) -> None:
    """Make every `builder().….build()` talk to `api_base` (`{api_base}/bot<token>/<method>`,
    files under `{api_base}/file/bot<token>/`), as Telegram's own URLs are laid out."""
    original = builder.build
    base = api_base.rstrip("/")

    def build(self: Any) -> Any:
        self.base_url(f"{base}/bot")
        self.base_file_url(f"{base}/file/bot")
        return original(self)

    builder.build = build


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: peer_launcher.py PEER_SOURCE")
    bot = Path(argv[0]).resolve() / "bot"
    from telegram.ext import ApplicationBuilder  # the peer's environment only

    patch_builder(ApplicationBuilder, os.environ[API_BASE_VARIABLE])
    sys.path.insert(0, str(bot))  # its modules import each other by bare name
    sys.argv = [str(bot / "main.py")]
    runpy.run_path(str(bot / "main.py"), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
