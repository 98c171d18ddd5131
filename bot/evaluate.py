"""``dateline eval``: index a corpus, answer a question set, and measure the answers."""

from __future__ import annotations

import json
import re
import string
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np

from bot.answer import Turn
from bot.errors import InvalidQuestionError


def load_questions(path: Path) -> list[dict]:
    """Questions from a JSONL file.

    SQuAD-news rows are ``{id, question, answers}`` (a flat list of accepted strings).
    Newsroom rows add ``type``, ``asked_on`` (the question's "now"), ``history`` (earlier
    turns) and ``cite`` (the articles a right answer may cite); their ``answers`` are groups,
    each of which a right answer must match.
    """
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                record = {
                    "id": str(row.get("id", lineno)),
                    "question": row["question"],
                    "answers": list(row.get("answers") or []),
                }
                if "type" in row or "asked_on" in row:
                    record |= {
                        "type": str(row.get("type") or "fact"),
                        "asked_on": date.fromisoformat(row["asked_on"])
                        if row.get("asked_on")
                        else None,
                        "history": [
                            Turn(str(t["question"]), str(t["answer"]))
                            for t in row.get("history") or []
                        ],
                        "cite": [str(c) for c in row.get("cite") or []],
                        "groups": [
                            [g] if isinstance(g, str) else [str(a) for a in g]
                            for g in record["answers"]
                        ],
                    }
                    record["answers"] = [a for g in record["groups"] for a in g]
                out.append(record)
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidQuestionError(
                    f"{path}:{lineno}: not a question record ({exc})"
                ) from exc
    return out


_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """Lower-case, without punctuation or articles, single-spaced (SQuAD's normalization)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


_PUNCTUATION = frozenset(string.punctuation) | frozenset("\u2018\u2019\u201c\u201d\u2013\u2014")


def matches_groups(text: str, groups: list[list[str]]) -> bool:
    """Whether ``text`` holds, as whole words, at least one string of every group."""
    padded = f" {normalize(text)} "
    return all(any(f" {normalize(a)} " in padded for a in group if a.strip()) for group in groups)


def cites_expected(citations: list[dict], cite: list[str], corpus: Path) -> bool:
    """Whether a citation points at one of ``cite`` (``story/file`` or ``story/file#N``)."""
    if not cite:
        return True
    wanted = set(cite)
    for c in citations:
        key = c.get("key") or c.get("path") or ""
        name, _, record = key.partition("#")
        try:
            rel = Path(name).resolve().relative_to(corpus.resolve()).as_posix()
        except ValueError:
            rel = Path(name).name
        if rel in wanted or (record and f"{rel}#{record}" in wanted):
            return True
    return False


def score_newsroom(rows: list[tuple[dict, dict]], corpus: Path) -> dict:
    """Accuracy overall and per question type on a newsroom-style set.

    A question is right when the answer matches every answer group and cites one of the
    expected articles; an ``ooc`` question is right when the bot abstains.
    """
    by_type: dict[str, list[bool]] = {}
    for q, p in rows:
        if q["type"] == "ooc" or not q["groups"]:
            right = bool(p["abstained"])
        else:
            right = (
                not p["abstained"]
                and matches_groups(p["answer"], q["groups"])
                and cites_expected(p["citations"], q["cite"], corpus)
            )
        p["correct"] = right
        by_type.setdefault(q["type"], []).append(right)
    total = [r for results in by_type.values() for r in results]
    latencies = [p["timings_ms"]["total"] for _, p in rows]
    metrics: dict = {
        "questions": len(rows),
        "accuracy": sum(total) / len(total) if total else 0.0,
    }
    for kind in sorted(by_type):
        results = by_type[kind]
        metrics[f"accuracy_{kind}"] = sum(results) / len(results)
        metrics[f"n_{kind}"] = len(results)
    metrics["latency_ms_p50"] = float(np.percentile(latencies, 50)) if latencies else 0.0
    metrics["latency_ms_p95"] = float(np.percentile(latencies, 95)) if latencies else 0.0
    return metrics


def _contains(text: str, answers: Iterable[str]) -> bool:
    lowered = text.lower()
    return any(a.lower() in lowered for a in answers if a)


def score_predictions(rows: list[tuple[dict, dict]]) -> dict:
    """Metrics over (question, prediction) pairs.

    On answerable questions: ``recall@1``/``recall@5`` (a gold answer inside the first /
    first five retrieved passages), ``answered_rate``, ``answer_containment`` (a gold answer
    inside the answer text, among answered questions; ``answer_containment_all`` counts
    abstentions as misses), ``citation_precision`` (a cited passage holds the gold answer,
    among contained answers) and ``mean_answer_words``. On out-of-corpus questions:
    ``abstained_rate``. Latency percentiles cover every question.
    """
    answerable = [(q, p) for q, p in rows if q["answers"]]
    out_of_corpus = [(q, p) for q, p in rows if not q["answers"]]
    r1 = r5 = contained = precise = answered = 0
    words = []
    for q, p in answerable:
        texts = [r["text"] for r in p["retrieved"]]
        r1 += bool(texts) and _contains(texts[0], q["answers"])
        r5 += any(_contains(t, q["answers"]) for t in texts[:5])
        if p["abstained"]:
            continue
        answered += 1
        words.append(len(p["answer"].split()))
        if _contains(p["answer"], q["answers"]):
            contained += 1
            by_id = {r["passage_id"]: r["text"] for r in p["retrieved"]}
            cited = [
                by_id.get(passage, c["quote"])
                for c in p["citations"]
                for passage in c.get("passages") or [c["passage_id"]]
            ]
            precise += any(_contains(t, q["answers"]) for t in cited)
    latencies = [p["timings_ms"]["total"] for _, p in rows]
    n = len(answerable) or 1
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "out_of_corpus": len(out_of_corpus),
        "recall@1": r1 / n,
        "recall@5": r5 / n,
        "answer_containment": contained / answered if answered else 0.0,
        "answer_containment_all": contained / n,
        "citation_precision": precise / contained if contained else 0.0,
        "answered_rate": answered / n,
        "abstained_rate": (
            sum(p["abstained"] for _, p in out_of_corpus) / len(out_of_corpus)
            if out_of_corpus
            else 0.0
        ),
        "mean_answer_words": float(np.mean(words)) if words else 0.0,
        "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies else 0.0,
        "latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else 0.0,
    }


def run_eval(
    settings,
    questions_path: Path,
    corpus: Path,
    *,
    out: Path | None = None,
    llm: str | None = None,
    limit: int | None = None,
    fresh: bool = True,
    progress: bool = True,
) -> dict:
    """Index ``corpus`` (in a fresh temporary home unless ``fresh`` is False), answer every
    question in one process, write predictions to ``out``, and return the metrics."""
    from bot.service import DatelineService

    questions = load_questions(questions_path)[:limit]
    with tempfile.TemporaryDirectory(prefix="dateline-eval-") as tmp:
        if fresh:
            settings = settings.model_copy(update={"home": Path(tmp), "chroma_url": None})
        service = DatelineService(settings)
        report = service.ingest_paths([corpus])
        rows = [(q, p) for q, p in _answer_all(service, questions, llm, progress)]
    newsroom = any("type" in q for q in questions)
    metrics = score_newsroom(rows, corpus) if newsroom else score_predictions(rows)
    if out:
        with open(out, "w", encoding="utf-8") as sink:
            for q, prediction in rows:
                sink.write(json.dumps({"id": q["id"], **prediction}, ensure_ascii=False) + "\n")
    metrics["ingest_seconds"] = report.seconds
    metrics["passages"] = report.passages
    return metrics


def _answer_all(service, questions, llm, progress):
    def answer(q):
        asked = service.ask(q["question"], q.get("history") or (), llm=llm, now=q.get("asked_on"))
        return q, asked.to_json()

    if not progress:
        for q in questions:
            yield answer(q)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("answering", total=len(questions))
        for q in questions:
            yield answer(q)
            bar.advance(task)


def print_metrics(metrics: dict) -> None:
    """The metrics as a table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Dateline evaluation")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
