"""Reading articles from files and folders: formats, encodings and every way a file can fail."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from retrieval import formats, json_records, loaders, metadata
from retrieval.formats import sniff
from retrieval.html_pages import html_to_text
from retrieval.loaders import iter_articles, read_bytes
from retrieval.models import Article, Skipped
from retrieval.textdecode import TextDecodeError, decode_bytes, looks_binary

SEEDS = Path(__file__).parent.parent / "data" / "articles"

ARTICLE = "LONDON (Reuters) - Britain said on Monday it would act.\n\nA second paragraph.\n"


def load(*paths) -> list[Article | Skipped]:
    return list(iter_articles(paths))


def one(path) -> Article | Skipped:
    (item,) = load(path)
    return item


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --- plain text and markdown ----------------------------------------------------------------


def test_text_file(tmp_path):
    path = write(tmp_path / "story.txt", "Britain acts\n\n" + ARTICLE)
    article = one(path)
    assert isinstance(article, Article)
    assert article.key == article.path == str(path.resolve())
    assert article.title == "Britain acts"
    assert (article.place, article.source) == ("London", "Reuters")
    assert article.text == ARTICLE.strip()


def test_relative_path_gives_absolute_key(tmp_path, monkeypatch):
    write(tmp_path / "story.txt", ARTICLE)
    monkeypatch.chdir(tmp_path)
    assert one("story.txt").key == str((tmp_path / "story.txt").resolve())


def test_seed_folder():
    articles = load(SEEDS)
    assert [Path(a.key).name[:3] for a in articles] == ["000", "001", "002"]
    assert all(isinstance(a, Article) and a.text for a in articles)
    assert [a.source for a in articles] == [
        "Reuters",
        "The Times of India",
        "UrduPoint News / Sputnik",
    ]
    assert [a.published for a in articles] == [None, None, "2021-03-22"]


def test_markdown_with_front_matter(tmp_path):
    path = write(
        tmp_path / "post.md",
        "---\ntitle: Xi writes to Kim\ndate: 2021-03-22\nsource: The Daily\nauthor: Jane Doe\n"
        "url: https://daily.example/xi\n---\n# Xi writes to Kim\n\n"
        "BEIJING (Reuters) - Xi sent a **rare** [message](https://kcna.example).\n",
    )
    article = one(path)
    assert article.text == "BEIJING (Reuters) - Xi sent a rare message."
    assert (article.title, article.published, article.source) == (
        "Xi writes to Kim",
        "2021-03-22",
        "The Daily",
    )
    assert (article.author, article.url, article.place) == (
        "Jane Doe",
        "https://daily.example/xi",
        "Beijing",
    )


def test_file_without_extension_is_sniffed(tmp_path):
    assert isinstance(one(write(tmp_path / "README", ARTICLE)), Article)
    assert one(write(tmp_path / "data", b"\x00\x01\x02binary")).reason == "binary file"


# --- HTML -----------------------------------------------------------------------------------

PAGE = """<html><head><title>Big News | The Daily</title>
<meta name="author" content="Jane Doe"><meta property="og:site_name" content="The Daily">
<meta property="article:published_time" content="2021-03-22T10:00:00+00:00">
<link rel="canonical" href="https://daily.example/big"><script>var tracking = 1;</script></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Big News</h1>
<p>WASHINGTON (AP) — Something remarkable happened in the capital today, officials said.</p>
<p>A second paragraph gives the extractor enough words to keep the article body.</p>
<p>Subscribe to our newsletter for more.</p></article>
<footer>© 2021 The Daily. All rights reserved.</footer></body></html>"""


def test_html_article(tmp_path):
    article = one(write(tmp_path / "page.html", PAGE))
    assert isinstance(article, Article)
    assert article.text.startswith("WASHINGTON (AP) — Something remarkable")
    assert "\n\nA second paragraph" in article.text
    for noise in ("tracking", "Home", "newsletter", "rights reserved", "Big News"):
        assert noise not in article.text
    assert article.title == "Big News"
    assert (article.source, article.author) == ("The Daily", "Jane Doe")
    assert article.published == "2021-03-22T10:00:00+00:00"
    assert article.url == "https://daily.example/big"
    assert article.place == "Washington"


def test_html_with_only_scripts_and_navigation(tmp_path):
    page = (
        "<html><head><script>var a = 1;</script><style>p {}</style></head><body>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/w'>World</a></li></ul></nav>"
        "<script>document.write('x')</script></body></html>"
    )
    assert one(write(tmp_path / "nav.htm", page)) == Skipped(
        str((tmp_path / "nav.htm").resolve()), "no article text found"
    )


def test_html_meta_charset(tmp_path):
    page = (
        '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><body>'
        "<p>The caf\xe9 opened in Paris on Monday, the owner said. It serves cr\xeapes.</p>"
        "</body></html>"
    ).encode("cp1252")
    article = one(write(tmp_path / "cafe.html", page))
    assert "café opened" in article.text and "crêpes" in article.text


def test_html_to_text_drops_scripts_and_keeps_paragraphs():
    html = "<p>One <b>bold</b>.</p><script>evil()</script><style>p{}</style><p>Two<br>lines</p>"
    assert html_to_text(html) == "One bold.\n\nTwo\nlines"


# --- JSON and JSONL -------------------------------------------------------------------------


def test_jsonl_records_and_bad_lines(tmp_path):
    lines = [
        json.dumps(
            {
                "title": "T1",
                "text": ARTICLE,
                "url": "https://x.example/1",
                "date": "2021-03-03T10:00:00Z",
                "source": "Wire",
            }
        ),
        "",
        "{not json",
        json.dumps({"content": "<p>Para A.</p><p>Para B.</p>", "source": {"name": "NewsAPI"}}),
        json.dumps({"title": "no text here"}),
        json.dumps([1, 2]),
        json.dumps({"body": "Last record.", "author": ["Jane Doe", "John Roe"]}),
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    base = str(path.resolve())
    items = load(path)
    assert [type(i).__name__ for i in items] == [
        "Article",
        "Skipped",
        "Article",
        "Skipped",
        "Skipped",
        "Article",
    ]
    first, bad, html, no_text, not_object, last = items
    assert first.key == f"{base}#1" and first.path == base
    assert (first.title, first.url, first.published) == (
        "T1",
        "https://x.example/1",
        "2021-03-03T10:00:00+00:00",
    )
    assert first.source == "Wire"  # the record field wins over the Reuters dateline
    assert first.place == "London"
    assert bad.path == f"{base}:3" and "line 3" in bad.reason
    assert html.text == "Para A.\n\nPara B." and html.source == "NewsAPI"
    assert html.key == f"{base}#4"
    assert no_text == Skipped(f"{base}:5", "no text field (text, content or body)")
    assert not_object.path == f"{base}:6"
    assert last.author == "Jane Doe, John Roe" and last.key == f"{base}#7"


def test_jsonl_keys_are_stable_on_reread(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "One."}\n{"text": "Two."}\n')
    assert [a.key for a in load(path)] == [a.key for a in load(path)]


def test_jsonl_is_streamed(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "One."}\n{"text": "Two."}\n')
    items = iter_articles([path])
    assert next(items).text == "One."
    with open(path, "a", encoding="utf-8") as handle:  # read lazily, line by line
        handle.write('{"text": "Three."}\n')
    assert [a.text for a in items] == ["Two.", "Three."]


@pytest.mark.parametrize(
    "doc",
    [
        [{"text": "First."}, {"text": "Second."}],
        {"articles": [{"text": "First."}, {"text": "Second."}]},
        {"items": [{"body": "First."}, {"content": "Second."}]},
        {"data": [{"text": "First."}, {"text": "Second."}]},
    ],
)
def test_json_lists(tmp_path, doc):
    path = write(tmp_path / "a.json", json.dumps(doc))
    base = str(path.resolve())
    items = load(path)
    assert [(a.key, a.text) for a in items] == [(f"{base}#1", "First."), (f"{base}#2", "Second.")]


def test_json_single_object(tmp_path):
    doc = {
        "headline": "Hi",
        "text": "Body.",
        "link": "https://x.example",
        "published": "2021-03-22",
    }
    article = one(write(tmp_path / "a.json", json.dumps(doc)))
    assert article.key == str((tmp_path / "a.json").resolve())
    assert (article.title, article.url, article.published) == (
        "Hi",
        "https://x.example",
        "2021-03-22",
    )


def test_json_without_text_field(tmp_path):
    path = write(tmp_path / "a.json", json.dumps({"title": "Only a title"}))
    assert one(path).reason == "no text field (text, content or body)"
    path = write(tmp_path / "b.json", json.dumps([{"text": "Fine."}, {"title": "x"}]))
    fine, missing = load(path)
    assert fine.text == "Fine."
    assert missing.path.endswith("b.json#2") and "no text" in missing.reason


def test_invalid_json(tmp_path):
    assert one(write(tmp_path / "a.json", "{oops")).reason.startswith("invalid JSON")


# --- feeds ----------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>World Feed</title><link>https://feed.example</link>
<item><title>First &amp; foremost</title><link>https://feed.example/1</link>
<pubDate>Mon, 22 Mar 2021 10:30:00 +0300</pubDate>
<author>jd@example.com (Jane Doe)</author>
<description><![CDATA[<p>BEIJING (Reuters) - Xi and Kim <b>exchanged</b> messages.</p>
<script>alert(1)</script><p>Second paragraph.</p>]]></description></item>
<item><title>No date here</title><link>https://feed.example/2</link>
<description>A plain summary without any date.</description></item>
<item><title>Empty</title><link>https://feed.example/3</link><description></description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Feed</title>
<updated>2021-03-22T10:00:00Z</updated>
<entry><title>Atom entry</title><link href="https://atom.example/1"/><id>urn:1</id>
<updated>2021-03-22T10:00:00Z</updated><published>2021-03-21T09:00:00+01:00</published>
<author><name>John Roe</name></author>
<content type="html">&lt;p&gt;Hello from Atom.&lt;/p&gt;&lt;p&gt;Two.&lt;/p&gt;</content></entry>
</feed>"""


def test_rss_feed(tmp_path):
    path = write(tmp_path / "world.rss", RSS)
    base = str(path.resolve())
    first, undated, empty = load(path)
    assert first.key == f"{base}#1" and first.path == base
    assert first.text == "BEIJING (Reuters) - Xi and Kim exchanged messages.\n\nSecond paragraph."
    assert "alert" not in first.text
    assert (first.title, first.url, first.source) == (
        "First & foremost",
        "https://feed.example/1",
        "World Feed",
    )
    assert first.published == "2021-03-22T10:30:00+03:00"
    assert first.author == "Jane Doe"
    assert undated.published is None and undated.text == "A plain summary without any date."
    assert empty == Skipped(f"{base}#3", "feed entry has no text")


def test_atom_feed_in_xml_file_is_sniffed(tmp_path):
    article = one(write(tmp_path / "news.xml", ATOM))
    assert article.text == "Hello from Atom.\n\nTwo."
    assert (article.source, article.author) == ("Atom Feed", "John Roe")
    assert article.published == "2021-03-21T09:00:00+01:00"


def test_xml_that_is_not_a_feed(tmp_path):
    item = one(write(tmp_path / "config.xml", '<?xml version="1.0"?><config a="1"/>'))
    assert isinstance(item, Skipped) and "not an RSS or Atom feed" in item.reason


def test_sniff():
    assert sniff(RSS.encode()) == "feed"
    assert sniff(ATOM.encode("utf-16")) == "feed"
    assert sniff(b"<!DOCTYPE html><html><body><p>x</p></body></html>") == "html"
    assert sniff(b'  {"text": "x"}') == "json"
    assert sniff(b"Plain words.") == "text"


# --- encodings ------------------------------------------------------------------------------


def test_latin1_text(tmp_path):
    path = write(
        tmp_path / "fr.txt",
        "Le café à Paris a rouvert, a déclaré le propriétaire.".encode("latin-1"),
    )
    assert one(path).text == "Le café à Paris a rouvert, a déclaré le propriétaire."


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_unicode_encodings(tmp_path, encoding):
    text = "Der Präsident sagte am Montag, es gehe voran.\n\nZweiter Absatz."
    assert one(write(tmp_path / "de.txt", text.encode(encoding))).text == text


def test_mojibake_is_repaired(tmp_path):
    path = write(tmp_path / "m.txt", "The CafÃ© reopened, its owner said â€” finally.")
    assert one(path).text == "The Café reopened, its owner said — finally."


def test_decode_bytes_and_looks_binary():
    assert decode_bytes("naïve".encode("cp1252")) == "naïve"
    assert (
        decode_bytes("Привет, как дела? Это статья.".encode("cp1251"))
        == "Привет, как дела? Это статья."
    )
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert looks_binary(b"abc\x00def")
    assert not looks_binary("text".encode("utf-16"))
    assert not looks_binary(b"plain text\n")
    for data, reason in ((b"", "empty file"), (b" \n\t", "empty file"), (b"a\x00b", "binary file")):
        with pytest.raises(TextDecodeError) as info:
            decode_bytes(data)
        assert info.value.reason == reason


# --- files that give no article -------------------------------------------------------------


def test_empty_and_blank_files(tmp_path):
    assert one(write(tmp_path / "a.txt", b"")).reason == "empty file"
    assert one(write(tmp_path / "b.md", "  \n\n ")).reason == "empty file"
    assert one(write(tmp_path / "c.jsonl", b"")).reason == "empty file"


def test_binary_file(tmp_path):
    path = write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100))
    assert one(path) == Skipped(str(path.resolve()), "binary file")


def test_unknown_extension(tmp_path):
    path = write(tmp_path / "notes.xyz", ARTICLE)
    assert one(path) == Skipped(str(path.resolve()), "unsupported file type .xyz")


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.txt"
    assert one(missing) == Skipped(str(missing), "no such file or directory")


def test_unreadable_file(tmp_path, monkeypatch):
    path = write(tmp_path / "secret.txt", ARTICLE)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(loaders, "open", refuse, raising=False)
    assert one(path) == Skipped(str(path.resolve()), "cannot read: Permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_mode(tmp_path):
    path = write(tmp_path / "secret.txt", ARTICLE)
    path.chmod(0)
    try:
        assert one(path).reason.startswith("cannot read:")
    finally:
        path.chmod(0o644)


def test_parser_bug_becomes_skipped(tmp_path, monkeypatch):
    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "b.txt", ARTICLE)

    def boom(text, path=None, **kwargs):
        if path.endswith("a.txt"):
            raise ValueError("bad")
        return text, {}

    monkeypatch.setattr(metadata, "parse_plain_text", boom)
    first, second = load(tmp_path)
    assert isinstance(first, Skipped) and first.reason == "cannot parse: ValueError: bad"
    assert isinstance(second, Article)


# --- folders --------------------------------------------------------------------------------


def test_folder_walk_is_sorted_recursive_and_skips_hidden(tmp_path):
    write(tmp_path / "b.txt", ARTICLE)
    write(tmp_path / "a" / "z.txt", ARTICLE)
    write(tmp_path / "a" / "y.md", ARTICLE)
    write(tmp_path / ".hidden.txt", ARTICLE)
    write(tmp_path / ".git" / "c.txt", ARTICLE)
    names = [Path(a.key).relative_to(tmp_path.resolve()).as_posix() for a in load(tmp_path)]
    assert names == ["a/y.md", "a/z.txt", "b.txt"]


def test_symlink_loop(tmp_path):
    write(tmp_path / "top" / "story.txt", ARTICLE)
    (tmp_path / "top" / "loop").symlink_to(tmp_path / "top", target_is_directory=True)
    (tmp_path / "top" / "self.txt").symlink_to(tmp_path / "top" / "self.txt")
    items = load(tmp_path / "top")
    articles = [i for i in items if isinstance(i, Article)]
    assert [Path(a.key).name for a in articles] == ["story.txt"]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [Path(s.path).name for s in skipped] == ["self.txt"]
    assert skipped[0].reason == "cannot read: symlink loop"


def test_same_file_twice_is_read_once(tmp_path):
    path = write(tmp_path / "a.txt", ARTICLE)
    assert len(load(path, tmp_path, str(path))) == 1


def test_xhtml_with_xml_declaration(tmp_path):
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X Title</title></head><body>'
        "<article><p>PARIS (AFP) - The body text is long enough for the extractor to keep it."
        "</p></article></body></html>"
    )
    article = one(write(tmp_path / "x.xhtml", page))
    assert (article.title, article.place, article.source) == ("X Title", "Paris", "AFP")


def test_symlink_is_read_as_its_target(tmp_path):
    target = write(tmp_path / "page.html", PAGE)
    (tmp_path / "link.txt").symlink_to(target)
    article = one(tmp_path / "link.txt")
    assert article.key == str(target.resolve()) and article.title == "Big News"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    assert one(tmp_path / "pipe.txt").reason == "not a regular file"


def test_jsonl_blank_lines_only(tmp_path):
    assert one(write(tmp_path / "a.jsonl", "\n  \n\n")).reason == "empty file"


def test_jsonl_record_that_fails_is_skipped_alone(tmp_path, monkeypatch):
    path = write(tmp_path / "a.jsonl", '{"text": "good"}\n{"text": "bad"}\n{"text": "fine"}\n')
    real = json_records.parse_plain_text

    def flaky(text, path=None, **kwargs):
        if text == "bad":
            raise ValueError("broken record")
        return real(text, path, **kwargs)

    monkeypatch.setattr(json_records, "parse_plain_text", flaky)
    good, bad, fine = load(path)
    assert (good.text, fine.text) == ("good", "fine")
    assert bad == Skipped(f"{path.resolve()}:2", "cannot parse: ValueError: broken record")


# --- content without a file (uploads) and the format registry --------------------------------

JSONL = '{"title": "T1", "text": "First record."}\n{oops\n{"text": "Third record."}\n'
SAMPLES = {
    "story.txt": ARTICLE,
    "post.md": "---\ntitle: Xi writes to Kim\ndate: 2021-03-22\n---\n# Xi writes to Kim\n\nBody.\n",
    "page.html": PAGE,
    "records.json": json.dumps([{"text": "One."}, {"text": "Two."}]),
    "records.jsonl": JSONL,
    "world.rss": RSS,
    "world.xml": ATOM,
    "README": ARTICLE,
    "notes.xyz": ARTICLE,
    "empty.txt": "",
    "blank.md": " \n\n ",
    "data.txt": b"\x00\x01\x02binary",
    "wide.jsonl": JSONL.encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_read_bytes_reads_as_the_file_would(tmp_path, name):
    path = write(tmp_path / name, SAMPLES[name])
    content = path.read_bytes()
    base = str(path.resolve())
    from_file = load(path)
    from_bytes = list(read_bytes(content, "upload:7/" + name))
    assert from_file and len(from_bytes) == len(from_file)
    for a, b in zip(from_file, from_bytes, strict=True):
        a_fields = {k: v for k, v in vars(a).items() if k not in ("key", "path")}
        b_fields = {k: v for k, v in vars(b).items() if k not in ("key", "path")}
        assert (type(a), a_fields) == (type(b), b_fields)
        assert b.path == a.path.replace(base, "upload:7/" + name)
        if isinstance(a, Article):
            assert b.key == a.key.replace(base, "upload:7/" + name)


def test_read_bytes_of_an_empty_upload():
    assert list(read_bytes(b"", "x.jsonl")) == [Skipped("x.jsonl", "empty file")]
    assert list(read_bytes(b"", "x")) == [Skipped("x", "empty file")]


def test_every_suffix_names_one_format():
    declared = [suffix for f in formats.FORMATS for suffix in f.suffixes]
    assert len(declared) == len(set(declared)) == len(formats.suffixes())
    for f in formats.FORMATS:
        for suffix in f.suffixes:
            assert suffix == suffix.lower() and suffix.startswith(".")
            assert formats.format_for_suffix(suffix.upper()) is f
    assert formats.format_for_suffix(".xyz") is None
    assert formats.describe() == ".txt, .md, .html, .json, .jsonl, RSS/Atom"
