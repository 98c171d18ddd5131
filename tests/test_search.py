"""Hybrid search over the seed articles: ranking, filters, the LangChain retriever, and the
BM25 cache following changes made by another service instance."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from langchain_core.documents import Document

from bot.errors import InvalidQuestionError
from retrieval.errors import InvalidQueryError
from retrieval.langchain_retriever import DatelineRetriever, as_langchain_retriever
from retrieval.search import Filters, HybridSearcher
from tests.helpers import SEED_SOURCES, SEEDS, make_service, seed_home

SPUTNIK = "UrduPoint News / Sputnik"
REUTERS_ID = "d1e863a610e7ea6d"
METADATA_KEYS = {"passage_id", "article_id", "title", "source", "published", "url", "score"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    return make_service(seed_home(tmp_path_factory))


def test_who_is_hua_chunying(service):
    hits = service.search("Who is Hua Chunying?", k=5)
    assert "hua chunying" in hits[0].passage.text.lower()
    assert hits[0].passage.source == "Reuters"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.passage.id for h in hits}) == len(hits)
    top = hits[0]
    assert 0 < top.lexical_norm <= 1 and top.dense is not None
    assert len(top.sentence_sims) == len(top.passage.sentences)


def test_who_is_song_tao(service):
    (hit,) = service.search("Who is Song Tao?", k=1)
    assert "Song Tao, minister" in hit.passage.text
    assert hit.passage.source == SPUTNIK


def test_k_larger_than_the_index(service):
    hits = service.search("Xi Jinping Kim Jong Un", k=50)
    total = service.store.passage_count()
    assert 0 < len(hits) <= total
    assert len({h.passage.id for h in hits}) == len(hits)
    assert {h.passage.source for h in hits} == SEED_SOURCES


@pytest.mark.parametrize("source", sorted(SEED_SOURCES))
def test_filter_by_source(service, source):
    hits = service.search(
        "Hua Chunying foreign ministry spokeswoman", k=5, filters=Filters((source,))
    )
    assert hits
    assert {h.passage.source for h in hits} == {source}


def test_filter_by_several_sources(service):
    wanted = ("Reuters", SPUTNIK)
    hits = service.search("message from Xi to Kim", k=20, filters=Filters(wanted))
    assert {h.passage.source for h in hits} == set(wanted)


def test_filter_by_date_range(service):
    # Only the Sputnik article carries a date (2021-03-22); undated articles never pass a
    # date filter.
    for since, until in [
        ("2021-03-22", "2021-03-22"),
        ("2021-01-01", None),
        (None, "2021-12-31"),
        ("2021-03-01", "2021-03-31"),
    ]:
        hits = service.search("Xi Jinping message", k=10, filters=Filters(since=since, until=until))
        assert hits and {h.passage.published for h in hits} == {"2021-03-22"}, (since, until)
    for since, until in [("2021-03-23", None), (None, "2021-03-21"), ("2017-01-01", "2017-12-31")]:
        assert service.search("Xi Jinping", k=10, filters=Filters(since=since, until=until)) == []
    both = Filters(sources=("Reuters",), since="2021-01-01")
    assert service.search("Xi Jinping", k=10, filters=both) == []


def test_bad_filters_and_queries(service):
    with pytest.raises(InvalidQueryError, match="ISO date"):
        service.search("Xi", filters=Filters(since="notadate"))
    with pytest.raises(InvalidQueryError):
        service.searcher.search("   ")
    with pytest.raises(InvalidQuestionError):
        service.search(" \n\t ")
    assert service.search("Xi", filters=Filters(sources=("No Such Outlet",))) == []


def test_lexical_candidates_keep_their_rank_under_filters(service):
    # With one candidate per ranker and BM25 alone deciding, a filtered search must return
    # the best BM25 passage of the outlet (Chroma returns fetched rows in its own order).
    searcher = HybridSearcher(
        service.store, service.embedder, service.lexical, candidates=1, dense_weight=0.0
    )
    searcher.refresh()
    for query in ["kim congratulatory message party congress", "missile test lull pyongyang"]:
        (hit,) = searcher.search(query, k=1, filters=Filters(("Reuters",)))
        ranked = service.lexical.search(query, 100).ids
        best = next(pid for pid in ranked if pid.startswith(REUTERS_ID))
        assert hit.passage.id == best, query


def test_chroma_store_is_an_index():
    import inspect

    from retrieval.chroma_store import ChromaStore
    from retrieval.index import Index

    wanted = {n for n in vars(Index) if not n.startswith("_")}
    assert wanted and wanted <= set(vars(ChromaStore))
    for name in sorted(wanted - {"location"}):
        ours = inspect.signature(getattr(ChromaStore, name)).parameters
        theirs = inspect.signature(getattr(Index, name)).parameters
        assert list(ours)[: len(theirs)] == list(theirs), name
        assert all(p.default is not p.empty for p in list(ours.values())[len(theirs) :]), name


def test_empty_key_and_path_lists_match_no_article(service):
    assert service.store.find_articles(keys=[]) == []
    assert service.store.find_articles(keys=[], paths=[]) == []
    assert service.store.list_articles(paths=[]) == []
    everything = service.store.list_articles()
    assert everything and service.store.list_articles(keys=None) == everything
    (one,) = service.store.list_articles(paths=[everything[0].path])
    assert service.store.list_articles(keys=[], paths=[one.path]) == [one]


def test_ask_tokenizes_and_embeds_the_question_once(service, monkeypatch):
    import bot.service
    import retrieval.evidence
    import retrieval.lexical
    import retrieval.query
    from bot.intent import read_intent
    from bot.timeframe import read_time

    question = "Who is Hua Chunying?"
    topic = read_intent(question, read_time(question, service.today())).topic
    tokenized: list[list[str]] = []
    real_tokenize = retrieval.lexical.tokenize

    def tokenize(texts):
        tokenized.append(list(texts))
        return real_tokenize(texts)

    for module in (bot.service, retrieval.evidence, retrieval.lexical, retrieval.query):
        monkeypatch.setattr(module, "tokenize", tokenize)
    encoded: list[str] = []
    real_encode = service.query_embedder.encode_query

    def encode_query(text):
        encoded.append(text)
        return real_encode(text)

    monkeypatch.setattr(service.query_embedder, "encode_query", encode_query)
    answer = service.ask(question)
    assert not answer.abstained and answer.citations
    assert sum(texts.count(topic) for texts in tokenized) == 1
    assert encoded == [topic]


# -- LangChain ------------------------------------------------------------------------------


def test_langchain_retriever(service):
    retriever = as_langchain_retriever(service.searcher, k=3)
    assert isinstance(retriever, DatelineRetriever)
    docs = retriever.invoke("Who is Song Tao?")
    assert 1 <= len(docs) <= 3
    assert all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert "Song Tao" in top.page_content
    assert set(top.metadata) == METADATA_KEYS
    assert top.metadata["source"] == SPUTNIK
    assert top.metadata["published"] == "2021-03-22"
    assert top.metadata["passage_id"].startswith(top.metadata["article_id"] + ":")
    assert isinstance(top.metadata["score"], float)
    json.dumps([d.metadata for d in docs])  # plain JSON-ready values


def test_langchain_retriever_with_a_callable_and_filters(service):
    retriever = DatelineRetriever(searcher=service.search, k=2, filters=Filters(("Reuters",)))
    docs = retriever.invoke("Who is Song Tao?")
    assert docs and {d.metadata["source"] for d in docs} == {"Reuters"}
    batch = retriever.batch(["Hua Chunying", "Kim Jong Un"])
    assert len(batch) == 2 and all(batch)


def test_langchain_retriever_rejects_a_bad_searcher():
    with pytest.raises(TypeError):
        DatelineRetriever(searcher=42, k=2).invoke("x")


# -- BM25 cache staleness --------------------------------------------------------------------

ZEPPELIN = (
    "Zeppelin returns to Friedrichshafen\n\n"
    "FRIEDRICHSHAFEN (dpa) - A restored zeppelin airship landed at Lake Constance on Sunday "
    "after a week-long tour of southern Germany. Thousands of spectators watched the landing."
)
GLACIER = (
    "Glacier retreat measured in Patagonia\n\n"
    "SANTIAGO (AP) - Scientists measured a record retreat of the Grey glacier in Patagonia "
    "this summer. The ice front moved back four hundred metres in a single season."
)


def test_bm25_cache_follows_another_instance(tmp_path):
    home = tmp_path / "home"
    first = make_service(home)
    first.ingest_paths([SEEDS])
    assert all("zeppelin" not in h.passage.text for h in first.search("zeppelin airship", k=3))

    article = tmp_path / "news" / "story.txt"
    article.parent.mkdir()
    article.write_text(ZEPPELIN)
    second = make_service(home)
    assert second.ingest_paths([article]).added == 1
    hits = first.search("zeppelin airship", k=3)
    assert "zeppelin airship" in hits[0].passage.text
    assert hits[0].lexical > 0  # found by BM25 too, not only by the dense side

    # Same passage count, different text: only the generation tells the cache it is stale.
    count = first.store.passage_count()
    article.write_text(GLACIER)
    assert second.ingest_paths([article]).updated == 1
    assert first.store.passage_count() == count
    hits = first.search("Grey glacier retreat Patagonia", k=3)
    assert "Grey glacier" in hits[0].passage.text and hits[0].lexical > 0
    assert all("zeppelin" not in h.passage.text for h in first.search("zeppelin airship", k=20))

    # The rebuilt cache is on disk, and a fresh instance uses it as it is.
    state = json.loads((first.lexical.cache_dir / "state.json").read_text())
    assert state["generation"] == first.store.generation() and state["count"] == count
    third = make_service(home)
    assert "Grey glacier" in third.search("Grey glacier", k=1)[0].passage.text


def _zipf_documents(seed: int, n_vocab: int, n_docs: int, max_length: int):
    """A vocabulary ``t0..`` and documents of Zipf-like token ids: frequent and rare terms,
    repeats within a document, and a never-used last token all occur; lengths vary from 1
    to ``max_length``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocab = {f"t{i}": i for i in range(n_vocab)}
    docs = [
        np.minimum(rng.zipf(1.3, size=rng.integers(1, max_length)) - 1, n_vocab - 2).astype(
            np.int32
        )
        for _ in range(n_docs)
    ]
    return vocab, docs


def test_bm25_index_from_token_ids_matches_bm25s():
    import bm25s
    import numpy as np

    from retrieval.lexical import bm25_retriever

    vocab, docs = _zipf_documents(seed=3, n_vocab=300, n_docs=400, max_length=80)
    ours = bm25_retriever(docs, dict(vocab))
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(
        bm25s.tokenization.Tokenized(ids=[d.tolist() for d in docs], vocab=dict(vocab)),
        show_progress=False,
    )
    for key in ("indices", "indptr"):
        assert np.array_equal(ours.scores[key], reference.scores[key])
    np.testing.assert_allclose(ours.scores["data"], reference.scores["data"], rtol=1e-6)
    assert ours.scores["num_docs"] == reference.scores["num_docs"] == 400
    assert ours.vocab_dict == reference.vocab_dict  # both add the empty token
    for query in (["t0", "t5"], ["t42"], ["t1", "t1", "t250"], ["t299"]):
        np.testing.assert_allclose(ours.get_scores(query), reference.get_scores(query), rtol=1e-6)


def test_warm_search_serves_passages_from_the_cache_with_the_same_results(service):
    from retrieval.passage_rows import PassageCache

    question = "Who is Hua Chunying?"
    warm = service.search(question, k=5)
    again = service.search(question, k=5)
    cold = make_service(service.settings.home).search(question, k=5)
    for hits in (again, cold):
        assert [h.passage.id for h in hits] == [h.passage.id for h in warm]
        assert [round(h.score, 6) for h in hits] == [round(h.score, 6) for h in warm]
    ids = {h.passage.id for h in warm}
    replica = service.store.replica()  # a local index is read from its replica, which keeps them
    kept = (replica or service.store)._cache
    assert kept.get_many(list(ids)).keys() == ids

    stored = service.store.get_passages([warm[0].passage.id])[warm[0].passage.id]
    cache = PassageCache(size=2)
    cache.observe("g1")
    for pid in "abc":
        cache.put(pid, replace(stored, similarity=0.5))
    assert list(cache.get_many("abc")) == ["b", "c"]  # bounded, oldest dropped
    assert cache.get_many("c")["c"].similarity is None  # no per-query score kept
    cache.observe("g1")
    assert cache.get_many("c")
    cache.observe("g2")  # another process wrote to the index
    assert not cache.get_many("abc")


def test_tokenize_and_stop_words_match_bm25s():
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN

    from retrieval import lexical

    assert tuple(STOPWORDS_EN) == lexical.STOPWORDS_EN
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.iterdir()) if p.is_file()]
    texts += ["", "  ", "Who is Hua Chunying?", "The THE the", "naïve café’s 3,600 U.S. Venture's"]
    reference = bm25s.tokenize(
        texts,
        token_pattern=lexical._TOKEN_PATTERN,
        stopwords=sorted(lexical._stopwords()),
        stemmer=lexical._stemmer().stemWords,
        return_ids=False,
        show_progress=False,
    )
    assert lexical.tokenize(texts) == reference


def test_matrix_scores_are_bm25s_scores():
    import numpy as np

    from retrieval.lexical import bm25_matrix, bm25_retriever, matrix_scores

    vocab, docs = _zipf_documents(seed=5, n_vocab=200, n_docs=300, max_length=60)
    matrix = bm25_matrix(docs, dict(vocab))
    reference = bm25_retriever(docs, dict(vocab))
    for query in ([0, 5], [42], [1, 1, 150], [199], []):
        expected = (
            reference.get_scores([f"t{i}" for i in query]) if query else np.zeros(300, np.float32)
        )
        assert np.array_equal(matrix_scores(matrix, query), expected)


def test_a_question_on_a_cached_index_does_not_import_bm25s(service):
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from config import load_settings;"
        "from bot.service import DatelineService;"
        f"s = DatelineService(load_settings(home=Path({str(service.settings.home)!r})));"
        "hits = s.search('Who is Hua Chunying?');"
        "assert hits and 'hua chunying' in hits[0].passage.text.lower();"
        "print(sorted(m for m in ('bm25s', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
