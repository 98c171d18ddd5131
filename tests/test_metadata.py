"""Metadata from plain text: seeds, datelines, dates, titles, boilerplate, markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.boilerplate import strip_boilerplate
from retrieval.datelines import parse_dateline
from retrieval.dates import normalize_date
from retrieval.front_matter import parse_front_matter
from retrieval.markdown_text import parse_markdown, strip_markdown
from retrieval.metadata import parse_plain_text
from retrieval.textdecode import read_text
from retrieval.titles import derive_title

SEEDS = Path(__file__).parent.parent / "data" / "articles"


def seed(prefix: str) -> tuple[str, dict]:
    (path,) = SEEDS.glob(f"{prefix}_*.txt")
    return parse_plain_text(read_text(path), str(path))


# --- the three real seeds -------------------------------------------------------------------


def test_seed_000_lowercase_reuters_dateline():
    text, fields = seed("000")
    assert fields["place"] == "Seoul/Beijing"
    assert fields["source"] == "Reuters"
    assert fields["published"] is None  # only "on thursday" and "nov. 1": no year
    assert fields["author"] is None and fields["url"] is None
    assert (
        fields["title"]
        == "Chinese president xi jinping replied to north korean leader kim jong un…"
    )
    assert text.startswith("seoul/beijing ( reuters ) - chinese president xi jinping")
    assert text.endswith("wishing him great success as head of the nation .")
    assert "\n\n" in text and "\n\n\n" not in text


def test_seed_001_colon_dateline_and_app_promo():
    text, fields = seed("001")
    assert fields["place"] == "Seoul"
    assert fields["source"] == "The Times of India"  # named only by the promo
    assert fields["published"] is None  # "reported Thursday", "July 2016" are not publication dates
    assert (
        fields["title"] == "Chinese President Xi Jinping has sent North Korean leader Kim Jong-Un…"
    )
    assert text.startswith("SEOUL: Chinese President Xi Jinping has sent")
    assert "News App" not in text and "Download" not in text
    assert text.endswith('the need to improve their relations".')


def test_seed_002_date_line_and_sputnik_dateline():
    text, fields = seed("002")
    assert fields["published"] == "2021-03-22"
    assert fields["author"] == "@ChaudhryMAli88"
    assert fields["place"] == "Moscow"
    assert fields["source"] == "UrduPoint News / Sputnik"
    assert fields["title"].startswith("Chinese President Xi Jinping and North Korean leader")
    assert text.startswith("MOSCOW (UrduPoint News / Sputnik - 22nd March, 2021) Chinese")
    assert "ChaudhryMAli88" not in text and not text.startswith("date")
    assert text.endswith("before his two summits with Trump.")


# --- datelines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "place", "source", "published"),
    [
        ("WASHINGTON (AP) — The Senate voted.", "Washington", "AP", None),
        ("LONDON, March 3 (Reuters) - Britain said.", "London", "Reuters", None),
        ("KYIV, Ukraine, Feb 24, 2022 (AFP) - War began.", "Kyiv, Ukraine", "AFP", "2022-02-24"),
        ("SAN FRANCISCO, Calif. (AP) — Firms said.", "San Francisco, Calif.", "AP", None),
        ("seoul/beijing ( reuters ) - xi replied.", "Seoul/Beijing", "Reuters", None),
        ("Washington (CNN)Former officials said.", "Washington", "CNN", None),
        ("SEOUL: Xi sent a message.", "Seoul", None, None),
        ("NEW DELHI, March 3, 2021: India said.", "New Delhi", None, "2021-03-03"),
        ("BEIJING — China said.", "Beijing", None, None),
    ],
)
def test_datelines(paragraph, place, source, published):
    found = parse_dateline(paragraph)
    assert found is not None
    assert (found.place, found.source, found.published) == (place, source, published)


@pytest.mark.parametrize(
    "paragraph",
    [
        "NOTE: this story was updated.",
        "Kim said: we will win.",
        "The president (who was tired) - said things.",
        "He said (reuters) - nothing.",
        "Chinese President Xi Jinping has sent a message.",
    ],
)
def test_not_datelines(paragraph):
    assert parse_dateline(paragraph) is None


def test_dateline_stays_in_text_and_is_left_out_of_derived_title():
    text, fields = parse_plain_text("WASHINGTON (AP) — The Senate voted on a bill. More follows.")
    assert text.startswith("WASHINGTON (AP) — ")
    assert fields["title"] == "The Senate voted on a bill"


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-03-22", "2021-03-22"),
        ("2021-03-22T10:00:00Z", "2021-03-22T10:00:00+00:00"),
        ("Mon, 22 Mar 2021 10:30:00 +0300", "2021-03-22T10:30:00+03:00"),
        ("22nd March, 2021", "2021-03-22"),
        ("Monday, March 22, 2021", "2021-03-22"),
        ("March 22, 2021 10:30 GMT", "2021-03-22T10:30:00+00:00"),
        (1616407200, "2021-03-22T10:00:00+00:00"),
        ("nov. 1", None),
        ("on thursday", None),
        ("March 2021", None),
        ("2021-02-30", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


def test_date_from_file_name_when_text_has_none():
    _, fields = parse_plain_text("Some text.", "/x/2021-03-22-some-story.md")
    assert fields["published"] == "2021-03-22"


# --- titles, headers and bylines ------------------------------------------------------------


def test_eval_corpus_title_line_is_removed_from_body():
    raw = "Xi and Kim swap messages\n\nBEIJING (Reuters) - Xi wrote.\n\nKim replied.\n"
    text, fields = parse_plain_text(raw)
    assert fields["title"] == "Xi and Kim swap messages"
    assert text == "BEIJING (Reuters) - Xi wrote.\n\nKim replied."


def test_question_headline_is_a_title_but_a_sentence_is_not():
    assert parse_plain_text("Who will win?\n\nThe answer.")[1]["title"] == "Who will win?"
    text, fields = parse_plain_text("It rained.\n\nThen it stopped.")
    assert text == "It rained.\n\nThen it stopped."
    assert fields["title"] == "It rained"


def test_markdown_heading_first_line_is_title():
    text, fields = parse_plain_text("# Big news\n\nBody here.")
    assert (text, fields["title"]) == ("Body here.", "Big news")


def test_header_lines_and_byline():
    raw = (
        "Title: Hello world\nSource: Wire Service\nURL: https://example.com/a\n"
        "Published: 22 March 2021\n\nBy JANE DOE, Associated Press\n\nBody text here."
    )
    text, fields = parse_plain_text(raw)
    assert text == "Body text here."
    assert fields == {
        "title": "Hello world",
        "source": "Wire Service",
        "published": "2021-03-22",
        "place": None,
        "url": "https://example.com/a",
        "author": "Jane Doe",
    }


def test_known_fields_win_and_repeated_title_is_dropped():
    raw = "Original headline\n\nLONDON (Reuters) - Text."
    text, fields = parse_plain_text(
        raw, known={"title": "Original headline", "source": "The Record", "published": None}
    )
    assert text == "LONDON (Reuters) - Text."
    assert fields["source"] == "The Record" and fields["place"] == "London"


def test_known_title_keeps_a_different_first_line():
    text, fields = parse_plain_text("Short intro\n\nMore text.", known={"title": "Headline"})
    assert text == "Short intro\n\nMore text."
    assert fields["title"] == "Headline"


def test_derive_title():
    assert derive_title("Short sentence here. And more.") == "Short sentence here"
    long = "one two three four five six seven eight nine ten eleven of twelve thirteen"
    assert derive_title(long) == "One two three four five six seven eight nine ten eleven…"
    assert derive_title("The U.S. said no. Other.") == "The U.S. said no"
    assert derive_title("  ") is None


def test_hard_wrapped_lines_are_joined():
    text, _ = parse_plain_text("A title\n\nThis paragraph is\nwrapped at a narrow\nwidth.\n")
    assert text == "This paragraph is wrapped at a narrow width."


# --- boilerplate ----------------------------------------------------------------------------


def test_boilerplate_sentences_and_paragraphs_are_removed():
    paragraphs = [
        "Real news. Subscribe to our daily newsletter for more.",
        "Advertisement",
        "Follow us on Twitter. Click here to read more.",
        "Copyright law is changing in Europe.",
        "© 2021 The Daily. All rights reserved.",
        "Get the latest news on the go. Download the BBC News app.",
    ]
    kept, outlet = strip_boilerplate(paragraphs)
    assert kept == ["Real news.", "Copyright law is changing in Europe."]
    assert outlet == "BBC"


def test_promo_outlet_is_only_a_fallback_source():
    raw = "LONDON (Reuters) - Text. Download The Times of India news app for your device."
    text, fields = parse_plain_text(raw)
    assert text == "LONDON (Reuters) - Text."
    assert fields["source"] == "Reuters"


# --- markdown -------------------------------------------------------------------------------


def test_front_matter():
    raw = (
        '---\ntitle: "Front"\ndate: 2021-03-22\nauthor:\n  - Jane Doe\n  - John Roe\n'
        "tags: [a, b]\nurl: https://example.com/m\n---\nBody"
    )
    rest, fields = parse_front_matter(raw)
    assert rest == "Body"
    assert fields == {
        "title": "Front",
        "published": "2021-03-22",
        "author": "Jane Doe, John Roe",
        "url": "https://example.com/m",
    }


def test_strip_markdown():
    raw = (
        "# The Title\n\nSome **bold**, *em*, _under_ and `code` with a [link](https://x.y/z).\n\n"
        "![img](a.png)\n## Sub\n\n- one\n- two\n\n> quoted \\*stars\\*\n\n[ref]: https://x.y\n"
    )
    text, title = strip_markdown(raw)
    assert title == "The Title"
    assert "Some bold, em, under and code with a link." in text
    for gone in ("**", "](", "#", "img", "[ref]", "> "):
        assert gone not in text
    assert "quoted *stars*" in text


def test_parse_markdown_front_matter_beats_heading():
    raw = "---\ntitle: Front title\nsource: The Daily\n---\n# Front title\n\nSEOUL: Body."
    text, fields = parse_markdown(raw)
    assert text == "SEOUL: Body."
    assert fields["title"] == "Front title" and fields["source"] == "The Daily"
    assert fields["place"] == "Seoul"
