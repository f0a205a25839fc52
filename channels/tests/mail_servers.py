"""The e-mail channel's tests run on the private Dovecot and Postfix of
`sandbox/mail_servers.py`; a machine without them skips the test naming the Debian package
(tests/programs.py), or fails it under REQUIRE_SYSTEM_TOOLS=1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sandbox import mail_servers as servers
from sandbox.mail_servers import BUSY, MailServers, free_port
from tests.programs import skip_or_fail

__all__ = ["BUSY", "MailServers", "free_port", "mail_servers"]


@contextmanager
def mail_servers(*, secure: bool = False) -> Iterator[MailServers]:
    """Dovecot and Postfix on free ports, stopped and removed on the way out."""
    reason = servers.missing()
    if reason:
        skip_or_fail(reason)
    with servers.mail_servers(secure=secure) as running:
        yield running
