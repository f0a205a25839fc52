"""An mcp tool names its stdio server (one of the operator's MCP_STDIO_SERVERS) instead of
holding a command: each stored command is moved out of reach, the tool turned off.

A row `{"transport": "stdio", "command": [...]}` becomes `{"transport": "stdio", "server":
<the tool's name, fitted to a server name>, "former_command": [...]}` with `is_active`
false; the log says which, so the operator can add the command to MCP_STDIO_SERVERS under
that name and turn the tool back on. Nothing stored is run any more.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 12:10:00.000000+00:00
"""

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

#: What said how to start a process; the API refuses these keys now.
_COMMAND_KEYS = ("command", "args", "env", "cwd")


def upgrade() -> None:
    if context.is_offline_mode():  # the rows are read to be rewritten: no script can do that
        raise CommandError(
            "migration 0011 cannot be run offline (--sql): it reads each mcp tool's stored "
            "command to move it; run it against the database (./manage.py upgrade)"
        )
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, name, config FROM tools WHERE tool_type::text = 'mcp'"
            " AND config ?| array['command', 'args', 'env', 'cwd']"
        )
    ).all()
    for tool_id, name, config in rows:
        kept = {k: v for k, v in config.items() if k not in _COMMAND_KEYS}
        if config.get("transport") != "stdio":  # a stray key an HTTP server never used
            _store(conn, tool_id, kept, active=None)
            continue
        moved = {**kept, "server": _server_name(name), "former_command": config.get("command")}
        _store(conn, tool_id, moved, active=False)
        log.warning(
            "mcp tool %r turned off: its command %s is no longer run from the database; "
            "add it to MCP_STDIO_SERVERS as %r, then turn the tool on",
            name,
            json.dumps(config.get("command")),
            moved["server"],
        )


def downgrade() -> None:
    # The commands stay where upgrade put them (`former_command`); none is run again.
    pass


def _server_name(tool_name: str) -> str:
    """The tool's name as a server name (`[a-z0-9][a-z0-9_-]{0,63}`)."""
    return re.sub(r"[^a-z0-9_-]", "-", tool_name.lower()).strip("-_")[:64] or "server"


def _store(conn: Any, tool_id: Any, config: dict[str, Any], active: bool | None) -> None:
    turn_off = ", is_active = false" if active is False else ""
    conn.execute(
        sa.text(f"UPDATE tools SET config = CAST(:config AS jsonb){turn_off} WHERE id = :id"),
        {"config": json.dumps(config), "id": tool_id},
    )
