"""Safe HTTP for feeds and article pages: public addresses only, bounded in every way.

Every request resolves its host once, refuses the URL when any address is loopback,
private, link-local, multicast or otherwise not public, and then connects to the
validated address itself (the ``Host`` header and TLS SNI keep the name), so a second,
different DNS answer cannot slip in (no DNS rebinding). Redirects are followed by hand,
each hop checked the same way, and the connected socket's peer is checked again.
Responses are limited in size and time; requests to one host are limited in number;
``robots.txt`` is honoured for article pages. ``allow_private = True`` turns the address
check off (local setups, tests).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from retrieval.errors import RetrievalError

ROBOTS_TTL = 3600.0
_ROBOTS_MAX_BYTES = 512 * 1024

Resolver = Callable[[str, int], list[str]]


class FetchError(RetrievalError):
    """A URL could not be fetched (network, HTTP status, size, time, content)."""

    exit_code = 1

    def __init__(self, message: str = "", *, status: int | None = None):
        super().__init__(message)
        self.status = status


class RefusedURLError(FetchError):
    """A URL that is never fetched: another scheme, or a non-public address."""

    exit_code = 2


@dataclass
class FetchResult:
    """One HTTP answer: ``content`` is empty when ``not_modified`` (a 304)."""

    url: str
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False

    @property
    def etag(self) -> str | None:
        """The validator to send back as If-None-Match."""
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        """The validator to send back as If-Modified-Since."""
        return self.headers.get("last-modified")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def non_public_kind(address: str) -> str | None:
    """Why ``address`` is not a public one ("loopback", "private", ...), or None if it is."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return kind
    return None if ip.is_global else "non-public"


def check_scheme(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL; raises RefusedURLError for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedURLError(f"invalid URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedURLError(f"{url}: refused: only http and https URLs are fetched")
    if not parts.hostname:
        raise RefusedURLError(f"invalid URL {url!r}: no host")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


class Fetcher:
    """A bounded, address-checked HTTP client; safe to share between threads.

    ``resolver`` and ``address_allowed`` are seams for tests (a resolver that maps a
    made-up name to 127.0.0.1; a policy that counts one loopback address as public).
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float,
        total_timeout: float,
        max_bytes: int,
        max_redirects: int,
        per_host: int,
        user_agent: str,
        resolver: Resolver | None = None,
        address_allowed: Callable[[str], bool] | None = None,
    ):
        self.allow_private = allow_private
        self.timeout = timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.per_host = max(1, per_host)
        self.user_agent = user_agent
        self.resolver = resolver or system_resolver
        self.address_allowed = address_allowed or (lambda ip: non_public_kind(ip) is None)
        self._client = None
        self._lock = threading.Lock()
        self._host_slots: dict[str, threading.BoundedSemaphore] = {}
        self._robots: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None]] = {}

    # -- plumbing --------------------------------------------------------------------

    @property
    def client(self):
        """The shared httpx client (built on first use; no proxies from the environment)."""
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout),
                    follow_redirects=False,
                    trust_env=False,
                    headers={"User-Agent": self.user_agent},
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                )
            return self._client

    def close(self) -> None:
        """Close pooled connections."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._host_slots:
                self._host_slots[host] = threading.BoundedSemaphore(self.per_host)
            return self._host_slots[host]

    def _addresses(self, url: str, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``, all of them checked."""
        literal = _ip_literal(host)
        addresses = [literal] if literal else self.resolver(host, port)
        if not addresses:
            raise FetchError(f"cannot resolve {host}")
        if not self.allow_private:
            for address in addresses:
                if not self.address_allowed(address):
                    kind = non_public_kind(address) or "non-public"
                    shown = host if literal else f"{host} ({address})"
                    raise RefusedURLError(
                        f"{url}: refused: {shown} is a {kind} address; set "
                        "fetch.allow_private_addresses = true to allow it"
                    )
        return addresses

    def check_url(self, url: str) -> None:
        """Raise RefusedURLError now if ``url`` could never be fetched (scheme, address)."""
        _, host, port = check_scheme(url)
        self._addresses(url, host, port)

    # -- requests --------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
        max_bytes: int | None = None,
    ) -> FetchResult:
        """GET ``url``, following at most ``max_redirects`` redirects, every hop checked.

        Sends If-None-Match / If-Modified-Since when given (a 304 gives ``not_modified``).
        Raises RefusedURLError for a URL that must not be fetched and FetchError for any
        other failure (status >= 400, too large, too slow, redirect loop).
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        deadline = time.monotonic() + self.total_timeout
        seen: list[str] = []
        current = url
        for _ in range(self.max_redirects + 1):
            seen.append(current)
            result, location = self._get_once(
                current, headers, deadline, max_bytes or self.max_bytes
            )
            if location is None:
                return result
            following = urljoin(current, location)
            if following in seen:
                raise FetchError(f"{url}: redirect loop ({following})")
            current = following
        raise FetchError(f"{url}: more than {self.max_redirects} redirects")

    def _get_once(
        self, url: str, headers: dict[str, str], deadline: float, limit: int
    ) -> tuple[FetchResult, str | None]:
        import httpx

        scheme, host, port = check_scheme(url)
        addresses = self._addresses(url, host, port)
        parts = urlsplit(url)
        netloc_host = host if ":" not in host else f"[{host}]"
        default_port = port == (443 if scheme == "https" else 80)
        host_header = netloc_host if default_port else f"{netloc_host}:{port}"
        last_error: Exception | None = None
        with self._slot(host):
            for address in addresses:
                shown_ip = address if ":" not in address else f"[{address}]"
                target = urlunsplit(
                    (scheme, f"{shown_ip}:{port}", parts.path or "/", parts.query, "")
                )
                try:
                    return self._request(
                        url,
                        target,
                        address,
                        {**headers, "Host": host_header},
                        host,
                        deadline,
                        limit,
                    )
                except httpx.ConnectError as exc:
                    last_error = exc
                    continue
                except httpx.TimeoutException:
                    raise FetchError(f"{url}: timed out") from None
                except httpx.HTTPError as exc:
                    raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
        raise FetchError(f"{url}: cannot connect ({last_error})")

    def _request(self, url, target, address, headers, host, deadline, limit):
        request = self.client.build_request(
            "GET", target, headers=headers, extensions={"sni_hostname": host}
        )
        response = self.client.send(request, stream=True)
        try:
            self._check_peer(url, response, address)
            status = response.status_code
            info = {k.lower(): v for k, v in response.headers.items()}
            if status in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"{url}: redirect without a Location")
                return FetchResult(url, status, headers=info), location
            if status == 304:
                return FetchResult(url, status, headers=info, not_modified=True), None
            if status >= 400:
                raise FetchError(
                    f"{url}: HTTP {status} {response.reason_phrase}".rstrip(), status=status
                )
            length = info.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise FetchError(f"{url}: response too large ({_mb(int(length))} > {_mb(limit)})")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{url}: response too large (over {_mb(limit)})")
                if time.monotonic() > deadline:
                    raise FetchError(f"{url}: timed out (over {self.total_timeout:g} s)")
                chunks.append(chunk)
            return FetchResult(url, status, b"".join(chunks), info), None
        finally:
            response.close()

    def _check_peer(self, url, response, address: str) -> None:
        """The socket is connected where the check said (a second check, after connecting)."""
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            return
        connected = str(peer[0]).split("%", 1)[0]
        if ipaddress.ip_address(connected) != ipaddress.ip_address(address):
            raise RefusedURLError(f"{url}: refused: connected to {connected}, not {address}")
        if not self.allow_private and not self.address_allowed(connected):
            kind = non_public_kind(connected) or "non-public"
            raise RefusedURLError(f"{url}: refused: connected to a {kind} address")

    # -- robots.txt ------------------------------------------------------------------

    def robots_allow(self, url: str) -> bool:
        """Whether ``robots.txt`` of ``url``'s site lets Dateline fetch it (RFC 9309:
        a missing file allows everything, an unreachable one nothing); cached an hour."""
        self.check_url(url)  # a refusal names the URL asked for, not its robots.txt
        scheme = urlsplit(url).scheme.lower()
        parts = urlsplit(url)
        origin = f"{scheme}://{parts.netloc}"
        now = time.monotonic()
        with self._lock:
            cached = self._robots.get(origin)
        if cached is None or now - cached[0] > ROBOTS_TTL:
            cached = (now, self._read_robots(origin))
            with self._lock:
                self._robots[origin] = cached
        parser = cached[1]
        return True if parser is None else parser.can_fetch(self.user_agent, url)

    def _read_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            result = self.get(
                origin + "/robots.txt", accept="text/plain", max_bytes=_ROBOTS_MAX_BYTES
            )
        except RefusedURLError:
            raise
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return None  # no robots.txt: everything allowed
            parser.disallow_all = True
            return parser
        parser.parse(result.content.decode("utf-8", errors="replace").splitlines())
        return parser


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"
