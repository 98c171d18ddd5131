"""The replica of a local index: the same answers as Chroma, stale as soon as another
process writes, never used on a server, and a cold question that does not import chromadb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.chroma_store import ChromaStore
from retrieval.filters import Filters
from retrieval.replica import replica_dir
from tests.helpers import (
    SEEDS,
    cli_env,
    make_service,
    shared_embedder,
    write_generated_articles,
)

QUESTIONS = [
    "Who is Hua Chunying?",
    "Who is Song Tao?",
    "What did Xi Jinping say to Kim Jong Un?",
    "missile tests and sanctions",
    "COVID-19 pandemic poverty",
    "Korean War volunteers",
]
FILTERS = [
    Filters(),
    Filters(sources=("Reuters",)),
    Filters(sources=("Reuters", "UrduPoint News / Sputnik")),
    Filters(sources=("No such outlet",)),
    Filters(since="2021-01-01"),
    Filters(until="2018-01-01"),
    Filters(since="2017-01-01", until="2017-12-31"),
    Filters(published_by="2018-01-01"),
    Filters(sources=("The Times of India",), published_by="2030-01-01"),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """Seeds and generated (undated, outlet-less) articles, with the replica built."""
    home = tmp_path_factory.mktemp("replica-home")
    news = tmp_path_factory.mktemp("replica-news")
    write_generated_articles(news, 12)
    service = make_service(home)
    service.ingest_paths([SEEDS, news])
    assert service.store.replica() is not None  # ingest brought it up to date
    return home


def chroma_only(home: Path) -> ChromaStore:
    """A store that reads Chroma even though the replica is current."""
    store = ChromaStore(home)
    store.replica = lambda: None
    store.sync = lambda: None
    return store


def assert_same_passages(ours, theirs) -> None:
    assert [sp.passage.id for sp in ours] == [sp.passage.id for sp in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.passage == b.passage
        assert np.array_equal(a.sentence_vectors, b.sentence_vectors)
        assert (a.similarity is None) == (b.similarity is None)
        if a.similarity is not None:
            assert a.similarity == pytest.approx(b.similarity, abs=1e-5)


def test_replica_reads_equal_chroma_reads(home):
    replica, chroma = ChromaStore(home), chroma_only(home)
    assert replica.replica() is not None
    assert replica.generation() == chroma.generation()
    assert replica.passage_count() == chroma.passage_count() > 30
    ids = chroma.passage_ids()
    assert replica.passage_ids() == ids
    assert replica.passage_texts(ids[:7]) == chroma.passage_texts(ids[:7])

    vectors = shared_embedder().encode(QUESTIONS)
    for vector in vectors:
        for filters in FILTERS:
            for n in (3, 40, 1000):
                ours = replica.nearest_passages(vector, n, filters)
                theirs = chroma.nearest_passages(vector, n, filters)
                assert_same_passages(ours, theirs)

    wanted = ids[::5] + ["no-such-passage"]
    ours, theirs = replica.get_passages(wanted), chroma.get_passages(wanted)
    assert ours.keys() == theirs.keys() and "no-such-passage" not in ours
    assert_same_passages([ours[k] for k in sorted(ours)], [theirs[k] for k in sorted(theirs)])
    with_vectors = replica.get_passages(ids[:4], embeddings=True)
    expected = chroma.get_passages(ids[:4], embeddings=True)
    for pid in ids[:4]:
        assert np.allclose(with_vectors[pid].embedding, expected[pid].embedding, atol=1e-7)

    articles = list(dict.fromkeys(pid.split(":")[0] for pid in ids))
    chosen = [articles[3], articles[0], "no-such-article", articles[-1]]
    assert_same_passages(replica.article_passages(chosen), chroma.article_passages(chosen))
    ours, theirs = replica.lead_passages(chosen), chroma.lead_passages(chosen)
    assert ours.keys() == theirs.keys() == set(chosen) - {"no-such-article"}
    assert_same_passages([ours[a] for a in ours], [theirs[a] for a in ours])


def test_answers_with_and_without_the_replica_are_the_same(home):
    with_replica = make_service(home)
    without = make_service(home)
    without.store = chroma_only(home)
    for question in QUESTIONS + ["What happened in 2017?", "latest news on North Korea"]:
        ours, theirs = with_replica.ask(question), without.ask(question)
        assert ours.text == theirs.text, question
        assert [c.passage_id for c in ours.citations] == [c.passage_id for c in theirs.citations]
    assert with_replica.store._client is None  # never connected to Chroma


def test_a_change_by_another_instance_makes_the_replica_stale(tmp_path):
    home = tmp_path / "home"
    reader = make_service(home)
    reader.ingest_paths([SEEDS])
    assert reader.store.replica() is not None
    assert not reader.search("zeppelin airship hangar", k=3)[0].passage.text.count("zeppelin")

    article = tmp_path / "news" / "story.txt"
    article.parent.mkdir()
    article.write_text(
        "Zeppelin returns to the skies\n\nFRIEDRICHSHAFEN (AP) - A new zeppelin airship left "
        "its hangar on Lake Constance on Monday for a test flight over the water."
    )
    writer = make_service(home)  # another process, as far as the reader can tell
    writer.store.sync = lambda: None  # one that does not build the replica after writing
    assert writer.ingest_paths([article]).added == 1
    old = reader.store._replica
    assert reader.store.replica() is None  # stale: reads go to Chroma until rebuilt
    hits = reader.search("zeppelin airship hangar", k=3)
    assert "zeppelin airship" in hits[0].passage.text
    assert reader.store.replica() is not None and reader.store.replica() is not old

    (info,) = [a for a in writer.articles() if "Zeppelin" in (a.title or "")]
    writer.remove(info.id)
    assert reader.store.replica() is None
    assert all("zeppelin" not in h.passage.text for h in reader.search("zeppelin airship", k=20))

    # A writer that does build it: the reader opens the new one.
    old = reader.store.replica()
    builder = make_service(home)
    assert builder.ingest_paths([article]).added == 1
    assert reader.store.replica() is not None and reader.store.replica() is not old
    assert "zeppelin airship" in reader.search("zeppelin airship hangar", k=3)[0].passage.text


def test_a_damaged_replica_is_not_used(home, tmp_path):
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    assert ChromaStore(copy).replica() is None  # another database file, so not current
    service = make_service(copy)
    expected = service.ask("Who is Song Tao?").text
    assert service.store.replica() is not None
    folder = replica_dir(copy, "dateline")
    for victim in ("vectors.npy", "svec_offsets.npy", "state.json", "rows.sqlite3"):
        (folder / victim).write_bytes(os.urandom(200))
        fresh = make_service(copy)
        assert fresh.store.replica() is None
        assert fresh.ask("Who is Song Tao?").text == expected, victim
        assert fresh.store.replica() is not None  # rebuilt


def test_a_cold_ask_on_a_current_replica_does_not_import_chromadb(home):
    code = (
        "import sys, json; from pathlib import Path; from config import load_settings;"
        "from bot.service import DatelineService;"
        f"s = DatelineService(load_settings(home=Path({str(home)!r})));"
        "a = s.ask('Who is Song Tao?');"
        "print(json.dumps([a.text, 'chromadb' in sys.modules]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), timeout=120
    )
    assert run.returncode == 0, run.stderr
    text, imported = json.loads(run.stdout.strip().splitlines()[-1])
    assert "minister" in text.lower()
    assert imported is False


def test_a_server_store_has_no_replica(tmp_path):
    store = ChromaStore(tmp_path, url="http://127.0.0.1:9")
    store.sync()  # no connection, nothing written
    assert store.replica() is None
    assert not any(tmp_path.iterdir())
    store._touch()
    assert not store.stamp_path.exists()
