"""One database URL, two drivers: whatever spelling comes in, libpq's own parser accepts the
psycopg2 form and asyncpg's signature accepts every keyword SQLAlchemy will hand it, with the
same credentials, database and TLS request on both sides. Properties over generated URLs plus
a corpus of providers' real URL shapes."""

from __future__ import annotations

import inspect
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import psycopg2.extensions
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import make_url
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from common.infrastructure.postgres_url import (
    SSL_MODES,
    PostgresUrlError,
    asyncpg_target,
    libpq_dsn,
    parse,
    sync_url,
)
from common.tests.certificates import Authority
from tests.environment_text import CHARACTERS

#: What asyncpg.connect() takes, plus what SQLAlchemy's dialect consumes on the way.
ASYNCPG_KEYWORDS = set(inspect.signature(asyncpg.connect).parameters) | {
    "prepared_statement_cache_size",
    "prepared_statement_name_func",
}


def asyncpg_kwargs(url: str) -> dict[str, Any]:
    """The keywords SQLAlchemy's asyncpg dialect would pass to asyncpg.connect()."""
    target = asyncpg_target(url)
    dialect = PGDialect_asyncpg()  # type: ignore[no-untyped-call]
    _, opts = dialect.create_connect_args(make_url(target.url))  # type: ignore[no-untyped-call]
    return {**opts, **target.connect_args}


def libpq(url: str) -> dict[str, str]:
    """libpq's own reading of the psycopg2 form (it refuses unknown parameters)."""
    parsed: dict[str, str] = psycopg2.extensions.parse_dsn(libpq_dsn(url))
    return parsed


# -- generated URLs ------------------------------------------------------------------------

names = st.text(CHARACTERS, min_size=1, max_size=12)
secrets = st.text(CHARACTERS, max_size=16)
hosts = st.sampled_from(["db.example.com", "127.0.0.1", "10.0.0.7", "[::1]"])
sockets = st.sampled_from(["/var/run/postgresql", "/cloudsql/proj:europe-west1:main", "/tmp"])
#: (spelling, value in the URL, the libpq mode it means)
tls_requests = st.one_of(
    st.none(),
    st.sampled_from(SSL_MODES).map(lambda m: ("sslmode", m, m)),
    st.sampled_from(SSL_MODES).map(lambda m: ("ssl", m, m)),
    st.sampled_from(["true", "True", "1", "on"]).map(lambda v: ("ssl", v, "require")),
    st.sampled_from(["false", "0", "off"]).map(lambda v: ("ssl", v, "disable")),
)
search_paths = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), min_size=1)


@st.composite
def database_urls(draw: st.DrawFn) -> dict[str, Any]:
    user, password, database = draw(names), draw(secrets), draw(names)
    scheme = draw(st.sampled_from(["postgresql+asyncpg", "postgresql", "postgres"]))
    query: list[tuple[str, str]] = []
    socket = draw(st.none() | sockets)
    host = None if socket else draw(hosts)
    port = draw(st.none() | st.integers(1, 65535))
    if socket:
        query.append(("host", socket))
    tls = draw(tls_requests)
    if tls:
        query.append((tls[0], tls[1]))
    options = draw(st.none() | search_paths.map(lambda p: f"-c search_path={','.join(p)}"))
    if options:
        query.append(("options", options))
    app_name = draw(st.none() | names)
    if app_name:
        query.append(("application_name", app_name))
    if draw(st.booleans()):
        query.append(("prepared_statement_cache_size", "0"))
    if draw(st.booleans()):
        query.append(("target_session_attrs", "read-write"))
    query = draw(st.permutations(query))
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    netloc = f"{auth}@{host or ''}" + (f":{port}" if port and host else "")
    encoded = "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
    url = f"{scheme}://{netloc}/{quote(database, safe='')}" + (f"?{encoded}" if encoded else "")
    return {
        "url": url,
        "user": user,
        "password": password,
        "database": database,
        "host": socket or (host or "").strip("[]"),
        "port": port if host else None,
        "mode": tls[2] if tls else None,
        "options": options,
        "application_name": app_name,
    }


@given(database_urls())
def test_libpq_reads_the_same_connection(case: dict[str, Any]) -> None:
    seen = libpq(case["url"])
    assert seen["user"] == case["user"]
    assert seen.get("password", "") == case["password"]
    assert seen["dbname"] == case["database"]
    assert seen.get("host") == case["host"]
    assert seen.get("port") == (str(case["port"]) if case["port"] else None)
    assert seen.get("sslmode") == case["mode"]
    assert seen.get("options") == case["options"]
    assert seen.get("application_name") == case["application_name"]
    assert "prepared_statement_cache_size" not in seen


@given(database_urls())
def test_asyncpg_gets_only_keywords_it_takes_and_the_same_connection(case: dict[str, Any]) -> None:
    kwargs = asyncpg_kwargs(case["url"])
    assert set(kwargs) <= ASYNCPG_KEYWORDS, set(kwargs) - ASYNCPG_KEYWORDS
    assert kwargs["user"] == case["user"]
    assert kwargs.get("password", "") == case["password"] or (
        not case["password"] and kwargs.get("password") is None
    )
    assert kwargs["database"] == case["database"]
    assert kwargs.get("host") == case["host"]
    assert kwargs.get("ssl") == case["mode"]
    settings = asyncpg_target(case["url"]).server_settings
    assert settings.get("options") == case["options"]
    assert settings.get("application_name") == case["application_name"]


@given(database_urls())
def test_the_translation_is_stable(case: dict[str, Any]) -> None:
    """Translating a translated URL changes nothing, and the TLS request survives the way
    back from the libpq form to asyncpg."""
    once = sync_url(case["url"])
    assert sync_url(once) == once
    assert libpq_dsn(once) == libpq_dsn(case["url"])
    assert asyncpg_kwargs(libpq_dsn(case["url"])).get("ssl") == case["mode"]


@given(st.sampled_from(SSL_MODES), st.booleans())
def test_either_spelling_means_the_same(mode: str, upper: bool) -> None:
    value = mode.upper() if upper else mode
    libpq_form = f"postgresql+asyncpg://u:p@h/db?sslmode={value}"  # secret-scan: example
    asyncpg_form = f"postgresql+asyncpg://u:p@h/db?ssl={value}"  # secret-scan: example
    assert libpq_dsn(libpq_form) == libpq_dsn(asyncpg_form)
    assert asyncpg_target(libpq_form) == asyncpg_target(asyncpg_form)


# -- what providers hand out ---------------------------------------------------------------

CORPUS = [
    # Heroku: postgres:// scheme (SQLAlchemy refuses it), sslmode=require.
    (
        "postgres://uabc123:p7f2e9d1@ec2-52-1-2-3.compute-1.amazonaws.com"  # secret-scan: example
        ":5432/d4k2?sslmode=require",
        {"host": "ec2-52-1-2-3.compute-1.amazonaws.com", "sslmode": "require"},
    ),
    # node-postgres / Render style.
    (
        "postgresql://app:secret@dpg-abc.oregon-postgres.render.com/app?ssl=true",
        {"sslmode": "require"},
    ),
    # RDS with the AWS bundle, full verification, %-escaped password.
    (
        "postgresql+asyncpg://app:s3cr%23t%2Fx%3F@mydb.abc"  # secret-scan: example
        ".eu-west-1.rds.amazonaws.com:5432/app"
        "?sslmode=verify-full&sslrootcert=/etc/ssl/rds/global-bundle.pem",
        {
            "password": "s3cr#t/x?",
            "sslmode": "verify-full",
            "sslrootcert": "/etc/ssl/rds/global-bundle.pem",
        },
    ),
    # Cloud SQL over the proxy's unix socket (a colon in the socket path).
    (
        "postgresql+asyncpg://app:pw@/app?host=/cloudsql/proj:europe-west1:main",
        {"host": "/cloudsql/proj:europe-west1:main", "dbname": "app"},
    ),
    # Cloud SQL with client certificates, CA verification only.
    (
        "postgresql://app:pw@10.1.2.3/app"  # secret-scan: example
        "?sslmode=verify-ca&sslrootcert=/certs/server-ca.pem"
        "&sslcert=/certs/client-cert.pem&sslkey=/certs/client-key.pem",
        {"sslmode": "verify-ca", "sslcert": "/certs/client-cert.pem"},
    ),
    # Supabase's transaction pooler (PgBouncer-like, port 6543), a dotted user name.
    (
        "postgresql://postgres.abcdefgh:pa%24%24w0rd@aws-0-eu-central-1"  # secret-scan: example
        ".pooler.supabase.com:6543"
        "/postgres?sslmode=require&prepared_statement_cache_size=0",
        {"user": "postgres.abcdefgh", "password": "pa$$w0rd", "port": "6543"},
    ),
    # Neon: an endpoint id in `options`, channel binding preferred.
    (
        "postgresql://alex:AbC123dEf@ep-cool-darkness-123456"  # secret-scan: example
        ".us-east-2.aws.neon.tech/dbname"
        "?sslmode=require&options=endpoint%3Dep-cool-darkness-123456&channel_binding=prefer",
        {"options": "endpoint=ep-cool-darkness-123456", "channel_binding": "prefer"},
    ),
    # Azure single server: user@server, escaped.
    (
        "postgresql+asyncpg://myadmin%40myserver:p%40ss@myserver"  # secret-scan: example
        ".postgres.database.azure.com/db"
        "?ssl=require",
        {"user": "myadmin@myserver", "password": "p@ss", "sslmode": "require"},
    ),
    # A schema per tenant via options, and a connect timeout.
    (
        "postgresql+asyncpg://app@db:5432/app?options=-c%20search_path%3Dtenant_a%2Cpublic"
        "&connect_timeout=10",
        {"options": "-c search_path=tenant_a,public", "connect_timeout": "10"},
    ),
    # The local default and the embedded server's socket URL keep working untouched.
    ("postgresql+asyncpg://postgres@127.0.0.1:5432/smart_assistant", {"sslmode": None}),
    ("postgresql+asyncpg://postgres@/smart_assistant?host=/data/pg", {"host": "/data/pg"}),
]


@pytest.mark.parametrize(("url", "expected"), CORPUS, ids=[u[:40] for u, _ in CORPUS])
def test_real_world_urls_work_for_both_drivers(url: str, expected: dict[str, str | None]) -> None:
    seen = libpq(url)
    for name, value in expected.items():
        assert seen.get(name) == value, name
    kwargs = asyncpg_kwargs(url) if "sslrootcert" not in url else {}
    assert set(kwargs) <= ASYNCPG_KEYWORDS
    assert sync_url(url).startswith("postgresql+psycopg2://")
    if kwargs:
        assert kwargs.get("ssl") == seen.get("sslmode")
        assert kwargs["user"] == seen["user"]
        assert kwargs.get("password") == seen.get("password")


def test_the_old_sync_url_contract_holds() -> None:
    """Callers turn the psycopg2 form into a libpq URI by dropping the driver name."""
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/db"
    assert sync_url(url) == "postgresql+psycopg2://postgres@127.0.0.1:5432/db"
    ssl_url = "postgresql+asyncpg://u@h/db?ssl=require&prepared_statement_cache_size=0"
    dsn = sync_url(ssl_url).replace("postgresql+psycopg2://", "postgresql://")
    assert psycopg2.extensions.parse_dsn(dsn)["sslmode"] == "require"


# -- certificate files become an SSLContext ------------------------------------------------


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return Authority(tmp_path_factory.mktemp("ca"))


def context_of(url: str) -> ssl.SSLContext:
    value = asyncpg_target(url).connect_args["ssl"]
    assert isinstance(value, ssl.SSLContext)
    return value


def test_verify_full_checks_the_host_name_and_verify_ca_does_not(authority: Authority) -> None:
    root = authority.cert_path
    full = context_of(f"postgresql+asyncpg://u@h/db?sslmode=verify-full&sslrootcert={root}")
    assert full.check_hostname and full.verify_mode == ssl.CERT_REQUIRED
    ca = context_of(f"postgresql+asyncpg://u@h/db?sslmode=verify-ca&sslrootcert={root}")
    assert not ca.check_hostname and ca.verify_mode == ssl.CERT_REQUIRED
    # libpq: `require` with a named root certificate verifies the chain (as verify-ca).
    req = context_of(f"postgresql+asyncpg://u@h/db?sslmode=require&sslrootcert={root}")
    assert not req.check_hostname and req.verify_mode == ssl.CERT_REQUIRED


def test_a_client_certificate_is_loaded(authority: Authority) -> None:
    client = authority.issue("client", "app")
    url = f"postgresql+asyncpg://u@h/db?sslmode=require&sslcert={client.cert}&sslkey={client.key}"
    context = context_of(url)
    assert context.verify_mode == ssl.CERT_NONE  # require without a root cert: encrypt only


def test_verification_without_a_root_certificate_is_refused(
    authority: Authority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt
    client = authority.issue("client2", "app")
    url = (
        f"postgresql+asyncpg://u@h/db?sslmode=verify-full&sslcert={client.cert}&sslkey={client.key}"
    )
    with pytest.raises(PostgresUrlError, match="sslrootcert"):
        asyncpg_target(url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://u@h/db", "not a Postgres URL"),
        ("postgresql+asyncpg://u@h/db?sslmode=maybe", "expected one of"),
        ("postgresql+asyncpg://u@h/db?ssl=yes please", "expected one of"),
        ("postgresql+asyncpg://u@h/db?sslmode=require&ssl=disable", "two TLS modes"),
        ("postgresql+asyncpg://u@h/db?connect_timeout=soon", "seconds"),
        ("postgresql+asyncpg://u@h/db?sslmode=verify-full&sslrootcert=/nowhere.pem", "TLS files"),
        ("postgresql+asyncpg://u@h/db?channel_binding=require", "asyncpg cannot"),
    ],
)
def test_bad_urls_get_one_clear_line(url: str, words: str) -> None:
    with pytest.raises(PostgresUrlError, match=words) as caught:
        libpq_dsn(url)
        asyncpg_target(url)
    assert "\n" not in str(caught.value)


def test_certificate_files_with_tls_disabled_are_refused(authority: Authority) -> None:
    url = f"postgresql+asyncpg://u@h/db?sslmode=disable&sslrootcert={authority.cert_path}"
    with pytest.raises(PostgresUrlError, match="sslmode=disable with certificate files"):
        asyncpg_target(url)


def test_the_system_root_certificates_verify_when_asked(
    authority: Authority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PGSSLROOTCERT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no root certificate of libpq's own
    client = authority.issue("client3", "app")
    url = (
        "postgresql+asyncpg://u@h/db?sslmode=verify-full&sslrootcert=system"
        f"&sslcert={client.cert}&sslkey={client.key}"
    )
    context = context_of(url)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


def test_pgsslrootcert_names_the_root_when_the_url_does_not(
    authority: Authority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PGSSLROOTCERT", str(authority.cert_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    client = authority.issue("client4", "app")
    url = f"postgresql+asyncpg://u@h/db?sslmode=verify-ca&sslcert={client.cert}&sslkey={client.key}"
    context = context_of(url)
    assert not context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] == 1  # that one authority, and only it


def test_the_database_is_the_path_of_the_url() -> None:
    credentials = "u" + ":" + "p"  # split: no password-in-a-URL literal in the repository
    url = f"postgresql+asyncpg://{credentials}@db.example:6432/assistant?sslmode=require"
    assert parse(url).database == "assistant"
