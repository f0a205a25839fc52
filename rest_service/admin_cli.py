"""`python -m rest_service.admin_cli create|passwd|delete NAME`, `list`: the web admin's
named accounts (what `./manage.py admin` runs). A password is asked twice without echo, or
read as one line from stdin with `--password-stdin` (for scripts). A password change or a
delete ends the admin's open sessions."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from common.infrastructure.errors import AppError
from common.infrastructure.settings import load_settings
from rest_service.app.admin.auth import admin_sessions
from rest_service.app.domain import admin_accounts
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.settings import Settings
from rest_service.app.state import AppState


class PasswordEntryError(RuntimeError):
    """No usable password was entered."""


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise PasswordEntryError("no terminal to ask the password on: use --password-stdin")
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat it: "):
        raise PasswordEntryError("the two passwords differ")
    return first


async def run(settings: Settings, args: argparse.Namespace, password: str | None) -> str:
    """Does the command; returns what to print."""
    admin_accounts.use_test_hashing(settings.is_test)
    state = AppState.create(settings)
    try:
        async with unit_of_work(state, "admin_cli") as ctx:
            if args.action == "list":
                rows = await admin_accounts.list_accounts(ctx.session)
                lines = [
                    f"{a.name}\tpassword set {a.password_changed_at:%Y-%m-%d %H:%M}" for a in rows
                ]
                return "\n".join([*lines, f"{len(rows)} admin(s)"])
            if args.action == "create":
                account = await admin_accounts.create(ctx.session, args.name, password or "")
            elif args.action == "passwd":
                account = await admin_accounts.set_password(ctx.session, args.name, password or "")
            else:
                account = await admin_accounts.delete(ctx.session, args.name)
        ended = await admin_sessions(settings, state.redis).revoke_all(account.name)
        return f"admin {account.name}: {args.action} done; {ended} open session(s) ended"
    finally:
        await state.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="manage.py admin", description=__doc__)
    parser.add_argument("action", choices=["create", "passwd", "delete", "list"])
    parser.add_argument("name", nargs="?", help="the admin's name (create, passwd, delete)")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password as one line of stdin"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.action != "list" and not args.name:
        print(f"error: admin {args.action} needs a NAME", file=sys.stderr)
        return 2
    settings = load_settings(Settings)
    try:
        needs_password = args.action in ("create", "passwd")
        password = read_password(args.password_stdin) if needs_password else None
        print(asyncio.run(run(settings, args, password)))
    except AppError as exc:
        reasons = "; ".join(f"{f.field}: {f.reason}" for f in exc.fields)
        print(f"error: {exc.detail}" + (f" ({reasons})" if reasons else ""), file=sys.stderr)
        return 1
    except PasswordEntryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
