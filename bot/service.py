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
import unicodedata
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

from bot.abstain import AbstainRule, Evidence
from bot.answer import Answer, Citation, Retrieved, Turn
from bot.errors import ConfigError, InvalidQuestionError
from bot.extractive import choose_quotes
from bot.followup import expand_query
from config import Settings
from prompts import ABSTAIN_PHRASE
from retrieval.embeddings import Embedder, model_dir
from retrieval.ingest import Ingestor, IngestReport
from retrieval.lexical import BM25Index, tokenize
from retrieval.models import ArticleInfo, Hit
from retrieval.search import Filters, HybridSearcher
from retrieval.store import ChromaStore
from retrieval.tokens import TokenCounter

_MORE = re.compile(
    r"\b(in detail|detailed|explain|elaborate|tell me (more|everything)|more detail|"
    r"everything about|summari[sz]e)\b",
    re.I,
)


# Terminal escape sequences: CSI ("ESC [ 0 m") and the two-character ones ("ESC c").
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")


def clean_question(text: str, max_chars: int) -> str:
    """The question with control characters removed; raises InvalidQuestionError if unusable."""
    if text is None:
        raise InvalidQuestionError("the question is empty")
    text = _ANSI_ESCAPE.sub(" ", str(text))  # colour codes pasted from a terminal
    # Cs: lone surrogates (undecodable bytes in argv) that the tokenizer cannot encode.
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in text
    )
    text = " ".join(text.split())
    if not text:
        raise InvalidQuestionError("the question is empty; ask something about the articles")
    if len(text) > max_chars:
        raise InvalidQuestionError(
            f"the question is too long ({len(text)} characters; the limit is {max_chars})"
        )
    if not re.search(r"\w", text):
        raise InvalidQuestionError("the question has no words in it")
    return text


class DatelineService:
    """Answers questions from the indexed articles. Safe to call from several threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._llm_lock = threading.Lock()
        self._llms: dict[tuple, object] = {}
        self._local_servers: dict[tuple, object] = {}
        self._search_lock = threading.Lock()
        self.abstain_rule = AbstainRule(threshold=settings.answer.abstain_threshold)

    # -- components, built on first use --------------------------------------------------

    @cached_property
    def store(self) -> ChromaStore:
        """The Chroma index."""
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
        """The model that encodes questions: the ingest backend's vectors, started fast.

        With ``query_backend = "auto"`` a torch index is queried through the ONNX export of
        the same model, whose vectors are the same (cosine 1.000000 on the eval set) but
        which starts without importing torch; other backends query with themselves.
        """
        idx = self.settings.index
        backend = idx.query_backend
        if backend == "auto":
            backend = "onnx" if idx.embedding_backend == "torch" else idx.embedding_backend
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
        found += self.store.list_articles(where={"$or": [{"key": ref}, {"path": path}]})
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

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Hybrid search, ``k`` passages best first."""
        query = clean_question(query, self.settings.answer.max_question_chars)
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
    def support_check(self):
        """Whether a cited passage supports its sentence (content words and embeddings)."""
        from bot.support import SupportCheck

        return SupportCheck(self.query_embedder.encode, tokenize)

    def evidence(self, question: str, hits: Sequence[Hit]) -> Evidence | None:
        """How strongly the best passage supports an answer (None when nothing matched)."""
        if not hits:
            return None
        terms = tokenize([question])[0]
        idf = self.lexical.idf(terms)
        mass = sum(idf.get(t, 0.0) for t in set(terms))
        best = hits[0]
        covered = set(tokenize([f"{best.passage.title or ''} {best.passage.text}"])[0])
        coverage = sum(idf[t] for t in set(terms) & covered) / mass if mass else 0.0
        return Evidence(semantic=max(best.best_sentence_sim, 0.0), coverage=coverage)

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        k: int | None = None,
        llm: str | None = None,
        on_token: Callable[[str], None] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        """Answer ``question`` from the index, with citations, or abstain."""
        started = time.perf_counter()
        settings = self.settings.answer
        question = clean_question(question, settings.max_question_chars)
        k = k or settings.k
        history = list(history)[-settings.history_turns :] if settings.history_turns else []
        spec = llm if llm is not None else settings.llm
        answerer = self._llm(spec) if spec else None
        set_up_at = time.perf_counter()

        search_query = question
        if history:
            search_query = (
                answerer.condense(question, history)
                if answerer
                else expand_query(question, history)
            )
        with self._search_lock:
            hits = self.searcher.search(search_query, k, filters)
        retrieved_at = time.perf_counter()
        retrieved = [
            Retrieved(h.passage.id, h.passage.article_id, round(h.score, 4), h.passage.text)
            for h in hits
        ]
        answer = Answer(
            question=question,
            text="",
            abstained=False,
            mode="extractive",
            retrieved=retrieved,
            search_query=search_query if search_query != question else None,
        )
        if self.abstain_rule.abstain(self.evidence(search_query, hits)):
            self._abstain(answer, hits)
        elif answerer is not None:
            self._answer_llm(answer, answerer, search_query, hits, history, on_token)
        else:
            self._answer_extractive(answer, search_query, hits)
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
        )

    def _answer_extractive(self, answer: Answer, question: str, hits: Sequence[Hit]) -> None:
        settings = self.settings.answer
        more = bool(_MORE.search(answer.question))
        terms = tokenize([question])[0]
        quotes = choose_quotes(
            question,
            hits,
            terms,
            self.lexical.idf(terms),
            tokenize,
            max_sentences=settings.max_sentences * (2 if more else 1),
            max_words=settings.max_words * (2 if more else 1),
        )
        if not quotes:
            self._abstain(answer, hits)
            return
        parts, cited = [], {}
        for q in quotes:
            places = [(q.hit, q.sentence, q.text), *((i, j, None) for i, j in q.also)]
            for i, j, text in places:
                if i + 1 not in cited:
                    quote = text or hits[i].passage.sentence_texts()[j]
                    cited[i + 1] = self._citation(i + 1, hits[i], quote)
            parts.append(q.text.strip() + " " + "".join(f"[{i + 1}]" for i, _, _ in places))
        answer.text = " ".join(parts)
        answer.citations = sorted(cited.values(), key=lambda c: c.n)

    @staticmethod
    def _best_sentence(hit: Hit) -> str:
        sentences = hit.passage.sentence_texts()
        if hit.sentence_sims and len(hit.sentence_sims) == len(sentences):
            return sentences[max(range(len(sentences)), key=hit.sentence_sims.__getitem__)]
        return sentences[0]

    def _answer_llm(self, answer, answerer, question, hits, history, on_token) -> None:
        from bot.chain import AnswerFallback

        passages = [h.passage for h in hits]
        try:
            result = answerer.answer(question, passages, history, on_token, self.support_check)
        except AnswerFallback as fallback:
            answer.fallback_reason = fallback.reason
            self._answer_extractive(answer, question, hits)
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
