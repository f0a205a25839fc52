"""Slack's request signature (https://api.slack.com/authentication/verifying-requests-from-slack):
`X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">` keyed with the app's
signing secret, and `X-Slack-Request-Timestamp` no older than five minutes, so a request caught
on the way cannot be replayed later."""

from __future__ import annotations

import hashlib
import hmac

VERSION = "v0"
#: How far a request's timestamp may be from our clock, either way.
MAX_AGE_SECONDS = 5 * 60


class BadSignature(Exception):
    """The request is not Slack's, or is too old: answered 401."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` of `body` sent at `timestamp`."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(secret: str, timestamp: str | None, signed: str | None, body: bytes, now: float) -> None:
    """Raises `BadSignature` unless `signed` is `body`'s signature at a fresh `timestamp`."""
    if not timestamp or not signed:
        raise BadSignature("the request is not signed")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise BadSignature("the timestamp is not a number") from None
    if abs(now - sent_at) > MAX_AGE_SECONDS:
        raise BadSignature("the timestamp is too old")
    expected = signature(secret, timestamp, body).encode()
    if not hmac.compare_digest(expected, signed.encode("utf-8", "replace")):
        raise BadSignature("the signature does not match")
