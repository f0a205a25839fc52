"""The stdio MCP servers an operator allows, `MCP_STDIO_SERVERS`: a JSON object from a server's
name to how it starts. The API and the admin name a server (`{"transport": "stdio",
"server": "files"}`), never a command; rest_service checks the name, the assistant starts
the server. Example:

    MCP_STDIO_SERVERS={"files": {"command": "/usr/local/bin/mcp-files",
                                 "args": ["--root", "/srv/shared"], "env": ["FILES_TOKEN"]}}
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

#: A server's name as the API gives it: short, lowercase, no spaces.
SERVER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The setting's name, for the messages that point an admin at it.
SETTING = "MCP_STDIO_SERVERS"


class StdioServer(BaseModel):
    """How one stdio server starts: `command` with `args` (no shell), in `cwd`, with an
    empty environment plus `PATH` and the variables `env` names (their values are the
    assistant's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str = Field(min_length=1)
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    cwd: str = "/"

    @field_validator("command", "cwd")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL")
        return value

    @field_validator("args")
    @classmethod
    def _args_without_nul(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any("\x00" in part for part in value):
            raise ValueError("no argument may contain NUL")
        return value

    @field_validator("env")
    @classmethod
    def _variable_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _ENV_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"not environment variable names: {bad}")
        return value


def _json_text(value: Any) -> Any:
    """The setting as text (an env file's line handed over as a keyword) is JSON too."""
    return json.loads(value) if isinstance(value, str) else value


ServerName = Annotated[str, StringConstraints(pattern=f"^{SERVER_NAME.pattern}$")]
#: The setting's type in each service that reads it.
StdioServers = Annotated[dict[ServerName, StdioServer], BeforeValidator(_json_text)]
