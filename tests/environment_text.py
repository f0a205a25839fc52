"""What a process environment can hold, for properties over settings read from it: any UTF-8
text but NUL, which `os.environ` refuses before a settings class sees the value."""

from __future__ import annotations

from hypothesis import strategies as st

#: A character an environment variable's value (or name) can hold.
CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
