"""Every text file of the project is UTF-8 and holds no UTF-8 read back as Latin-1 (each
Cyrillic letter as two signs, "Ñ" and a control character): the seed's tool descriptions
once showed the model such examples."""

from __future__ import annotations

import re
import subprocess

import pytest

from ops.services import ROOT

pytestmark = pytest.mark.policy

#: A UTF-8 lead byte's Latin-1 letter followed by a continuation byte's (C1 control or
#: Latin-1 sign): what a UTF-8 letter becomes when decoded as Latin-1.
MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")
TEXT = (".py", ".md", ".json", ".toml", ".yaml", ".yml", ".txt", ".csv", ".html", ".cfg", ".ini")


def tracked_text_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [name for name in listed.split("\0") if name.endswith(TEXT)]


def test_text_files_are_utf8_without_mojibake() -> None:
    found = []
    for name in tracked_text_files():
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8")
        lines = [text.count("\n", 0, m.start()) + 1 for m in MOJIBAKE.finditer(text)]
        found += [f"{name}:{line}" for line in lines]
    assert not found, found


def test_the_pattern_finds_utf8_read_as_latin1() -> None:
    assert MOJIBAKE.search("стрижка".encode().decode("latin-1"))
    assert not MOJIBAKE.search("стрижка, café, naïve, Größe, 10 °C, ±5, ½")
