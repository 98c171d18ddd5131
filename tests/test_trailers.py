"""Metadata lines that close an article become fields and never stay in the text
(retrieval/metadata.py ``parse_plain_text``, retrieval/bylines.py)."""

from __future__ import annotations

import pytest

from retrieval.metadata import parse_plain_text

BODY = (
    "MARRAPUR, July 15 (Meridian Wire) - Floods in Lower Kaveli killed 12 people on Monday.\n"
    "\n"
    "The railway operator suspended services on the Marrapur-Dhoraj line.\n"
)
LAST = "The railway operator suspended services on the Marrapur-Dhoraj line."


def parse(text: str) -> tuple[str, dict]:
    return parse_plain_text(text, "/corpus/story/01-meridian-wire.txt")


def test_permalink_trailer_becomes_the_url():
    text, fields = parse(
        BODY + "\nPermalink: https://www.meridianwire.net/2024/07/floods-kill-12\n"
    )
    assert fields["url"] == "https://www.meridianwire.net/2024/07/floods-kill-12"
    assert "Permalink" not in text and "https://" not in text
    assert text.endswith(LAST)


def test_url_trailer_becomes_the_url():
    text, fields = parse(BODY + "\nURL: https://www.kestrelnews.com/2021/06/trial-results\n")
    assert fields["url"] == "https://www.kestrelnews.com/2021/06/trial-results"
    assert "URL" not in text and text.endswith(LAST)


def test_trailer_after_a_single_line_break():
    text, fields = parse(BODY + "Permalink: https://example.org/a\n")
    assert fields["url"] == "https://example.org/a"
    assert "Permalink" not in text and text.endswith(LAST)


def test_source_trailer_becomes_the_source():
    text, fields = parse(
        "Floods in Lower Kaveli killed 12 people on Monday.\n\n"
        "The railway suspended services.\n\nSource: Meridian Wire\n"
    )
    assert fields["source"] == "Meridian Wire"
    assert "Source:" not in text and text.endswith("The railway suspended services.")


@pytest.mark.parametrize(
    "credit",
    [
        "(Reporting by Kiran Tal; editing by Paul Mercer)",
        "(Reporting by Jonah Strand and Ana Ruiz; editing by Mirela Fosse)",
        "(Editing by Paul Mercer)",
        "(Additional reporting by Hana Reiss)",
        "Read more: A timeline of the Korvath case, from the Brevik raids to the Court of Appeal",
    ],
)
def test_credit_and_read_more_lines_are_dropped(credit):
    text, fields = parse(BODY + "\n" + credit + "\n")
    assert credit not in text
    assert "Reporting by" not in text and "Read more" not in text
    assert text.endswith(LAST)
    assert fields["author"] is None  # a credit line is not a byline


def test_a_stack_of_trailers_is_all_taken():
    text, fields = parse(
        BODY + "\n(Reporting by Kiran Tal; editing by Paul Mercer)\n\n"
        "Read more: Floods across the north\n\n"
        "Source: Meridian Wire\n\n"
        "Permalink: https://www.meridianwire.net/2024/07/floods\n"
    )
    assert text.endswith(LAST)
    assert fields["url"] == "https://www.meridianwire.net/2024/07/floods"
    assert fields["source"] == "Meridian Wire"
    for word in ("Reporting", "Read more", "Source:", "Permalink", "http"):
        assert word not in text


def test_trailing_byline_gives_author_source_and_date():
    text, fields = parse(
        "Floods in Lower Kaveli killed 12 people on Monday.\n\n"
        "The railway suspended services.\n\n"
        "By Lena Marsh | The Harbor Post | 16 November 2023\n"
    )
    assert fields["author"] == "Lena Marsh"
    assert fields["source"] == "The Harbor Post"
    assert fields["published"] == "2023-11-16"
    assert "Lena Marsh" not in text and "Harbor Post" not in text


def test_leading_byline_gives_author_source_and_date():
    text, fields = parse(
        "Inquiry blames faulty sensor for dam surge\n\n"
        "By Kiran Tal | Meridian Wire | 11 February 2025\n\n"
        "MARRAPUR - A judicial inquiry has found that a faulty sensor led operators astray.\n\n"
        "The chairman resigned on Monday.\n"
    )
    assert fields["author"] == "Kiran Tal"
    assert fields["source"] == "Meridian Wire"
    assert fields["published"] == "2025-02-11"
    assert fields["title"] == "Inquiry blames faulty sensor for dam surge"
    assert "Kiran Tal" not in text and "|" not in text
    assert text.startswith("MARRAPUR - A judicial inquiry")


def test_article_text_that_mentions_a_source_is_kept():
    body = (
        "Floods killed 12 people on Monday.\n\n"
        "The figure was confirmed by officials, who said more bodies could be found.\n"
    )
    text, fields = parse(body)
    assert text.endswith("who said more bodies could be found.")
    assert fields["url"] is None and fields["author"] is None


def test_a_permalink_alone_is_metadata_not_text():
    text, fields = parse("Permalink: https://example.org/a\n")
    assert fields["url"] == "https://example.org/a"
    assert "Permalink" not in text


@pytest.mark.xfail(
    strict=True,
    reason="a credit appended to the last paragraph (no line break) stays in the text",
)
def test_credit_at_the_end_of_the_last_paragraph_is_dropped():
    text, fields = parse(
        "Floods killed 12 people on Monday.\n\n"
        "Ostrander-Pell employs about 6,800 people. (Reporting by Sigrid Halloway;"
        " Editing by Mark Deveraux)\n\n"
        "URL: https://www.kestrelnews.com/2021/06/trial-results\n"
    )
    assert fields["url"] == "https://www.kestrelnews.com/2021/06/trial-results"
    assert "Reporting by" not in text
    assert text.endswith("employs about 6,800 people.")
