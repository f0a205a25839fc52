"""One `ASYNC_DATABASE_URL` for both Postgres drivers: asyncpg (the services) and psycopg2
(Alembic and the synchronous admin tasks, which cannot run on asyncpg).

The two disagree on the query: libpq (psycopg2) rejects asyncpg's `ssl=`, and SQLAlchemy hands
every query parameter to `asyncpg.connect()` as a keyword, which rejects libpq's `sslmode=`.
Either spelling is accepted here and each driver gets its own:

- TLS: `sslmode` + `sslrootcert`/`sslcert`/`sslkey`/`sslpassword` (libpq) or `ssl=<mode>`,
  `ssl=true` (= require) / `ssl=false` (= disable). asyncpg gets `ssl` as a mode, or an
  `SSLContext` built here when certificate files are named.
- `options` and `application_name` (libpq) travel to asyncpg as startup `server_settings`,
  `connect_timeout` (libpq) and `timeout` (asyncpg) map onto each other.
- Parameters only one driver knows (asyncpg's caches and timeouts) are dropped for the other.

Only the query is rewritten: scheme aside, the user, the %-escaped password, the host (or a
unix socket `host=` parameter) and the database pass through byte for byte.
"""

from __future__ import annotations

import math
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

ASYNCPG_SCHEME = "postgresql+asyncpg"
PSYCOPG2_SCHEME = "postgresql+psycopg2"
LIBPQ_SCHEME = "postgresql"
_SCHEMES = {ASYNCPG_SCHEME, PSYCOPG2_SCHEME, LIBPQ_SCHEME, "postgres", "postgresql+psycopg"}

#: libpq's sslmode values, weakest first (the order matters: `verify-*` needs a root cert).
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_SSL_TRUE = {"true", "1", "on", "yes"}
_SSL_FALSE = {"false", "0", "off", "no"}
#: The libpq names of the certificate files and the key's password.
_TLS_FILES = ("sslrootcert", "sslcert", "sslkey", "sslpassword")
#: asyncpg/SQLAlchemy-only parameters libpq would reject ("invalid URI query parameter").
_ASYNCPG_ONLY = frozenset(
    {
        "prepared_statement_cache_size",
        "statement_cache_size",
        "max_cached_statement_lifetime",
        "max_cacheable_statement_size",
        "command_timeout",
        "direct_tls",
        "async_fallback",
    }
)


#: libpq-only protections asyncpg cannot give: at "prefer"/"disable" they are dropped for
#: asyncpg (libpq would fall back the same way); "require" is refused rather than ignored.
_LIBPQ_ONLY = ("channel_binding", "gssencmode")


class PostgresUrlError(ValueError):
    """A database URL this module cannot turn into a working connection for both drivers."""


@dataclass(frozen=True)
class Tls:
    """The TLS request of a URL, in libpq's terms. `mode` None = not asked (driver default)."""

    mode: str | None = None
    rootcert: str | None = None
    cert: str | None = None
    key: str | None = None
    password: str | None = None

    def libpq_params(self) -> list[tuple[str, str]]:
        pairs = [("sslmode", self.mode)] if self.mode else []
        files = (self.rootcert, self.cert, self.key, self.password)
        pairs += [
            (name, value)
            for name, value in zip(_TLS_FILES, files, strict=True)
            if value is not None
        ]
        return pairs

    def asyncpg_ssl(self) -> str | ssl.SSLContext | None:
        """asyncpg's `ssl` argument: the mode itself, or a context when files are named
        (asyncpg's keyword arguments have no place for them)."""
        if self.cert is None and self.rootcert is None:
            return self.mode
        return self.context()

    def context(self) -> ssl.SSLContext:
        """libpq's rules: verify-full checks the chain and the host name, verify-ca the chain
        only; `require` with a named root certificate verifies the chain as verify-ca does."""
        mode = self.mode or "prefer"
        if mode == "disable":
            raise PostgresUrlError("sslmode=disable with certificate files: drop one of them")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = mode == "verify-full"
        rootcert = self.rootcert or _default_rootcert()
        verify = mode in ("verify-ca", "verify-full") or (mode == "require" and self.rootcert)
        if verify and rootcert is None:
            raise PostgresUrlError(f"sslmode={mode} needs sslrootcert=<file> (or 'system')")
        try:
            if verify and rootcert == "system":
                context.load_default_certs()
            elif verify:
                context.load_verify_locations(cafile=rootcert)
            else:
                context.verify_mode = ssl.CERT_NONE
            if self.cert:
                context.load_cert_chain(self.cert, self.key, self.password)
        except (OSError, ssl.SSLError) as exc:
            named = ", ".join(f for f in (self.rootcert, self.cert, self.key) if f)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise PostgresUrlError(f"TLS files of the database URL ({named}): {reason}") from exc
        return context


def _default_rootcert() -> str | None:
    """Where libpq looks when the URL names no root certificate."""
    env = os.environ.get("PGSSLROOTCERT")
    if env:
        return env
    home = Path.home() / ".postgresql" / "root.crt"
    return str(home) if home.exists() else None


@dataclass(frozen=True)
class PostgresUrl:
    """A database URL split into the parts the drivers disagree on."""

    netloc: str
    path: str
    tls: Tls = Tls()
    #: Parameters both drivers take as they are (host, port, target_session_attrs, ...).
    common: tuple[tuple[str, str], ...] = ()
    #: libpq startup settings asyncpg sends as server_settings.
    options: str | None = None
    application_name: str | None = None
    connect_timeout: float | None = None
    asyncpg_only: tuple[tuple[str, str], ...] = ()
    libpq_only: tuple[tuple[str, str], ...] = ()
    #: Fragment, if any (neither driver uses it; kept so nothing is lost).
    fragment: str = ""

    @property
    def database(self) -> str:
        return self.path.lstrip("/")


def parse(url: str) -> PostgresUrl:
    """Either driver's spelling in, one neutral form out; a clear error for what is not a
    Postgres URL or asks for TLS two contradictory ways."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise PostgresUrlError(
            f"not a Postgres URL (scheme {parts.scheme!r}): expected postgresql+asyncpg://..."
        )
    tls: dict[str, str] = {}
    common: list[tuple[str, str]] = []
    only: list[tuple[str, str]] = []
    libpq: list[tuple[str, str]] = []
    options = application_name = None
    timeout: float | None = None
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "sslmode" or name == "ssl":
            mode = _ssl_mode(name, value)
            if tls.get("mode", mode) != mode:
                raise PostgresUrlError(f"two TLS modes in one URL: {tls['mode']} and {mode}")
            tls["mode"] = mode
        elif name in _TLS_FILES:
            tls[name] = value
        elif name == "options":
            options = value
        elif name == "application_name":
            application_name = value
        elif name in ("connect_timeout", "timeout"):
            timeout = _seconds(name, value)
        elif name in _ASYNCPG_ONLY:
            only.append((name, value))
        elif name in _LIBPQ_ONLY:
            libpq.append((name, value))
        else:
            common.append((name, value))
    return PostgresUrl(
        netloc=parts.netloc,
        path=parts.path,
        tls=Tls(
            mode=tls.get("mode"),
            rootcert=tls.get("sslrootcert"),
            cert=tls.get("sslcert"),
            key=tls.get("sslkey"),
            password=tls.get("sslpassword"),
        ),
        common=tuple(common),
        options=options,
        application_name=application_name,
        connect_timeout=timeout,
        asyncpg_only=tuple(only),
        libpq_only=tuple(libpq),
        fragment=parts.fragment,
    )


def _ssl_mode(name: str, value: str) -> str:
    lowered = value.strip().lower()
    if name == "ssl" and lowered in _SSL_TRUE:
        return "require"
    if name == "ssl" and lowered in _SSL_FALSE:
        return "disable"
    if lowered in SSL_MODES:
        return lowered
    raise PostgresUrlError(f"{name}={value!r}: expected one of {', '.join(SSL_MODES)}")


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise PostgresUrlError(f"{name}={value!r}: expected a number of seconds")
    return seconds


def _render(scheme: str, url: PostgresUrl, query: list[tuple[str, str]]) -> str:
    # %20 for a space, never '+': libpq does not read '+' as a space, SQLAlchemy reads both.
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='/:,')}" for k, v in query)
    return urlunsplit((scheme, url.netloc, url.path, encoded, url.fragment))


def libpq_query(url: PostgresUrl) -> list[tuple[str, str]]:
    query = list(url.common) + list(url.libpq_only) + url.tls.libpq_params()
    if url.options is not None:
        query.append(("options", url.options))
    if url.application_name is not None:
        query.append(("application_name", url.application_name))
    if url.connect_timeout is not None:
        # libpq takes whole seconds (and reads anything under 2 as 2); round up, never to 0.
        query.append(("connect_timeout", str(max(2, math.ceil(url.connect_timeout)))))
    return query


def libpq_dsn(url: str) -> str:
    """A `postgresql://` URI libpq (psycopg2.connect) accepts."""
    parsed = parse(url)
    return _render(LIBPQ_SCHEME, parsed, libpq_query(parsed))


def sync_url(async_url: str) -> str:
    """The psycopg2 form of the services' URL (SQLAlchemy), TLS spelled the libpq way."""
    parsed = parse(async_url)
    return _render(PSYCOPG2_SCHEME, parsed, libpq_query(parsed))


@dataclass(frozen=True)
class AsyncpgTarget:
    """What `create_async_engine` needs: a URL asyncpg's keywords accept, and the rest as
    connect arguments (merge them over the service's own)."""

    url: str
    connect_args: dict[str, object]
    server_settings: dict[str, str]


def asyncpg_target(url: str) -> AsyncpgTarget:
    """The services' engine arguments for `url` (either spelling)."""
    parsed = parse(url)
    for name, value in parsed.libpq_only:
        if value == "require":
            raise PostgresUrlError(f"{name}=require: asyncpg cannot do it; drop it from the URL")
    query = list(parsed.common) + list(parsed.asyncpg_only)
    args: dict[str, object] = {}
    tls = parsed.tls.asyncpg_ssl()
    if tls is not None:
        args["ssl"] = tls
    if parsed.connect_timeout is not None:
        args["timeout"] = parsed.connect_timeout
    settings: dict[str, str] = {}
    if parsed.options is not None:
        settings["options"] = parsed.options
    if parsed.application_name is not None:
        settings["application_name"] = parsed.application_name
    return AsyncpgTarget(_render(ASYNCPG_SCHEME, parsed, query), args, settings)
