"""Feeds end to end: a real HTTP server on 127.0.0.1, the real poller, Chroma and model.

Covers RSS 2.0, Atom and JSON Feed, summary-only entries (their pages are read), 304
answers, an updated entry, the same story in two feeds under different tracking
parameters, bad feeds beside good ones, and a feed of 1,000 entries.
"""

from __future__ import annotations

import random

import pytest

from bot.feeds import FeedStore, parse_duration
from bot.poller import Poller
from retrieval.feeds import canonical_url, detect_kind, page_canonical, parse_feed
from tests.feedserver import FeedServer, Route, article_page, atom, json_feed, rss
from tests.helpers import assert_consistent, index_state, make_service, seed_sentences

HTML = "text/html; charset=utf-8"


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


def story(rng: random.Random, n: int = 9) -> str:
    pool = seed_sentences()
    picked = rng.sample(pool, n)
    return "".join(f"<p>{' '.join(picked[i : i + 3])}</p>" for i in range(0, n, 3))


def poller_for(home, server_feeds, **settings) -> tuple[Poller, object]:
    service = make_service(
        home, fetch__allow_private_addresses=True, fetch__timeout=1.0, **settings
    )
    poller = Poller(service, service.settings, rng=random.Random(1))
    for url in server_feeds:
        poller.feeds.add(url)
    return poller, service


# -- parsing -----------------------------------------------------------------------------


def test_canonical_urls():
    assert canonical_url("HTTPS://News.Example.com:443/a/b?utm_source=x&id=7&fbclid=1#top") == (
        "https://news.example.com/a/b?id=7"
    )
    assert canonical_url("http://x.example/p?b=2&a=1&utm_medium=rss") == (
        "http://x.example/p?a=1&b=2"
    )
    assert canonical_url("http://x.example") == "http://x.example/"
    page = b'<html><head><link href="/story/1?utm_campaign=z" rel="canonical"></head></html>'
    assert page_canonical(page, "http://x.example/amp/1?utm_source=a") == (
        "http://x.example/story/1"
    )
    assert page_canonical(b"<html></html>", "http://x.example/s?gclid=3") == "http://x.example/s"


def test_the_three_feed_formats_give_the_same_entries():
    rng = random.Random(3)
    items = [
        {
            "title": f"Story {i}",
            "link": f"http://x.example/{i}?utm_source=feed",
            "content": story(rng),
        }
        for i in range(3)
    ]
    docs = {"rss": rss(items), "atom": atom(items), "jsonfeed": json_feed(items)}
    parsed = {}
    for kind, data in docs.items():
        assert detect_kind(data) == (kind if kind == "jsonfeed" else "feed")
        parsed[kind] = parse_feed(data, "http://x.example/feed")
    for feed in parsed.values():
        assert [e.link for e in feed.entries] == [f"http://x.example/{i}" for i in range(3)]
        assert [e.title for e in feed.entries] == ["Story 0", "Story 1", "Story 2"]
        assert all(e.has_content and not e.summary_only for e in feed.entries)
    texts = {k: [e.text for e in f.entries] for k, f in parsed.items()}
    assert texts["rss"] == texts["atom"] == texts["jsonfeed"]


def test_bad_documents_are_content_errors():
    from retrieval.feeds import ContentError

    for data, message in [
        (b"<?xml version='1.0'?><rss><channel><item><title>x</titl></rss>", "invalid XML"),
        (b"<!doctype html><html><body><h1>502 Bad Gateway</h1></body></html>", "HTML page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
        (b'{"hello": "world"}', "not an RSS, Atom or JSON feed"),
    ]:
        with pytest.raises(ContentError, match=message):
            parse_feed(data, "http://x.example/feed")


def test_intervals():
    assert parse_duration("15m") == 900
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90") == 90
    from bot.errors import ConfigError

    for bad in ("soon", "5s", "1x"):
        with pytest.raises(ConfigError):
            parse_duration(bad)


def test_feed_store_merges_config_and_refuses_removing_config_feeds(tmp_path):
    from bot.errors import ConfigError

    store = FeedStore(tmp_path, ["http://a.example/feed"], default_every=600)
    store.add("http://b.example/feed?utm_source=x", 120)
    store.add("http://b.example/feed", 300)  # the same feed: its interval changes
    feeds = store.list()
    assert [(f.url, f.every, f.origin) for f in feeds] == [
        ("http://b.example/feed", 300, "home"),
        ("http://a.example/feed", 600, "config"),
    ]
    with pytest.raises(ConfigError, match="config file"):
        store.remove("http://a.example/feed")
    assert store.remove("http://b.example/feed") and not store.remove("http://b.example/feed")
    with pytest.raises(ConfigError, match="only http and https"):
        store.add("file:///etc/passwd")


# -- polling -----------------------------------------------------------------------------


def test_poll_formats_teasers_304_updates_and_shared_stories(server, tmp_path):
    rng = random.Random(11)
    shared = story(rng)
    page_text = story(rng, 12)
    server.routes["/page/teaser"] = Route(
        article_page("Teaser story in full", [page_text], canonical=server.url("/story/teaser")),
        content_type=HTML,
    )
    rss_items = [
        {"title": "RSS one", "link": server.url("/story/r1"), "content": story(rng)},
        {
            "title": "Shared story",
            "link": server.url("/story/shared?utm_source=rss"),
            "content": shared,
        },
        {
            "title": "Teaser story",
            "link": server.url("/page/teaser?utm_medium=feed"),
            "description": "Only a short teaser.",
        },
    ]
    atom_items = [
        {"title": "Atom one", "link": server.url("/story/a1"), "content": story(rng)},
        {
            "title": "Shared story",
            "link": server.url("/story/shared?utm_source=atom&utm_campaign=x"),
            "content": shared,
        },
    ]
    json_items = [{"title": "JSON one", "link": server.url("/story/j1"), "content": story(rng)}]
    server.routes["/rss"] = Route(rss(rss_items), etag='"r1"')
    server.routes["/atom"] = Route(atom(atom_items), content_type="text/plain", etag='"a1"')
    server.routes["/json"] = Route(json_feed(json_items), content_type="application/json")
    poller, service = poller_for(tmp_path, [server.url(p) for p in ("/rss", "/atom", "/json")])

    report = poller.poll()
    assert not report.failed, [r.line() for r in report.failed]
    assert report.added == 5 and report.duplicates == 1
    articles = {a.title: a for a in service.articles()}
    assert set(articles) == {"RSS one", "Atom one", "JSON one", "Shared story", "Teaser story"}
    assert articles["Shared story"].url == server.url("/story/shared")
    # The teaser's page was read: its canonical link is the article's identity.
    assert articles["Teaser story"].url == server.url("/story/teaser")
    hits = service.search(page_text.split("</p>")[0][3:120], 1)
    assert hits and hits[0].passage.url == server.url("/story/teaser")
    assert {a.title for a in report.new_articles} == set(articles)
    before = index_state(service.store)
    assert_consistent(before)

    # Second poll: RSS and Atom answer 304, JSON is re-read; nothing changes.
    again = poller.poll()
    assert [r.not_modified for r in again.results] == [True, True, False]
    assert again.added == again.updated == 0 and not again.new_articles
    assert server.hits("/page/teaser") == 1  # an unchanged teaser is not fetched again
    assert index_state(service.store) == before

    # An updated entry replaces its passages; nothing else moves.
    rss_items[0]["content"] = story(rng)
    server.routes["/rss"] = Route(rss(rss_items), etag='"r2"')
    updated = poller.poll()
    assert updated.updated == 1 and updated.added == 0
    after = index_state(service.store)
    assert after["articles"] == before["articles"]
    r1 = articles["RSS one"].id
    old = {p for p, (_, aid) in before["passages"].items() if aid == r1}
    new = {p for p, (_, aid) in after["passages"].items() if aid == r1}
    assert old and new and not old & new
    assert_consistent(after)

    # The same story through `ingest URL` is the same article.
    server.routes["/story/shared"] = Route(
        article_page("Shared story", [shared.replace("<p>", "").replace("</p>", " ")]),
        content_type=HTML,
    )
    service.ingest_urls([server.url("/story/shared?fbclid=abc")])
    assert len(service.articles()) == 5


def test_bad_feeds_are_one_line_each_and_the_rest_go_on(server, tmp_path):
    rng = random.Random(5)
    good = [{"title": "Good news", "link": server.url("/story/g1"), "content": story(rng)}]
    server.routes["/good"] = Route(rss(good))

    def huge():
        chunk = b"<item>" + b"y" * (1024 * 1024 - 6)
        for _ in range(50):
            yield chunk

    server.routes["/500"] = Route(b"<html>boom</html>", status=500, content_type=HTML)
    server.routes["/slow"] = Route(rss(good), delay=2.5)
    server.routes["/loop"] = Route(status=302, headers={"Location": "/loop2"})
    server.routes["/loop2"] = Route(status=302, headers={"Location": "/loop"})
    server.routes["/huge"] = Route(huge)
    server.routes["/broken"] = Route(b"<?xml version='1.0'?><rss><channel><item><title>x</rss>")
    server.routes["/error-page"] = Route(
        b"<!doctype html><html><body><p>Service unavailable</p></body></html>", content_type=HTML
    )
    server.routes["/binary"] = Route(
        bytes(range(256)) * 64, content_type="application/octet-stream"
    )
    bad = ["/404", "/500", "/slow", "/loop", "/huge", "/broken", "/error-page", "/binary"]
    poller, service = poller_for(
        tmp_path, [server.url(p) for p in ["/good", *bad]], fetch__max_bytes=5_000_000
    )
    report = poller.poll()
    lines = {r.url.rsplit("/", 1)[1]: r.line() for r in report.failed}
    assert sorted(lines) == sorted(p[1:] for p in bad)
    expected = {
        "404": "HTTP 404",
        "500": "HTTP 500",
        "slow": "timed out",
        "loop": "redirect loop",
        "huge": "too large",
        "broken": "invalid XML",
        "error-page": "an HTML page, not a feed",
        "binary": "binary content",
    }
    for name, text in expected.items():
        assert text in lines[name] and "\n" not in lines[name], lines[name]
    assert [a.title for a in service.articles()] == ["Good news"]
    # The failing feeds back off; the good one waits its interval.
    state = poller.state.load()
    assert state[server.url("/404")]["failures"] == 1
    assert state[server.url("/good")]["failures"] == 0
    # A feed that breaks later loses nothing already indexed.
    server.routes["/good"] = Route(b"<html>gone</html>", status=500, content_type=HTML)
    assert poller.poll([f for f in poller.feeds.list() if f.url.endswith("/good")]).failed
    assert [a.title for a in service.articles()] == ["Good news"]


def test_schedule_jitter_and_backoff(tmp_path):
    now = [1000.0]
    service = make_service(tmp_path)
    poller = Poller(service, service.settings, clock=lambda: now[0], rng=random.Random(2))
    feed = poller.feeds.add("http://x.example/feed", 600)
    times = [poller._after(feed, 0, now[0]) - now[0] for _ in range(50)]
    assert min(times) >= 540 and max(times) <= 660 and len(set(times)) > 40
    waits = [poller._after(feed, n, now[0]) - now[0] for n in (1, 2, 3, 10)]
    assert waits == [600, 1200, 2400, 6 * 3600]


@pytest.mark.slow
def test_a_feed_of_a_thousand_entries(server, tmp_path):
    cities = ["Lagos", "Lima", "Oslo", "Hanoi", "Quito", "Accra", "Dhaka", "Riga", "Baku", "Sucre"]
    items = [
        {
            "title": f"Bulletin {i}",
            "link": server.url(f"/b/{i}?utm_source=big"),
            "content": f"<p>{cities[i % 10]} issued {i * 7 + 3} permits, code {i:04d}.</p>",
        }
        for i in range(1000)
    ]
    server.routes["/big"] = Route(rss(items), etag='"big1"')
    poller, service = poller_for(tmp_path, [server.url("/big")])
    report = poller.poll()
    assert not report.failed
    assert report.added + report.duplicates == 1000 and report.added >= 990
    # Re-served with a new ETag but the same entries: nothing is re-indexed.
    server.routes["/big"] = Route(rss(items), etag='"big2"')
    again = poller.poll()
    assert again.results[0].changed == 0 and again.added == again.updated == 0


def test_a_feed_in_the_wrong_encoding_is_still_read():
    data = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Café news</title><link>http://x.example/1</link>"
        "<description>Le café est fermé depuis lundi.</description></item></channel></rss>"
    ).encode("latin-1")
    [entry] = parse_feed(data, "http://x.example/feed").entries
    assert entry.title == "Café news" and entry.text == "Le café est fermé depuis lundi."
