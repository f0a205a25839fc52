"""`read_page` against the search stand-in's pages, and the SSRF guard: private and local
addresses refused by name, by number, by redirect and by DNS, before any connection."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.clients.page_text import html_text
from assistant.src.clients.web_fetch import (
    FetchFailed,
    FetchLimits,
    FetchRefused,
    fetch,
)
from assistant.src.tools.base import ToolError, ToolServices
from assistant.src.tools.read_page_tool import ReadPageTool
from assistant.tests.support import call_context, tool_spec
from common.infrastructure.address_guard import why_not_public
from sandbox.search_stand_in import SearchStandIn
from sandbox.server import ScriptedServer

SPEC = tool_spec("read_page")


@pytest.fixture(scope="module")
def search() -> Iterator[SearchStandIn]:
    with SearchStandIn() as server:
        yield server


def tool(services: ToolServices, **overrides: Any) -> ReadPageTool:
    changed = services.settings.model_copy(update=overrides)
    return ReadPageTool(
        SPEC, ToolServices(changed, services.redis, services.names, services.rest, services.http)
    )


@pytest.fixture
def reader(services, search) -> ReadPageTool:
    """Allowed to read the stand-in (a local address) and nothing else local."""
    return tool(services, web_fetch_allow_hosts=search.host)


@pytest.fixture
def guarded(services) -> ReadPageTool:
    """As deployed: no allow-list."""
    return tool(services)


def page_hits(search: SearchStandIn) -> int:
    return sum(search.hits.values())


async def test_the_main_text_without_scripts_menus_or_footers(reader, search) -> None:
    result = await reader.run({"url": search.page_url("python-3-13")}, call_context())
    assert result["url"] == search.page_url("python-3-13")
    assert result["title"] == "What's New In Python 3.13"
    assert result["text"].startswith("What's New In Python 3.13\nPython 3.13 was released")
    for noise in ("tracking", "font:", "Home", "Site banner", "Related", "stand-in"):
        assert noise not in result["text"]
    assert result["truncated"] is False and "Cite" in result["note"]


async def test_russian_page_and_plain_text(reader, search) -> None:
    result = await reader.run({"url": search.page_url("trans-siberian")}, call_context())
    assert "9289 километров" in result["text"]
    plain = await reader.run({"url": f"{search.base_url}/plain"}, call_context())
    assert plain["text"] == "Plain text\nsecond line" and plain["title"] is None


async def test_a_big_page_is_cut_in_bytes_and_characters(services, search) -> None:
    capped = tool(
        services,
        web_fetch_allow_hosts=search.host,
        web_fetch_max_bytes=50_000,
        web_fetch_max_chars=1000,
    )
    result = await capped.run({"url": f"{search.base_url}/big"}, call_context())
    assert result["truncated"] is True and len(result["text"]) == 1000


async def test_a_slow_page_times_out_as_a_tool_error(services, search) -> None:
    slow = tool(services, web_fetch_allow_hosts=search.host, web_fetch_timeout_seconds=0.5)
    with pytest.raises(ToolError, match=r"did not answer within 0\.5 s"):
        await slow.run({"url": f"{search.base_url}/slow"}, call_context())


async def test_not_a_web_page_or_missing_is_a_tool_error(reader, search) -> None:
    with pytest.raises(ToolError, match="application/pdf, not a web page"):
        await reader.run({"url": f"{search.base_url}/file.pdf"}, call_context())
    with pytest.raises(ToolError, match="HTTP 404"):
        await reader.run({"url": search.page_url("nope")}, call_context())


async def test_a_redirect_to_a_readable_page_is_followed(reader, search) -> None:
    url = f"{search.base_url}/redirect?to=/pages/eiffel-tower"
    result = await reader.run({"url": url}, call_context())
    assert result["url"] == search.page_url("eiffel-tower") and "330 metres" in result["text"]


async def test_too_many_redirects_stop(services, search) -> None:
    loop = f"{search.base_url}/loop"
    limited = tool(services, web_fetch_allow_hosts=search.host, web_fetch_max_redirects=2)
    with pytest.raises(ToolError, match="more than 2 redirects"):
        await limited.run({"url": loop}, call_context())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://127.1/",
        "http://LOCALHOST./",
    ],
)
async def test_private_and_local_addresses_are_refused(guarded, url) -> None:
    with pytest.raises(ToolError, match=r"refused: .* only public web pages can be read"):
        await guarded.run({"url": url}, call_context())


async def test_the_stand_in_itself_is_refused_without_the_allow_list(guarded, search) -> None:
    before = page_hits(search)
    with pytest.raises(ToolError, match=r"refused: 127\.0\.0\.1 is a loopback address"):
        await guarded.run({"url": search.page_url("python-3-13")}, call_context())
    assert page_hits(search) == before


async def test_production_ignores_the_allow_list(services, search) -> None:
    production = tool(services, web_fetch_allow_hosts=search.host, environment="production")
    with pytest.raises(ToolError, match="loopback"):
        await production.run({"url": search.page_url("python-3-13")}, call_context())


async def test_the_allow_list_is_per_port(reader, search) -> None:
    """Allowing the stand-in's port leaves every other local port refused."""
    with pytest.raises(ToolError, match="refused"):
        await reader.run({"url": "http://127.0.0.1:9/"}, call_context())


async def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed(
    services, search
) -> None:
    """The first hop is allowed (the stand-in); its redirect to 10.0.0.1 and to another
    local port is checked again and refused."""
    reader = tool(services, web_fetch_allow_hosts=search.host)
    for target in ("http://10.0.0.1/admin", "http://127.0.0.1:9/", "http://localhost/"):
        url = f"{search.base_url}/redirect?to={target}"
        with pytest.raises(ToolError, match="refused"):
            await reader.run({"url": url}, call_context())


async def test_a_hostname_that_resolves_to_a_private_address_is_refused(guarded) -> None:
    name = socket.gethostname()
    addresses = {i[4][0] for i in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    assert all(why_not_public(ipaddress.ip_address(a)) for a in addresses), addresses
    with pytest.raises(ToolError, match=f"refused: {name.lower()} is a .* address"):
        await guarded.run({"url": f"http://{name}/"}, call_context())


class Resolver:
    """The outside DNS (`socket.getaddrinfo`, which asyncio and httpx both use), answering
    `name` with one address per lookup in turn (the last repeated); other names as the
    system resolves them."""

    def __init__(self, name: str, *answers: str) -> None:
        self.name, self.answers, self.lookups = name, list(answers), 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (self.name, self.name.encode()):
            return self.real(host, port, *args, **kwargs)
        answer = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, int(port or 80)))]


async def test_the_request_goes_to_the_checked_address_with_the_name_as_host(
    services, search, monkeypatch
) -> None:
    resolver = Resolver("pinned.test", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    reader = tool(services, web_fetch_allow_hosts=f"pinned.test:{search.port}")
    url = f"http://pinned.test:{search.port}/pages/eiffel-tower"
    result = await reader.run({"url": url}, call_context())
    assert "330 metres" in result["text"] and result["url"] == url
    assert search.page_hosts[-1] == f"pinned.test:{search.port}"
    assert resolver.lookups == 1  # resolved once, for the check; the connection used its IP


async def test_dns_rebinding_after_the_check_reaches_nothing_local(
    services, search, monkeypatch
) -> None:
    """The name is public when checked and local on every later lookup: the connection goes
    to the public address that was checked, never to the local listener."""
    resolver = Resolver("rebind.test", "8.8.8.8", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    reader = tool(services, web_fetch_timeout_seconds=1.5)
    before = page_hits(search)
    with pytest.raises(ToolError, match="could not read"):
        await reader.run({"url": f"http://rebind.test:{search.port}/pages/x"}, call_context())
    assert page_hits(search) == before and resolver.lookups == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/x", "only http and https"),
        ("gopher://127.0.0.1:6379/_INFO", "only http and https"),
        ("http://user:password@example.com/", "user name or password"),
        ("http:///nohost", "no host"),
        ("http://[::1/", "not a valid URL"),
        ("", "'url' is empty"),
        ("http://" + "a" * 3000, "longer than 2048"),
    ],
)
async def test_other_schemes_and_malformed_urls_are_refused(guarded, url, message) -> None:
    with pytest.raises(ToolError, match=message):
        await guarded.run({"url": url}, call_context())


def test_public_addresses_pass_and_every_private_kind_has_a_reason() -> None:
    for public in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "1.1.1.1"):
        assert why_not_public(ipaddress.ip_address(public)) is None
    kinds = {
        "0.0.0.0": "unspecified",
        "127.0.0.1": "loopback",
        "10.1.2.3": "private",
        "169.254.169.254": "link-local",
        "224.0.0.251": "multicast",
        "240.0.0.1": "reserved",
        "::ffff:10.0.0.1": "private",
        "2002:7f00:1::": "loopback",
        "2001:0:4136:e378:8000:63bf:80ff:fffe": "loopback",  # Teredo to 127.0.0.1
    }
    for address, kind in kinds.items():
        assert why_not_public(ipaddress.ip_address(address)) == kind, address


LOCAL_HOSTS = st.sampled_from(
    [
        "127.0.0.1",
        "localhost",
        "[::1]",
        "0.0.0.0",
        "127.1",
        "2130706433",
        "0x7f000001",
        "[::ffff:127.0.0.1]",
        "[0:0:0:0:0:ffff:7f00:1]",
        "127.0.0.1.",
        "LocalHost",
        socket.gethostname(),
    ]
)
NOISE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    host=LOCAL_HOSTS,
    scheme=st.sampled_from(["http", "https", "HTTP", "hTTps"]),
    userinfo=st.sampled_from(["", "user@", "a:b@"]),
    path=NOISE,
    tail=NOISE,
)
async def test_no_url_string_reaches_a_local_listener(
    guarded, search, host, scheme, userinfo, path, tail
) -> None:
    """Whatever the URL looks like, the guard either refuses it or fails it as a tool
    error; the local stand-in (listening on the port the URL names) is never reached."""
    before = page_hits(search)
    url = f"{scheme}://{userinfo}{host}:{search.port}/{path}{tail}"
    try:
        await guarded.run({"url": url}, call_context())
    except ToolError:
        pass
    else:
        raise AssertionError(f"{url!r} was read")
    assert page_hits(search) == before


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.text(max_size=80) | st.from_regex(r"\Ahttps?://[^/]{0,20}/.{0,20}\Z"))
def test_any_string_is_a_tool_error_never_a_crash(url) -> None:
    """Arbitrary strings only go through parsing and the address check: the allow-list is
    empty and no public network is reachable here, so every one ends as a `ToolError`."""
    limits = FetchLimits(timeout=3, max_bytes=10_000, max_redirects=1)
    with contextlib.suppress(FetchRefused, FetchFailed):
        asyncio.run(fetch(url, limits))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=500) | st.text(max_size=500).map(str.encode))
def test_any_bytes_extract_without_an_exception(body) -> None:
    title, text = html_text(body, None)
    assert isinstance(text, str) and (title is None or isinstance(title, str))


# -- HTTPS to the pinned address: the certificate is checked against the name -------------


def certificates(directory: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a server certificate for `name`: the server's context and a client's that
    trusts only that CA."""
    now = datetime.now(UTC)

    def build(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build("test CA", ca_key, "test CA", ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = build(name, key, "test CA", ca_key, ca=False)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(directory / "leaf.pem", directory / "key.pem")
    return server, ssl.create_default_context(cafile=str(directory / "ca.pem"))


@pytest.fixture
async def tls_site(tmp_path: Path) -> AsyncIterator[tuple[int, ssl.SSLContext, list[str]]]:
    """An HTTPS page on 127.0.0.1 whose certificate names `pinned.test`; the port, a
    client context trusting its CA, and the Host headers it saw."""
    server_context, client_context = certificates(tmp_path, "pinned.test")
    hosts: list[str] = []

    async def page(request: web.Request) -> web.Response:
        hosts.append(request.headers.get("Host", ""))
        return web.Response(text="<p>over TLS</p>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port, client_context, hosts
    await runner.cleanup()


async def test_https_to_the_pinned_address_checks_the_certificate_for_the_name(
    tls_site, monkeypatch
) -> None:
    port, trust, hosts = tls_site
    monkeypatch.setattr(socket, "getaddrinfo", Resolver("pinned.test", "127.0.0.1"))
    allow = frozenset({f"pinned.test:{port}"})
    limits = FetchLimits(timeout=5, max_bytes=10_000, max_redirects=0, allow=allow, trust=trust)

    page = await fetch(f"https://pinned.test:{port}/", limits)
    assert page.body == b"<p>over TLS</p>" and hosts == [f"pinned.test:{port}"]


async def test_https_with_a_certificate_for_another_name_is_not_read(tls_site, monkeypatch) -> None:
    port, trust, hosts = tls_site
    monkeypatch.setattr(socket, "getaddrinfo", Resolver("other.test", "127.0.0.1"))
    limits = FetchLimits(
        timeout=5, max_bytes=10_000, max_redirects=0, allow=frozenset({"other.test"}), trust=trust
    )
    with pytest.raises(FetchFailed, match="could not be read"):
        await fetch(f"https://other.test:{port}/", limits)
    assert hosts == []


def unknown_charset() -> web.Response:
    return web.Response(
        body="<html><body><p>Caf\u00e9 opening hours: nine to five.</p></body></html>".encode(),
        headers={"Content-Type": "text/html; charset=klingon"},
    )


def redirect_nowhere() -> web.Response:
    return web.Response(status=302)


async def test_a_page_in_a_charset_no_one_knows_is_still_read(services) -> None:
    with ScriptedServer("/menu", unknown_charset) as site:
        reader = tool(services, web_fetch_allow_hosts=f"127.0.0.1:{site.port}")
        result = await reader.run({"url": site.url}, call_context())
    assert "opening hours: nine to five" in result["text"]


async def test_a_redirect_without_a_location_is_a_tool_error(services) -> None:
    with ScriptedServer("/moved", redirect_nowhere) as site:
        reader = tool(services, web_fetch_allow_hosts=f"127.0.0.1:{site.port}")
        with pytest.raises(ToolError, match="HTTP 302 without a Location"):
            await reader.run({"url": site.url}, call_context())


def only_scripts() -> web.Response:
    return web.Response(
        text="<html><head><script>app()</script></head><body><div id='root'></div></body></html>",
        content_type="text/html",
    )


def main_and_sidebar() -> web.Response:
    return web.Response(
        text=(
            "<html><body><nav>Home | About</nav><aside>Buy our app!</aside>"
            "<main><h1>Opening hours</h1><p>Nine to five, Monday to Friday.</p></main>"
            "<footer>(c) 2026</footer></body></html>"
        ),
        content_type="text/html",
    )


async def test_a_page_with_no_readable_text_is_a_tool_error_naming_it(services) -> None:
    """A page its scripts would fill in a browser: the model hears there is nothing to read
    rather than an empty quote to make something of."""
    with ScriptedServer("/app", only_scripts) as site:
        reader = tool(services, web_fetch_allow_hosts=f"127.0.0.1:{site.port}")
        with pytest.raises(ToolError, match=r"/app has no readable text"):
            await reader.run({"url": site.url}, call_context())


async def test_a_pages_main_element_is_read_without_its_menus(services) -> None:
    with ScriptedServer("/hours", main_and_sidebar) as site:
        reader = tool(services, web_fetch_allow_hosts=f"127.0.0.1:{site.port}")
        result = await reader.run({"url": site.url}, call_context())
    assert "Nine to five, Monday to Friday." in result["text"]
    assert "Buy our app" not in result["text"] and "About" not in result["text"]
