"""Real mail servers for the e-mail channel: Dovecot (IMAP and LMTP) and Postfix (SMTP), each
in a temporary directory with its own configuration and free ports, never the machine's own
services. The e-mail channel's tests and the demo's e-mail user run on them.

Postfix takes mail on its SMTP port and hands every message for the domain to Dovecot's LMTP,
which stores it in the user's Maildir; the channel and whoever plays the people read it over
IMAP. Postfix says 450 (try later) to BUSY. `mail_servers(secure=True)` adds what a mail
provider has: TLS under a throwaway CA (`ca_file`; STARTTLS on both plain ports, IMAPS), and
SMTP submission with implicit TLS and a login (Dovecot checks the password), where a user
may send only as their own address. Without the Debian packages, or not as root (Dovecot
stores mail as an unprivileged user, Postfix's daemons start as root), `mail_servers()`
raises `MailServersMissing` saying which (`missing()` tells without starting anything)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

T = TypeVar("T")


DOMAIN = "example.test"
PASSWORD = "mail-test-password"
#: The users with a mailbox: the secretary's and the people who write to it.
USERS = ("secretary", "alice", "bob", "stranger")
#: The unprivileged user Dovecot stores mail as (it refuses root).
MAIL_USER = "nobody"
#: How often the waits below look again.
POLL_S = 0.1
#: A recipient Postfix refuses for now (450), as a full mailbox or a greylisting server does.
BUSY = f"busy@{DOMAIN}"


class MailServersMissing(Exception):
    """What this machine lacks to run them (a program and its Debian package, or root)."""


def _until(found: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        time.sleep(POLL_S)


def _program(name: str, package: str, *candidates: str) -> str:
    found = shutil.which(name) or next(
        (c for c in candidates if Path(c).is_file() and os.access(c, os.X_OK)), None
    )
    if found is None:
        raise MailServersMissing(f"{name} is missing: apt-get install {package}")
    return found


def _programs() -> tuple[str, str]:
    """Dovecot's and Postfix's paths; raises MailServersMissing saying what is not here."""
    dovecot = _program("dovecot", "dovecot-imapd dovecot-lmtpd", "/usr/sbin/dovecot")
    postfix = _program("postfix", "postfix", "/usr/sbin/postfix")
    if not Path("/usr/lib/dovecot/lmtp").exists():
        raise MailServersMissing("dovecot's LMTP is missing: apt-get install dovecot-lmtpd")
    if os.geteuid() != 0:
        raise MailServersMissing("the private mail servers run as root (as CI does)")
    return dovecot, postfix


def missing() -> str:
    """Why the mail servers cannot run on this machine, or "" when they can."""
    try:
        _programs()
    except MailServersMissing as exc:
        return str(exc)
    return ""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MailServers:
    imap_port: int
    smtp_port: int
    root: Path
    #: With `secure`: the IMAPS port, the SMTP submission port (implicit TLS, login) and
    #: the CA that signed both servers' certificate (for `localhost` and 127.0.0.1).
    imaps_port: int = 0
    submissions_port: int = 0
    ca_file: Path | None = None

    @staticmethod
    def address(user: str) -> str:
        return f"{user}@{DOMAIN}"

    def imap_url(self, user: str = "secretary") -> str:
        account = f"{quote(self.address(user))}:{PASSWORD}"
        return f"imap://{account}@127.0.0.1:{self.imap_port}/INBOX"  # secret-scan: example

    @property
    def smtp_url(self) -> str:
        return f"smtp://127.0.0.1:{self.smtp_port}"

    def imaps_url(self, user: str = "secretary", password: str = PASSWORD) -> str:
        account = f"{quote(self.address(user))}:{quote(password)}"
        return f"imaps://{account}@localhost:{self.imaps_port}/INBOX"  # secret-scan: example

    def submissions_url(self, user: str = "secretary", password: str = PASSWORD) -> str:
        account = f"{quote(self.address(user))}:{quote(password)}"
        return f"smtps://{account}@localhost:{self.submissions_port}"  # secret-scan: example

    def kick(self, user: str) -> None:
        """Drops every IMAP connection of the user, as a server restart or a network does."""
        _run("doveadm", "-c", str(self.root / "dovecot.conf"), "kick", self.address(user))

    @contextmanager
    def logins_refused(self, user: str) -> Iterator[None]:
        """Inside: the user's password is another, as after a change on the server (Dovecot
        reads its passwd-file again when the file changes). Connections already in stay."""
        users = self.root / "users"
        kept = users.read_text()
        entry = f"{self.address(user)}:{{PLAIN}}"
        users.write_text(kept.replace(f"{entry}{PASSWORD}", f"{entry}changed-{PASSWORD}"))
        try:
            yield
        finally:
            users.write_text(kept)

    def renumber(self, user: str) -> None:
        """A new UIDVALIDITY for the user's INBOX, as a server that rebuilt the folder says."""
        _run("doveadm", "-c", str(self.root / "dovecot.conf"), "mailbox", "update", "-u",
             self.address(user), "--uid-validity", str(int(time.time()) + 7), "INBOX")  # fmt: skip

    def idling(self, user: str) -> bool:
        """Whether a connection of the user waits in IDLE (Dovecot's process titles say)."""
        master = (self.root / "run" / "master.pid").read_text().strip()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError):
                if stat.read_text().rpartition(")")[2].split()[1] != master:
                    continue
                title = (stat.parent / "cmdline").read_bytes()
                if self.address(user).encode() in title and b" IDLE]" in title:
                    return True
        return False

    def submit(self, raw: bytes, sender: str, to: str) -> None:
        """Mail in through Postfix, as another server would deliver it."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.sendmail(sender, [to], raw)

    def imap(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        client.login(self.address(user), PASSWORD)
        client.select("INBOX")
        return client

    def messages(self, user: str) -> list[tuple[bytes, bytes]]:
        """Every message in the user's inbox: (flags, raw), without marking them seen."""
        client = self.imap(user)
        try:
            _, found = client.uid("SEARCH", "ALL")
            found_uids = found[0].split() if found and found[0] else []
            out = []
            for uid in found_uids:
                _, data = client.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                parts = [p for p in data if isinstance(p, tuple)]
                out.append((parts[0][0], parts[0][1]))
            return out
        finally:
            with suppress(Exception):
                client.logout()

    def wait_for(self, user: str, count: int, timeout: float = 60.0) -> list[bytes]:
        """The user's messages once there are at least `count`."""

        def found() -> list[bytes] | None:
            raws = [raw for _, raw in self.messages(user)]
            return raws if len(raws) >= count else None

        return _until(found, timeout, f"{count} message(s) for {user}")

    def flags(self, user: str) -> list[bytes]:
        return [flags for flags, _ in self.messages(user)]

    def clear(self) -> None:
        """Empties every inbox (between tests)."""
        for user in USERS:
            client = self.imap(user)
            try:
                client.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
                client.expunge()
            finally:
                with suppress(Exception):
                    client.logout()


def _dovecot_conf(root: Path, imap_port: int, imaps_port: int, lmtp_port: int, tls: str) -> str:
    return f"""{tls}
protocols = imap lmtp
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = 127.0.0.1
verbose_proctitle = yes
auth_failure_delay = 0
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_uid = {MAIL_USER}
mail_gid = nogroup
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={MAIL_USER} gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
protocol lmtp {{
  auth_username_format = %Lu
}}
"""


def _postfix_main(root: Path, smtp_port: int, lmtp_port: int, tls: str) -> str:
    return f"""{tls}
compatibility_level = 3.6
queue_directory = {root}/postfix/queue
data_directory = {root}/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:{root}/postfix/etc/access
smtpd_sasl_type = dovecot
smtpd_sasl_path = {root}/run/auth-postfix
virtual_mailbox_domains = {DOMAIN}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
relayhost =
default_transport = error:no mail leaves the test servers
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
smtputf8_enable = yes
biff = no
smtpd_error_sleep_time = 0
alias_maps =
alias_database =
local_recipient_maps =
"""


_POSTFIX_MASTER = """
{port}      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _tls(root: Path, submissions_port: int) -> tuple[str, str, str, Path]:
    """Dovecot's and Postfix's settings for TLS, the submission port's line of master.cf,
    and the CA's certificate."""
    from common.tests.certificates import Authority

    (root / "tls").mkdir()
    authority = Authority(root / "tls")
    pair = authority.issue("mail", "localhost", ("localhost", "127.0.0.1"))
    dovecot = f"""
ssl = yes
ssl_cert = <{pair.cert}
ssl_key = <{pair.key}
"""
    postfix = f"""
smtpd_tls_cert_file = {pair.cert}
smtpd_tls_key_file = {pair.key}
smtpd_tls_security_level = may
submission_senders = inline:{{ {{ secretary@{DOMAIN} = secretary@{DOMAIN} }} }}
"""
    submissions = (
        f"127.0.0.1:{submissions_port} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes "
        "-o smtpd_sasl_auth_enable=yes -o smtpd_delay_reject=no "
        "-o smtpd_sender_login_maps=$submission_senders "
        "-o smtpd_sender_restrictions=reject_sender_login_mismatch "
        "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
    )
    return dovecot, postfix, submissions, authority.cert_path


def _run(*args: str) -> None:
    """Runs a server's control command; its output goes to a file, not a pipe, because the
    daemons it starts keep their inherited descriptors open."""
    with tempfile.TemporaryFile() as output:
        done = subprocess.run(
            args, stdin=subprocess.DEVNULL, stdout=output, stderr=output, timeout=60, check=False
        )
        if done.returncode != 0:
            output.seek(0)
            raise RuntimeError(f"{' '.join(args)}: {output.read().decode(errors='replace')}")


@contextmanager
def mail_servers(*, secure: bool = False) -> Iterator[MailServers]:
    """Dovecot and Postfix on free ports, stopped and removed on the way out."""
    dovecot, postfix = _programs()
    # /tmp, not pytest's 0700 tree: Dovecot writes the Maildirs as an unprivileged user.
    root = Path(tempfile.mkdtemp(prefix="sa-mail-"))
    root.chmod(0o755)
    imap_port, lmtp_port, smtp_port = free_port(), free_port(), free_port()
    imaps_port, submissions_port = (free_port(), free_port()) if secure else (0, 0)
    started: list[str] = []
    try:
        dovecot_tls, postfix_tls, submissions, ca_file = (
            _tls(root, submissions_port) if secure else ("ssl = no\n", "", "", None)
        )
        (root / "mail").mkdir()
        nobody = pwd.getpwnam(MAIL_USER)
        os.chown(root / "mail", nobody.pw_uid, nobody.pw_gid)
        users = "".join(f"{user}@{DOMAIN}:{{PLAIN}}{PASSWORD}\n" for user in USERS)
        (root / "users").write_text(users)
        (root / "dovecot.conf").write_text(
            _dovecot_conf(root, imap_port, imaps_port, lmtp_port, dovecot_tls)
        )
        _run(dovecot, "-c", str(root / "dovecot.conf"))
        started.append("dovecot")
        config = root / "postfix" / "etc"
        config.mkdir(parents=True)
        (root / "postfix" / "queue").mkdir()
        (root / "postfix" / "data").mkdir()
        postfix_user = pwd.getpwnam("postfix")
        os.chown(root / "postfix" / "data", postfix_user.pw_uid, postfix_user.pw_gid)
        (config / "main.cf").write_text(_postfix_main(root, smtp_port, lmtp_port, postfix_tls))
        master = _POSTFIX_MASTER.format(port=f"127.0.0.1:{smtp_port}")
        (config / "master.cf").write_text(master + submissions)
        (config / "access").write_text(f"{BUSY} 450 4.2.1 Mailbox busy, try again later\n")
        _run(postfix, "-c", str(config), "check")
        _run(postfix, "-c", str(config), "start")
        started.append("postfix")
        servers = MailServers(imap_port, smtp_port, root, imaps_port, submissions_port, ca_file)
        _until(lambda: _answers(servers), 30, "answer from the mail servers")
        yield servers
    finally:
        if "postfix" in started:
            with suppress(Exception):
                _run(postfix, "-c", str(root / "postfix" / "etc"), "stop")
        if "dovecot" in started:
            with suppress(Exception):
                _run("doveadm", "-c", str(root / "dovecot.conf"), "stop")
        shutil.rmtree(root, ignore_errors=True)


def _answers(servers: MailServers) -> bool:
    try:
        servers.imap("secretary").logout()
        with smtplib.SMTP("127.0.0.1", servers.smtp_port, timeout=5) as smtp:
            smtp.noop()
    except OSError:
        return False
    return True
