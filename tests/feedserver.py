"""A real HTTP server on 127.0.0.1 for the feed tests: routes are set by the test.

Each route (matched on the path, without the query) answers with its body and headers;
one with an ``etag`` answers 304 to a matching ``If-None-Match``. A body may be a callable
yielding chunks (a 50 MB response is streamed, never held).
Every request is logged with its headers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes | Callable[[], Iterable[bytes]] = b""
    status: int = 200
    content_type: str = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    delay: float = 0.0


class FeedServer:
    """``with FeedServer() as server: server.routes["/feed"] = Route(...)``."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with server._lock:
                    server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if callable(route.body):
                    self.end_headers()
                    try:
                        for chunk in route.body():
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(items: list[dict], title: str = "Test Wire") -> bytes:
    """An RSS 2.0 document; each item: title, link, description, optional content, date."""
    parts = []
    for it in items:
        content = (
            f"<content:encoded><![CDATA[{it['content']}]]></content:encoded>"
            if it.get("content")
            else ""
        )
        parts.append(
            f"<item><title>{it['title']}</title><link>{it['link']}</link>"
            f"<guid>{it.get('guid', it['link'])}</guid>"
            f"<pubDate>{it.get('date', 'Mon, 01 Dec 2026 08:00:00 GMT')}</pubDate>"
            f"<description><![CDATA[{it.get('description', '')}]]></description>{content}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>http://example.invalid/</link>"
        f"<description>test</description>{''.join(parts)}</channel></rss>"
    ).encode()


def atom(items: list[dict], title: str = "Test Atom") -> bytes:
    parts = "".join(
        f'<entry><title>{it["title"]}</title><link href="{it["link"]}"/>'
        f"<id>{it.get('guid', it['link'])}</id><updated>2026-12-01T08:00:00Z</updated>"
        f'<content type="html"><![CDATA[{it["content"]}]]></content></entry>'
        for it in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:test</id><updated>2026-12-01T08:00:00Z</updated>"
        f"{parts}</feed>"
    ).encode()


def json_feed(items: list[dict], title: str = "Test JSON") -> bytes:
    import json

    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "items": [
                {
                    "id": it.get("guid", it["link"]),
                    "url": it["link"],
                    "title": it["title"],
                    "content_html": it["content"],
                    "date_published": "2026-12-01T08:00:00Z",
                }
                for it in items
            ],
        }
    ).encode()


def article_page(title: str, paragraphs: list[str], canonical: str | None = None) -> bytes:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title>{link}"
        '<meta property="article:published_time" content="2026-12-01T08:00:00Z"></head>'
        f"<body><nav>Home | World</nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Copyright</footer></body></html>"
    ).encode()
