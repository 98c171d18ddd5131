"""Summarize `dateline eval --llm ... --out PRED.jsonl`: what produced each answer, why the
LLM fell back, latency, and a re-check of every surviving LLM citation.

    .venv/bin/python bench/llm_eval_summary.py PRED.jsonl [PRED2.jsonl ...]

The re-check splits each cited passage into sentences again and runs the same support check
(bot/support.py) on every sentence of every LLM answer against every passage it cites; the
last column counts the citations that fail it (it should be 0).
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import numpy as np
from common import print_table

from bot.chain import split_answer
from bot.support import SupportCheck
from config import load_settings
from retrieval.embeddings import Embedder
from retrieval.lexical import tokenize
from retrieval.models import Passage
from retrieval.sentences import split_sentences


def passage(text: str, title: str | None) -> Passage:
    spans = [(s.start, s.end) for s in split_sentences(text)]
    return Passage(
        id="x",
        article_id="x",
        ordinal=0,
        start=0,
        end=len(text),
        text=text,
        title=title,
        sentences=tuple(spans),
    )


def main() -> None:
    check = SupportCheck(Embedder("onnx", load_settings().index.batch_size).encode, tokenize)
    for path in sys.argv[1:]:
        rows = [json.loads(line) for line in open(path, encoding="utf-8")]
        modes = Counter(r["mode"] for r in rows)
        reasons = Counter(r["fallback_reason"] for r in rows if r.get("fallback_reason"))
        latencies = [r["timings_ms"]["total"] for r in rows]
        checked = failed = 0
        for r in rows:
            if r["mode"] != "llm":
                continue
            texts = {x["passage_id"]: x["text"] for x in r["retrieved"]}
            cited = {c["n"]: c for c in r["citations"]}
            for sentence in split_answer(r["answer"]):
                for n in sentence.cited:
                    c = cited[n]
                    p = passage(texts.get(c["passage_id"], c["quote"]), c["title"])
                    checked += 1
                    failed += not check(sentence.plain, p)
        n = len(rows)
        # The questions the LLM was asked (not abstained on before any call).
        asked = [r for r in rows if r["mode"] == "llm" or r.get("fallback_reason")]
        m = len(asked) or 1
        table = [[mode, count, f"{count / n:.0%}", ""] for mode, count in modes.most_common()]
        table += [
            [f"fallback: {why}", count, f"{count / n:.0%}", f"{count / m:.0%}"]
            for why, count in reasons.most_common()
        ]
        asked_ms = [r["timings_ms"]["total"] for r in asked] or [0.0]
        print_table(
            f"{path}: {n} questions, {len(asked)} reached the LLM; latency p50 all "
            f"{np.percentile(latencies, 50) / 1000:.2f} s, p50 LLM-asked "
            f"{np.percentile(asked_ms, 50) / 1000:.1f} s, p95 LLM-asked "
            f"{np.percentile(asked_ms, 95) / 1000:.1f} s; surviving LLM citations re-checked "
            f"{checked}, failing {failed}",
            ["outcome", "answers", "of all", "of LLM-asked"],
            table,
        )


if __name__ == "__main__":
    main()
