"""Starting an operator's stdio MCP server (`MCP_STDIO_SERVERS`), confined.

The server starts with an empty environment plus `PATH` and the variables its entry names,
in its own process group, never as root: under a root assistant it runs as
`MCP_STDIO_USER` (no user set: it is not started); otherwise as the assistant's own user,
whose process is then made non-dumpable so that `/proc/<assistant>/environ` and `mem` are
closed to it. It gets address-space and CPU-time limits, and the bytes read from it are
capped. A tiny `python -I -S -c` step sets the limits and the user and then execs the
server: no `preexec_fn`, which is unsafe in a process with threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from common.features.mcp_servers import StdioServer

if TYPE_CHECKING:
    from mcp.shared.message import SessionMessage

#: Where programs are looked for when the assistant itself has no PATH.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
#: How long a server has to exit by itself once its stdin is closed, before it is killed.
EXIT_GRACE_SECONDS = 0.5
_PR_SET_DUMPABLE = 4

#: Runs as the assistant's user, sets the limits, drops to the server's user, keeps only
#: the named variables and execs the server. argv: memory bytes, CPU seconds, uid, gid
#: (-1: stay), cwd, JSON list of variable names, then the server's argv.
_CONFINE = """\
import json, os, resource, sys
memory, cpu, uid, gid = (int(a) for a in sys.argv[1:5])
keep = json.loads(sys.argv[6])
env = {k: v for k, v in os.environ.items() if k in keep}
resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if uid >= 0:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
os.chdir(sys.argv[5])
os.execvpe(sys.argv[7], sys.argv[7:], env)
"""


class StdioRefused(Exception):
    """The server may not be started under these settings (the reason says which)."""


class StdioOverflow(Exception):
    """The server wrote more than the cap; it was stopped."""


@dataclass(frozen=True)
class StdioLimits:
    #: `MCP_STDIO_USER`: a user name or uid; empty: none.
    user: str
    memory_bytes: int
    cpu_seconds: int
    max_output_bytes: int


@asynccontextmanager
async def confined_stdio(server: StdioServer, limits: StdioLimits) -> AsyncIterator[Any]:
    """The server's (read, write) message streams for one `ClientSession`; the server is
    stopped (its whole process group) when the block ends."""
    from mcp.shared.message import SessionMessage

    argv, env = launch(server, limits)
    process = await anyio.open_process(
        argv, env=env, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True
    )
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)

    async def read() -> None:
        assert process.stdout is not None
        pending, total = b"", 0
        async with incoming_send:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                async for chunk in process.stdout:
                    total += len(chunk)
                    if total > limits.max_output_bytes:
                        _kill(process)
                        raise StdioOverflow(
                            f"the MCP server wrote more than {limits.max_output_bytes} bytes"
                        )
                    *lines, pending = (pending + chunk).split(b"\n")
                    for line in lines:
                        if line.strip():
                            await incoming_send.send(_parse(line))

    async def write() -> None:
        assert process.stdin is not None
        async with outgoing_receive:
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                async for message in outgoing_receive:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send(data.encode() + b"\n")

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read)
            tasks.start_soon(write)
            try:
                yield incoming, outgoing
            finally:
                tasks.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await _stop(process)


def launch(server: StdioServer, limits: StdioLimits) -> tuple[list[str], dict[str, str]]:
    """The confining step's argv and environment; `StdioRefused` when the server may not
    start (root without `MCP_STDIO_USER`, or a user the assistant cannot become)."""
    uid, gid = _run_as(limits.user)
    env = {"PATH": os.environ.get("PATH") or DEFAULT_PATH}
    env.update((name, os.environ[name]) for name in server.env if name in os.environ)
    argv = [
        sys.executable,
        "-I",
        "-S",
        "-c",
        _CONFINE,
        str(limits.memory_bytes),
        str(limits.cpu_seconds),
        str(uid),
        str(gid),
        server.cwd,
        json.dumps(sorted(env)),
        server.command,
        *server.args,
    ]
    return argv, env


def _run_as(user: str) -> tuple[int, int]:
    """The uid and gid to switch to, (-1, -1) to stay the assistant's user."""
    if os.geteuid() != 0:
        if user and _account(user).pw_uid != os.geteuid():
            raise StdioRefused(
                f"MCP_STDIO_USER is {user!r} but the assistant, not running as root, "
                "cannot switch users"
            )
        _undumpable()
        return -1, -1
    if not user:
        raise StdioRefused(
            "the assistant runs as root and MCP_STDIO_USER is not set: stdio MCP servers "
            "never run as root"
        )
    account = _account(user)
    if account.pw_uid == 0:
        raise StdioRefused(f"MCP_STDIO_USER {user!r} is root")
    return account.pw_uid, account.pw_gid


def _account(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except (KeyError, OverflowError) as exc:
        raise StdioRefused(f"MCP_STDIO_USER {user!r} is not a user of this host") from exc


def _undumpable() -> None:
    """A server running as our own user must not read our memory or environment through
    /proc: a non-dumpable process's files there belong to root."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0
    except (OSError, AttributeError):
        failed = True
    if failed:
        raise StdioRefused(
            "the assistant could not hide its environment from a server of its own user "
            "(prctl PR_SET_DUMPABLE); run it as root with MCP_STDIO_USER"
        )


def _parse(line: bytes) -> SessionMessage | Exception:
    import mcp_types
    from mcp.shared.message import SessionMessage

    try:
        message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValueError as exc:
        return exc
    return SessionMessage(message)


def _kill(process: anyio.abc.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _stop(process: anyio.abc.Process) -> None:
    """Close its stdin, give it a moment to exit, then kill its process group."""
    if process.stdin is not None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            await process.stdin.aclose()
    with anyio.move_on_after(EXIT_GRACE_SECONDS):
        # Not `wait()`: on 3.11 it also waits for the pipes, which a child may hold open.
        while process.returncode is None:  # noqa: ASYNC110 - nothing to wait on but the poll
            await anyio.sleep(0.01)
    _kill(process)
    with anyio.move_on_after(2):
        await process.wait()
    if process.stdout is not None:
        with contextlib.suppress(OSError, anyio.BrokenResourceError):
            await process.stdout.aclose()
