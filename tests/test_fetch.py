"""The safe fetcher against a real HTTP server on 127.0.0.1: refusals, limits, validators.

Private addresses are refused before any connection is made, so the refusal tests send
no traffic at all; "public" hosts are simulated with the resolver seam (a made-up name
that resolves to 127.0.0.1) and an address policy that counts 127.0.0.1 as public.
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.web import fetch_limits
from config.settings import FetchSettings
from retrieval.fetch import Fetcher, FetchError, RefusedURLError, non_public_kind
from tests.feedserver import FeedServer, Route


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


def shipped_fetcher(**overrides) -> Fetcher:
    """A Fetcher with the shipped ``[fetch]`` settings, ``overrides`` on top."""
    return Fetcher(**{**fetch_limits(FetchSettings()), **overrides})


def local_fetcher(**kw) -> Fetcher:
    return shipped_fetcher(**{"allow_private": True, "timeout": 1.0, "total_timeout": 5.0, **kw})


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address, kind):
    assert non_public_kind(address) == kind


def _never_resolve(host, port):
    raise AssertionError(f"no lookup expected for {host}")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:9/feed", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.7/feed", "10.0.0.7 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]:9/feed", "::1 is a loopback address"),
    ],
)
def test_private_addresses_are_refused_by_default(url, shown):
    fetcher = shipped_fetcher(resolver=_never_resolve)
    with pytest.raises(RefusedURLError) as info:
        fetcher.get(url)
    message = str(info.value)
    assert shown in message and "fetch.allow_private_addresses" in message
    assert "\n" not in message


def test_a_name_resolving_to_a_private_address_is_refused():
    # `localhost` really resolves (to 127.0.0.1 / ::1); nothing is sent.
    with pytest.raises(RefusedURLError, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback"):
        shipped_fetcher().get("http://localhost:9/feed")


def test_any_private_answer_among_several_refuses():
    fetcher = shipped_fetcher(resolver=lambda h, p: ["93.184.216.34", "10.0.0.1"])
    with pytest.raises(RefusedURLError, match=r"10\.0\.0\.1\) is a private"):
        fetcher.get("http://news.example/feed")


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "file:///etc/passwd", "gopher://x/"])
def test_only_http_and_https(url):
    with pytest.raises(RefusedURLError, match="only http and https"):
        shipped_fetcher(allow_private=True).get(url)


def test_public_looking_url_redirecting_to_private_is_refused(server):
    # news.example "resolves" to the test server, which our policy counts as public.
    server.routes["/feed"] = Route(status=302, headers={"Location": "http://10.9.8.7/internal"})
    server.routes["/meta"] = Route(
        status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    server.routes["/name"] = Route(status=302, headers={"Location": "http://intranet.example/"})
    names = {"news.example": ["127.0.0.1"], "intranet.example": ["192.168.1.10"]}
    fetcher = shipped_fetcher(
        resolver=lambda host, port: names[host],
        address_allowed=lambda ip: ip == "127.0.0.1",
        timeout=1.0,
    )
    base = f"http://news.example:{server.port}"
    with pytest.raises(RefusedURLError, match=r"10\.9\.8\.7 is a private address"):
        fetcher.get(base + "/feed")
    with pytest.raises(RefusedURLError, match=r"169\.254\.169\.254 is a link-local"):
        fetcher.get(base + "/meta")
    with pytest.raises(RefusedURLError, match=r"intranet\.example \(192\.168\.1\.10\)"):
        fetcher.get(base + "/name")
    # With the setting, the same redirect is followed (to a local address here).
    server.routes["/local"] = Route(status=302, headers={"Location": server.url("/ok")})
    server.routes["/ok"] = Route(b"<rss/>")
    allowed = shipped_fetcher(allow_private=True, resolver=lambda h, p: names[h], timeout=1.0)
    assert allowed.get(base + "/local").content == b"<rss/>"


def test_the_validated_address_is_the_one_connected_to(server):
    """DNS rebinding: the name is resolved once per request and the socket goes to that
    address; a second, different answer is never used."""
    server.routes["/feed"] = Route(b"<rss/>")
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return next(answers)

    fetcher = shipped_fetcher(
        resolver=rebinding, address_allowed=lambda ip: ip == "127.0.0.1", timeout=1.0
    )
    result = fetcher.get(f"http://rebind.example:{server.port}/feed")
    assert result.content == b"<rss/>"
    assert calls == ["rebind.example"]
    path, headers = server.requests[-1]
    assert headers["Host"] == f"rebind.example:{server.port}"
    with pytest.raises(RefusedURLError, match="private"):
        fetcher.get(f"http://rebind.example:{server.port}/feed")


def test_user_agent_and_conditional_requests(server):
    server.routes["/feed"] = Route(b"<rss/>", etag='"v1"', headers={"Last-Modified": "x"})
    fetcher = local_fetcher()
    first = fetcher.get(server.url("/feed"))
    assert first.status == 200 and first.etag == '"v1"' and first.last_modified == "x"
    again = fetcher.get(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert again.not_modified and again.content == b""
    headers = server.requests[-1][1]
    assert headers["If-None-Match"] == '"v1"' and headers["If-Modified-Since"] == "x"
    assert headers["User-Agent"].startswith("Dateline/")


@pytest.mark.parametrize(("status", "text"), [(404, "HTTP 404"), (500, "HTTP 500")])
def test_error_statuses(server, status, text):
    server.routes["/feed"] = Route(b"<html>oops</html>", status=status)
    with pytest.raises(FetchError, match=text) as info:
        local_fetcher().get(server.url("/feed"))
    assert info.value.status == status


def test_timeouts(server):
    server.routes["/slow"] = Route(b"<rss/>", delay=3.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        local_fetcher().get(server.url("/slow"))
    assert time.monotonic() - started < 2.5


def test_a_slow_drip_is_cut_at_the_total_timeout(server):
    def drip():
        for _ in range(40):
            yield b"x" * 100
            time.sleep(0.1)

    server.routes["/drip"] = Route(drip)
    with pytest.raises(FetchError, match="timed out"):
        shipped_fetcher(allow_private=True, timeout=1.0, total_timeout=1.0).get(server.url("/drip"))


def test_redirect_loop_and_limit(server):
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirect loop"):
        local_fetcher().get(server.url("/a"))
    for i in range(8):
        server.routes[f"/r{i}"] = Route(status=301, headers={"Location": f"/r{i + 1}"})
    with pytest.raises(FetchError, match="more than 3 redirects"):
        local_fetcher(max_redirects=3).get(server.url("/r0"))


def test_a_50_mb_response_is_cut_at_the_limit(server):
    def huge():
        chunk = b"<item>" + b"x" * (1024 * 1024 - 6)
        for _ in range(50):
            yield chunk

    server.routes["/huge"] = Route(huge)
    server.routes["/declared"] = Route(b"x" * 2_000_000)
    fetcher = local_fetcher(max_bytes=1_000_000)
    with pytest.raises(FetchError, match="too large"):
        fetcher.get(server.url("/huge"))
    with pytest.raises(FetchError, match=r"too large \(2 MB > 1,000,000 bytes\)"):
        fetcher.get(server.url("/declared"))


def test_parallel_requests_to_one_host_are_limited(server):
    active, peak = [0], [0]
    lock = threading.Lock()

    def slow():
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        yield b"ok"

    server.routes["/s"] = Route(slow)
    fetcher = local_fetcher(per_host=2)
    threads = [threading.Thread(target=fetcher.get, args=(server.url("/s"),)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_robots_txt(server):
    server.routes["/robots.txt"] = Route(
        b"User-agent: Dateline\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n",
        content_type="text/plain",
    )
    fetcher = local_fetcher()
    assert fetcher.robots_allow(server.url("/news/1"))
    assert not fetcher.robots_allow(server.url("/private/1"))
    assert server.hits("/robots.txt") == 1  # cached
    with FeedServer() as other:  # no robots.txt: everything allowed
        assert fetcher.robots_allow(other.url("/anything"))
    with FeedServer() as broken:  # robots.txt failing: nothing allowed (RFC 9309)
        broken.routes["/robots.txt"] = Route(b"", status=503)
        assert not fetcher.robots_allow(broken.url("/news/1"))


def test_the_connected_peer_is_checked_again():
    class Stream:
        def __init__(self, peer):
            self.peer = peer

        def get_extra_info(self, name):
            return self.peer if name == "server_addr" else None

    class Response:
        def __init__(self, peer):
            self.extensions = {"network_stream": Stream(peer)}

    fetcher = shipped_fetcher(address_allowed=lambda ip: ip == "127.0.0.1")
    fetcher._check_peer("http://a.example/", Response(("127.0.0.1", 80)), "127.0.0.1")
    with pytest.raises(RefusedURLError, match=r"connected to 10\.0\.0\.1, not 127\.0\.0\.1"):
        fetcher._check_peer("http://a.example/", Response(("10.0.0.1", 80)), "127.0.0.1")
    with pytest.raises(RefusedURLError, match="connected to a loopback address"):
        shipped_fetcher()._check_peer("http://a.example/", Response(("::1", 80, 0, 0)), "::1")
