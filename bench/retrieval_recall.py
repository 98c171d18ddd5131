"""Retrieval recall on squad-news: hybrid search against its parts and against RRF.

The corpus is indexed with the real ``dateline ingest`` command into a temporary home;
for each answerable question we check whether a gold answer appears in the top-1 and
top-5 passages. Run: ``python bench/retrieval_recall.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from common import contains, eval_dir, print_table, questions


def main() -> None:
    from bot.service import DatelineService
    from config import load_settings

    with tempfile.TemporaryDirectory(prefix="dateline-recall-") as home:
        dateline = Path(sys.executable).parent / "dateline"
        subprocess.run(
            [str(dateline), "--home", home, "ingest", str(eval_dir() / "corpus")], check=True
        )
        service = DatelineService(load_settings(home=home))
        searcher = service.searcher
        searcher.refresh()
        qs = questions(answerable_only=True)
        vectors = service.embedder.encode([q["question"] for q in qs])
        counts = {name: [0, 0] for name in ("hybrid", "dense", "bm25", "rrf")}
        for q, vec in zip(qs, vectors, strict=True):
            hybrid = [h.passage for h in searcher.search(q["question"], 5, vector=vec)]
            dense_rows = service.store.nearest_passages(vec, 40)
            dense = [r.passage for r in dense_rows]
            lex = service.lexical.search(q["question"], 40)
            lex_passages = service.store.get_passages(lex.ids)
            bm25 = [lex_passages[i].passage for i in lex.ids if i in lex_passages]
            fused: dict[str, float] = {}
            by_id = {p.id: p for p in dense + bm25}
            for ranking in (dense, bm25):
                for rank, p in enumerate(ranking):
                    fused[p.id] = fused.get(p.id, 0.0) + 1.0 / (60 + rank + 1)
            rrf = [by_id[i] for i in sorted(fused, key=fused.get, reverse=True)]
            for name, ranked in (
                ("hybrid", hybrid),
                ("dense", dense),
                ("bm25", bm25),
                ("rrf", rrf),
            ):
                counts[name][0] += bool(ranked) and contains(ranked[0].text, q["answers"])
                counts[name][1] += any(contains(p.text, q["answers"]) for p in ranked[:5])
        n = len(qs)
        rows = [[name, c[0] / n, c[1] / n] for name, c in counts.items()]
        print_table(
            f"Retrieval recall on {n} answerable squad-news questions "
            f"({service.store.passage_count()} passages)",
            ["ranking", "recall@1", "recall@5"],
            rows,
        )
        print("\nhybrid = 0.6 x best-sentence cosine + 0.4 x BM25/best BM25 (the shipped search);")
        print("rrf = reciprocal rank fusion (k=60) of the dense and BM25 top-40, for comparison.")


if __name__ == "__main__":
    main()
