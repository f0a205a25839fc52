"""The e-mail channel (docs/channels.md "E-mail"): `adapter.py` reads the mailbox and
answers, `parsing.py` reads a mail, `composing.py` writes ours, `servers.py` speaks IMAP and
SMTP, `text.py` turns HTML into plain text."""

from channels.src.adapters.email.adapter import EmailAdapter

__all__ = ["EmailAdapter"]
