"""The answer service: one object that every adapter (CLI, REPL, Discord) talks to.

It owns the index (store, embedder, BM25, search, ingest), answers questions in
extractive or LLM mode with numbered citations, abstains when the evidence is
weak, and resolves follow-ups against the history it is given. Construction is
cheap; the model, Chroma and the LLM load on first use and are reused.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

from bot import news_answers as shapes
from bot.abstain import AbstainRule
from bot.answer import Answer, Citation, Retrieved, Turn
from bot.answer_gate import AnswerGate, gate_features
from bot.answer_reader import AnswerReader
from bot.answer_scorer import AnswerScorer, measure, rerank_rows
from bot.errors import ConfigError
from bot.extractive import (
    Quote,
    age_not_given,
    choose_quotes,
    organisation_not_given,
    score_sentences,
)
from bot.followup import content_words, expand_query
from bot.intent import Intent, read_intent
from bot.question import clean_question
from bot.subjects import name_the_subject
from bot.timeframe import TimeFrame, read_time
from bot.wirecopy import cased_vocabulary, readable
from config import Settings
from prompts import ABSTAIN_PHRASE
from retrieval.chroma_store import ChromaStore
from retrieval.embeddings import Embedder
from retrieval.evidence import Evidence
from retrieval.index import Index
from retrieval.ingest import Ingestor, IngestReport
from retrieval.lexical import BM25Index, tokenize
from retrieval.loaders import read_bytes
from retrieval.model_files import model_dir
from retrieval.models import Article, ArticleInfo, Hit, Skipped
from retrieval.query import Query
from retrieval.search import Filters, HybridSearcher
from retrieval.tokens import TokenCounter

# Passages gathered for answers that draw on several reports (timeline, summary, latest).
WIDE_K = 16
_WIDE_KINDS = frozenset({"timeline", "summary", "latest"})
# Answers that quote the few sentences most likely to answer: the learned scorer ranks them.
# Timelines and summaries quote one sentence per report and keep the hand-weighted score.
_SCORED_KINDS = frozenset({"lookup", "latest", "why", "who_said"})
# Reports published a few days after a window still tell of it.
WINDOW_SLACK_DAYS = 3

_MORE = re.compile(
    r"\b(in detail|detailed|explain|elaborate|tell me (more|everything)|more detail|"
    r"everything about|summari[sz]e)\b",
    re.I,
)


class DatelineService:
    """Answers questions from the indexed articles. Safe to call from several threads."""

    def __init__(self, settings: Settings, *, query_embedder: Embedder | None = None):
        """``query_embedder``, when given, encodes questions (one already loading, say); it
        must use ``settings.index.question_backend()``."""
        self.settings = settings
        if query_embedder is not None:
            self.query_embedder = query_embedder
            if query_embedder.backend == settings.index.embedding_backend:
                self.embedder = query_embedder
        self._llm_lock = threading.Lock()
        self._llms: dict[tuple, object] = {}
        self._local_servers: dict[tuple, object] = {}
        self._search_lock = threading.Lock()
        self.abstain_rule = AbstainRule(
            threshold=settings.answer.abstain_threshold,
            max_unknown=settings.answer.abstain_unknown_words,
            unknown_attribute=settings.answer.abstain_unknown_attribute,
        )

    # -- components, built on first use --------------------------------------------------

    @cached_property
    def store(self) -> Index:
        """The index (Chroma, locally or on a server)."""
        return ChromaStore(
            self.settings.home,
            self.settings.chroma_url,
            self.settings.index.collection,
            timeout=self.settings.chroma_timeout,
        )

    @cached_property
    def embedder(self) -> Embedder:
        """The embedding model used to ingest (loads on first encode)."""
        idx = self.settings.index
        return Embedder(idx.embedding_backend, idx.batch_size)

    @cached_property
    def query_embedder(self) -> Embedder:
        """The model that encodes questions (``index.question_backend()``): the ingest
        model itself unless a faster-starting backend gives the same vectors."""
        idx = self.settings.index
        backend = idx.question_backend()
        if backend == idx.embedding_backend:
            return self.embedder
        return Embedder(backend, idx.batch_size)

    @cached_property
    def lexical(self) -> BM25Index:
        """The BM25 cache."""
        return BM25Index(self.settings.home / "cache" / f"bm25-{self.settings.index.collection}")

    @cached_property
    def searcher(self) -> HybridSearcher:
        """Hybrid search over the index."""
        idx = self.settings.index
        return HybridSearcher(
            self.store,
            self.query_embedder,
            self.lexical,
            candidates=idx.candidates,
            dense_weight=idx.dense_weight,
        )

    @cached_property
    def ingestor(self) -> Ingestor:
        """Ingestion into the index."""
        idx = self.settings.index
        return Ingestor(
            self.store,
            self.embedder,
            TokenCounter(model_dir()),
            lock_path=self.settings.home / "ingest.lock",
            max_tokens=idx.max_tokens,
            overlap=idx.overlap_sentences,
            near_duplicate=idx.near_duplicate,
            on_written=self._pretokenize,
        )

    def _pretokenize(self, passages) -> None:
        self.lexical.pretokenize((p.id, p.text, p.title) for p in passages)

    # -- index operations ----------------------------------------------------------------

    def ingest_paths(
        self, paths: Sequence[str | Path], on_event: Callable[[str, str], None] | None = None
    ) -> IngestReport:
        """Index the articles under ``paths``, then bring the BM25 cache up to date.

        Updating the cache here, incrementally, spares the next ``ask`` in any process
        that shares this home from doing it.
        """
        report = self.ingestor.ingest(paths, on_event)
        if report.changed or report.passages:
            with self._search_lock:
                self.searcher.refresh()
        return report

    def ingest_articles(
        self,
        items: Sequence[Article | Skipped],
        on_event: Callable[[str, str], None] | None = None,
    ) -> IngestReport:
        """Index already-read articles (from feeds or pages), then update the BM25 cache."""
        report = self.ingestor.ingest_items(items, on_event)
        if report.changed or report.passages:
            with self._search_lock:
                self.searcher.refresh()
        return report

    def ingest_bytes(
        self, data: bytes, name: str, on_event: Callable[[str, str], None] | None = None
    ) -> IngestReport:
        """Index the articles in ``data``, the content of a file called ``name`` that is not
        on disk (an upload); keys and skip reasons start with ``name``."""
        return self.ingest_articles(list(read_bytes(data, name)), on_event)

    def ingest_urls(
        self, urls: Sequence[str], on_event: Callable[[str, str], None] | None = None
    ) -> IngestReport:
        """Index the articles behind ``urls`` (feeds or article pages); a URL that cannot
        be read is reported in ``skipped``."""
        from bot.web import WebReader, make_fetcher

        fetcher = make_fetcher(self.settings)
        try:
            items = WebReader(fetcher, self.settings.feeds.workers).read_urls(urls)
        finally:
            fetcher.close()
        return self.ingest_articles(items, on_event)

    def is_empty(self) -> bool:
        """Whether no article is indexed yet."""
        return self.store.article_count() == 0

    def articles(self) -> list[ArticleInfo]:
        """Every indexed article, newest first."""
        return self.store.list_articles()

    def remove(self, ref: str) -> list[ArticleInfo]:
        """Remove the articles whose id, key or file path is ``ref``; returns what was removed."""
        path = str(Path(ref).expanduser().resolve())
        found = self.store.list_articles(ids=[ref])
        found += self.store.list_articles(keys=[ref], paths=[path])
        matches = list({a.id: a for a in found}.values())
        lock = self.ingestor.lock()
        try:
            self.store.delete_articles([a.id for a in matches])
            if matches:
                self.store.bump_generation()
        finally:
            lock.release()
        return matches

    def reset(self) -> None:
        """Delete the whole index."""
        lock = self.ingestor.lock()
        try:
            self.store.reset()
            import shutil

            shutil.rmtree(self.lexical.cache_dir, ignore_errors=True)
        finally:
            lock.release()

    def today(self, now: date | None = None) -> date:
        """The day questions are asked: ``now``, else the ``now`` setting, else today."""
        return now or self.settings.now or date.today()

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        now: date | None = None,
    ) -> list[Hit]:
        """Hybrid search, ``k`` passages best first, among articles published by ``now``."""
        query = clean_question(query, self.settings.answer.max_question_chars)
        filters = (filters or Filters()).up_to(self.today(now))
        with self._search_lock:
            return self.searcher.search(query, k or self.settings.answer.k, filters)

    # -- answering -----------------------------------------------------------------------

    def _llm(self, spec: str):
        from bot.chain import LLMAnswerer
        from bot.llamacpp import SPEC_PREFIX

        a = self.settings.answer
        key = (spec, a.llm_base_url, a.llm_timeout, a.llm_temperature, a.llm_max_tokens)
        with self._llm_lock:
            if key not in self._llms:
                base_url, chat_spec = a.llm_base_url, spec
                if spec.startswith(SPEC_PREFIX):
                    server = self._local_server(spec)
                    base_url, chat_spec = server.start(), f"openai:{server.model.stem}"
                llm = LLMAnswerer(
                    chat_spec,
                    base_url=base_url,
                    timeout=a.llm_timeout,
                    temperature=a.llm_temperature,
                    max_tokens=a.llm_max_tokens,
                )
                llm.ensure_model()
                self._llms[key] = llm
            return self._llms[key]

    def _local_server(self, spec: str):
        """The in-process llama.cpp server of a ``llamacpp:PATH`` spec, one per model file."""
        from bot.llamacpp import LocalLlamaServer, model_path_of

        a = self.settings.answer
        key = (model_path_of(spec), a.llm_threads, a.llm_context)
        if key not in self._local_servers:
            self._local_servers[key] = LocalLlamaServer(
                key[0], threads=a.llm_threads, context=a.llm_context
            )
        return self._local_servers[key]

    @cached_property
    def answer_gate(self) -> AnswerGate:
        """The learned answer gate (its weights load on first use)."""
        return AnswerGate()

    @cached_property
    def answer_scorer(self) -> AnswerScorer:
        """The learned answer scorer (loads on first use)."""
        return AnswerScorer()

    @cached_property
    def answer_reader(self) -> AnswerReader:
        """The answer reader, a cross-encoder the scorer reads (loads on first use)."""
        return AnswerReader()

    def _read(self):
        """The reader's scoring function for ``measure``, or None when it is not installed."""
        return self.answer_reader.probabilities if self.answer_reader.available() else None

    @cached_property
    def support_check(self):
        """Whether a cited passage supports its sentence (content words and embeddings)."""
        from bot.support import SupportCheck

        return SupportCheck(self.query_embedder.encode, tokenize)

    @staticmethod
    def _query(text: str) -> Query:
        """``text`` as retrieval's Query, tokenized once however often it is searched;
        its lower-case content words are those the index must know to cover it."""
        return Query(text, [w for w in content_words(text) if w.islower()])

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        k: int | None = None,
        llm: str | None = None,
        on_token: Callable[[str], None] | None = None,
        filters: Filters | None = None,
        now: date | None = None,
    ) -> Answer:
        """Answer ``question`` from the index, with citations, or abstain.

        ``now`` is the day the question is asked (default: the ``now`` setting, else
        today): articles published after it do not exist for the question, and "latest"
        or "last week" are read against it.
        """
        started = time.perf_counter()
        now = self.today(now)
        filters = (filters or Filters()).up_to(now)
        settings = self.settings.answer
        question = clean_question(question, settings.max_question_chars)
        k = k or settings.k
        history = list(history)[-settings.history_turns :] if settings.history_turns else []
        spec = llm if llm is not None else settings.llm
        answerer = self._llm(spec) if spec else None
        set_up_at = time.perf_counter()

        resolved = question
        if history:
            resolved = (
                answerer.condense(question, history)
                if answerer
                else expand_query(question, history)
            )
        frame = read_time(resolved, now)
        intent = read_intent(resolved, frame)
        search_query = self._query(intent.topic)
        wide = max(k, WIDE_K) if intent.kind in _WIDE_KINDS or frame.earliest else k
        with self._search_lock:
            hits, no_report = self._time_aware_search(search_query, wide, filters, frame, intent)
        retrieved_at = time.perf_counter()
        answer = Answer(
            question=question,
            text="",
            abstained=False,
            mode="extractive",
            retrieved=[
                Retrieved(h.passage.id, h.passage.article_id, round(h.score, 4), h.passage.text)
                for h in hits[:k]
            ],
            search_query=resolved if resolved != question else None,
        )
        broad = intent.broad and frame.windowed and not no_report
        # The learned scorer decides whether to abstain on the answers it ranks (after the
        # sentences are read); the evidence rule decides for the others.
        learned = answerer is None and self._learned(intent.kind)
        # The learned gate decides whether to answer once the quotes are chosen; the evidence
        # is then one of its measurements.
        gated = answerer is None and self._gated()
        weak = False
        evidence = None
        if gated or (not broad and not learned):
            evidence = self.searcher.evidence(search_query, hits, intent.attribute)
            weak = not gated and self.abstain_rule.abstain(evidence)
            if evidence is not None:
                answer.confidence = evidence.strength(self.abstain_rule.semantic_weight)
        if not hits or weak:
            self._abstain(answer, hits)
        elif no_report:
            self._answer_no_report(answer, search_query, hits, frame)
        elif answerer is not None:
            self._answer_llm(
                answer, answerer, resolved, hits[:k], history, on_token, frame, search_query
            )
        else:
            self._answer_extractive(
                answer, search_query, hits, frame, intent, k, filters, evidence if gated else None
            )
        done = time.perf_counter()
        answer.timings_ms = {
            "llm_setup": (set_up_at - started) * 1000,
            "retrieve": (retrieved_at - set_up_at) * 1000,
            "answer": (done - retrieved_at) * 1000,
            "total": (done - started) * 1000,
        }
        if not answerer:
            del answer.timings_ms["llm_setup"]
        return answer

    def _time_aware_search(
        self, query: Query, k: int, filters: Filters, frame: TimeFrame, intent: Intent
    ) -> tuple[list[Hit], bool]:
        """Hits for ``query``, within the question's own time window when it names one.

        Returns ``(hits, no_report)``: when a yes/no question names a window in which no
        report is on topic, the hits come from any time and ``no_report`` is True. Other
        questions whose window holds nothing on topic are answered from any time.
        """
        if frame.windowed:
            since = frame.since.isoformat() if frame.since else filters.since
            end = frame.until + timedelta(days=WINDOW_SLACK_DAYS) if frame.until else frame.now
            until = min(end, frame.now)
            if filters.until and filters.until[:10] < until.isoformat():
                until = date.fromisoformat(filters.until[:10])
            within = replace(filters, since=since, until=until.isoformat())
            hits = self.searcher.search(query, k, within)
            if (intent.broad and hits) or not self.abstain_rule.abstain(
                self.searcher.evidence(query, hits, intent.attribute)
            ):
                return hits, False
            anytime = self.searcher.search(query, k, filters)
            return anytime, intent.yes_no and bool(anytime)
        return self.searcher.search(query, k, filters), False

    def _abstain(self, answer: Answer, hits: Sequence[Hit]) -> None:
        answer.abstained = True
        answer.mode = "abstained"
        closest = []
        for h in hits:
            title = h.passage.title
            if title and title not in closest:
                closest.append(title)
        answer.text = ABSTAIN_PHRASE
        if closest:
            answer.text += " Closest articles: " + "; ".join(closest[:3]) + "."

    def _citation(self, n: int, hit: Hit, quote: str) -> Citation:
        p = hit.passage
        return Citation(
            n=n,
            passage_id=p.id,
            article_id=p.article_id,
            title=p.title,
            source=p.source,
            published=p.published,
            url=p.url,
            quote=quote,
            path=p.path,
            key=p.key,
            passages=(p.id,),
        )

    def _scored(self, query: Query, hits: Sequence[Hit]):
        idf = self.searcher.idf(query)
        rows = score_sentences(query.text, hits, query.terms, idf, tokenize)
        return query.terms, idf, rows

    def _answer_extractive(
        self,
        answer: Answer,
        query: Query,
        hits: Sequence[Hit],
        frame: TimeFrame,
        intent: Intent,
        k: int | None = None,
        filters: Filters | None = None,
        gate_evidence: Evidence | None = None,
    ) -> None:
        """Quote the sentences that answer, in the shape ``intent`` asks for, or abstain.
        With ``gate_evidence`` (the learned gate is on), the gate decides whether to answer."""
        question = query.text
        filters = filters or Filters().up_to(frame.now)
        settings = self.settings.answer
        hits = list(hits)
        more = bool(_MORE.search(answer.question))
        max_sentences = settings.max_sentences * (2 if more else 1)
        max_words = settings.max_words * (2 if more else 1)
        terms, idf, rows = self._scored(query, hits)
        keep = {t for t in terms if len(t) > 2}
        kind = intent.kind
        if kind != "lookup" or frame.recency or frame.earliest:
            # Read the whole of the most relevant reports: a news answer (the newest figure,
            # a cause, a quote) is often in a passage of the report that did not match best.
            reports = shapes.reports_to_read(rows, hits, newest=kind in _WIDE_KINDS)
            with self._search_lock:
                hits = self.searcher.read_articles(
                    hits, [hits[r[1]].passage.article_id for r in reports], query
                )
            terms, idf, rows = self._scored(query, hits)
        learned = self._learned(kind)
        gated = gate_evidence is not None
        if not learned and not gated and age_not_given(answer.question, [r[3] for r in rows]):
            self._abstain(answer, hits)
            return
        if intent.quantity or kind in ("why", "who_said", "latest"):
            rows = shapes.boosted(rows, hits, intent)
        if not learned and kind in _SCORED_KINDS and settings.reader_weight > 0 and self._read():
            rows = self._reader_weighted(answer.search_query or question, rows)
        if learned:
            candidates = measure(
                answer.search_query or answer.question,
                rows[: settings.scorer_candidates],
                hits,
                terms,
                idf,
                tokenize,
                frame.now,
                self._read(),
                self.settings.answer.reader_candidates,
            )
            rows, answer.confidence = rerank_rows(self.answer_scorer, candidates)
            if answer.confidence < settings.scorer_threshold:
                self._abstain(answer, hits)
                return
        quotes: list[Quote] = []
        joiner = " "
        if kind == "timeline":
            quotes = shapes.timeline(
                question,
                rows,
                hits,
                keep,
                max_words,
                lambda part: self._rescore_part(part, hits, intent, k or settings.k, filters),
            )
            joiner = "\n"
        elif kind == "summary":
            reports = shapes.summary_reports(rows, hits)
            quotes = shapes.summary(rows, hits, reports, self._leads(hits, reports), keep)
        elif kind == "latest" or (frame.recency and kind == "lookup"):
            quotes = shapes.latest(rows, hits, keep, max_words)
        elif kind == "why":
            quotes = shapes.why(rows, hits, keep, max_words)
            if quotes and not any(shapes.hints_cause(q.text) for q in quotes):
                # Early reports often say the cause is not known yet; a later report, further
                # down the results, may give it.
                rows = self._rescore_part(query.text, hits, intent, WIDE_K, filters)
                cause = shapes.cause_quote(rows, hits, keep, max_words)
                if cause is not None and cause.text != quotes[0].text:
                    quotes = [quotes[0], cause]
        elif frame.earliest and kind == "lookup":
            quotes = shapes.earliest(rows, hits, keep, max_words)
        if not quotes:
            shown = hits[: k or settings.k] if kind == "lookup" else hits
            rows = rows if len(shown) == len(hits) else [r for r in rows if r[1] < len(shown)]
            quotes = choose_quotes(
                question,
                shown,
                terms,
                idf,
                tokenize,
                max_sentences=max_sentences,
                max_words=max_words,
                rows=rows,
                cut_elsewhere=kind == "lookup",
            )
        if kind == "who_said":
            quotes = shapes.whole_quotes(quotes, hits, max_words)
        quotes = shapes.whole_corrections(quotes, hits)
        if quotes and intent.counts and kind in ("lookup", "latest"):
            counted = shapes.counted_words(question)
            others = shapes.conflicting(quotes[0], rows, hits, keep, max_words, counted)
            if others:
                quotes = shapes.with_lead([quotes[0], *others], hits)
                answer.text = "Reports differ: "
        if not quotes or (
            not learned
            and not gated
            and organisation_not_given(answer.question, [q.text for q in quotes if not q.cut])
        ):
            self._abstain(answer, hits)
            return
        if gated:
            answer.confidence = self._gate(
                answer, intent, gate_evidence, quotes, rows, hits, query, idf, frame
            )
            if answer.confidence < settings.gate_threshold:
                self._abstain(answer, hits)
                return
        self._render(answer, quotes, hits, joiner)

    def _reader_weighted(self, question: str, rows: list) -> list:
        """``rows`` with the best ``answer.reader_candidates`` scores times (1 +
        ``answer.reader_weight`` x the answer reader's probability), best first."""
        settings = self.settings.answer
        top = rows[: settings.reader_candidates]
        if not top:
            return rows
        read = self.answer_reader.probabilities(question, [r[3] for r in top])
        weighted = [
            (score * (1.0 + settings.reader_weight * float(p)), i, j, s)
            for p, (score, i, j, s) in zip(read, top, strict=True)
        ]
        return sorted(weighted + list(rows[len(top) :]), key=lambda r: r[0], reverse=True)

    def _gate(self, answer, intent, evidence, quotes, rows, hits, query, idf, frame) -> float:
        """The learned gate's probability that ``quotes`` answer the question right."""
        question = answer.search_query or answer.question
        terms = query.terms
        sentence_prob = 0.0
        if self.answer_scorer.available():
            candidates = measure(
                question,
                rows[: self.settings.answer.scorer_candidates],
                hits,
                terms,
                idf,
                tokenize,
                frame.now,
                self._read(),
                self.settings.answer.reader_candidates,
            )
            sentence_prob = float(max(self.answer_scorer.probabilities(candidates), default=0.0))
        features = gate_features(
            question,
            intent.kind,
            evidence,
            intent.attribute,
            quotes,
            [r[3] for r in rows],
            hits,
            terms,
            query.plain_terms,
            idf,
            tokenize,
            sentence_prob,
            frame.now,
        )
        return round(self.answer_gate.probability(question, features), 4)

    def _gated(self) -> bool:
        """Whether the learned gate decides whether to answer."""
        return self.settings.answer.gate and self.answer_gate.available()

    def _learned(self, kind: str) -> bool:
        """Whether the learned scorer ranks the sentences of (and abstains on) this kind."""
        return (
            self.settings.answer.scorer and kind in _SCORED_KINDS and self.answer_scorer.available()
        )

    def _rescore_part(self, part: str, hits: list[Hit], intent: Intent, k: int, filters: Filters):
        """Rows for one part of a several-event question ("when did X resign, and when
        was ... confirmed"), its own best passages first added to ``hits``."""
        query = self._query(part)
        have = {h.passage.id for h in hits}
        with self._search_lock:
            found = self.searcher.search(query, k, filters)
        hits.extend(h for h in found if h.passage.id not in have)
        return shapes.boosted(self._scored(query, hits)[2], hits, intent)

    def _render(self, answer: Answer, quotes: Sequence[Quote], hits: Sequence[Hit], joiner: str):
        """Write ``quotes`` into ``answer`` as text with ``[n]`` markers and citations."""
        vocabulary = cased_vocabulary(h.passage.text for h in hits)
        # One number per article: two passages of one report are one source.
        numbers: dict[str, int] = {}
        cited: dict[str, Citation] = {}
        used: list[int] = []
        parts = []
        for q in quotes:
            places = [(q.hit, q.sentence, q.text), *((i, j, None) for i, j in q.also)]
            marks = []
            for i, j, text in places:
                article = hits[i].passage.article_id
                if article not in numbers:
                    numbers[article] = len(numbers) + 1
                    quote = readable(text or hits[i].passage.sentence_texts()[j], vocabulary)
                    cited[article] = self._citation(numbers[article], hits[i], quote)
                elif hits[i].passage.id not in cited[article].passages:
                    c = cited[article]
                    cited[article] = replace(c, passages=(*c.passages, hits[i].passage.id))
                if i not in used:
                    used.append(i)
                mark = f"[{numbers[article]}]"
                if mark not in marks:
                    marks.append(mark)
            before = hits[q.hit].passage.sentence_texts()[: q.sentence]
            text = name_the_subject(readable(q.text.strip(), vocabulary), before)
            line = q.lead + text + " " + "".join(marks)
            parts.append(("- " if joiner == "\n" else "") + line)
        answer.text += joiner.join(parts)
        answer.citations = sorted(cited.values(), key=lambda c: c.n)
        shown = {r.passage_id for r in answer.retrieved}
        for i in used:
            p = hits[i].passage
            if p.id not in shown:
                answer.retrieved.append(
                    Retrieved(p.id, p.article_id, round(hits[i].score, 4), p.text)
                )
                shown.add(p.id)

    def _leads(self, hits: list[Hit], reports) -> dict[str, tuple[int, int, str]]:
        """The lead sentence of each of ``reports``, its first passage added to ``hits``."""
        wanted = [hits[r[1]].passage.article_id for r in reports]
        have = {h.passage.article_id: i for i, h in enumerate(hits) if h.passage.ordinal == 0}
        missing = [a for a in wanted if a not in have]
        for aid, stored in self.store.lead_passages(missing).items():
            hits.append(Hit(stored.passage, 0.0, sentence_vectors=stored.sentence_vectors))
            have[aid] = len(hits) - 1
        leads = {}
        for aid in wanted:
            if aid in have:
                sentences = hits[have[aid]].passage.sentence_texts()
                lead = shapes.lead_sentence(sentences)
                if lead is not None:
                    leads[aid] = (have[aid], sentences.index(lead), lead)
        return leads

    def _answer_no_report(
        self, answer: Answer, query: Query, hits: Sequence[Hit], frame: TimeFrame
    ) -> None:
        """No report in the question's window: say so and name the reports that exist."""
        hits = list(hits)
        _, _, rows = self._scored(query, hits)
        reports = shapes.on_topic(rows, hits, shapes.TIMELINE_ON_TOPIC)[: shapes.MAX_TIMELINE_LINES]
        reports.sort(key=lambda r: hits[r[1]].passage.published or "")
        quotes = [
            Quote(i, j, hits[i].passage.title or text, score, lead=shapes._lead(hits[i]))
            for score, i, j, text in reports
        ]
        answer.text = shapes.no_report_text(frame) + " "
        self._render(answer, quotes, hits, "; ")

    @staticmethod
    def _best_sentence(hit: Hit) -> str:
        sentences = hit.passage.sentence_texts()
        if hit.sentence_sims and len(hit.sentence_sims) == len(sentences):
            return sentences[max(range(len(sentences)), key=hit.sentence_sims.__getitem__)]
        return sentences[0]

    def _answer_llm(
        self, answer, answerer, question, hits, history, on_token, frame=None, query=None
    ):
        from bot.chain import AnswerFallback

        passages = [h.passage for h in hits]
        try:
            result = answerer.answer(question, passages, history, on_token, self.support_check)
        except AnswerFallback as fallback:
            answer.fallback_reason = fallback.reason
            frame = frame or read_time(question, self.today())
            intent = read_intent(question, frame)
            query = query or self._query(intent.topic)
            self._answer_extractive(answer, query, hits, frame, intent)
            return
        if result.abstained:
            self._abstain(answer, hits)
            return
        answer.mode = "llm"
        answer.text = result.text
        answer.citations = [
            self._citation(n, hits[n - 1], self._best_sentence(hits[n - 1]))
            for n in sorted(set(result.cited))
        ]


def check_llm_spec(spec: str) -> None:
    """Raise ConfigError early for an LLM spec that cannot work."""
    from bot.llamacpp import SPEC_PREFIX, model_path_of

    if spec.startswith(SPEC_PREFIX):
        model_path_of(spec)
    elif ":" not in spec and "/" not in spec:
        raise ConfigError(f"LLM spec {spec!r} should look like 'provider:model'")
