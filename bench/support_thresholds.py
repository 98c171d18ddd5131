"""Choose the citation support thresholds (bot/support.py) on data, and print the table.

Claims are built from the answerable squad-news questions: the question's words followed by
its gold answer ("In what country is Normandy located France"). Each claim is paired with
the best-ranked retrieved passage that holds the answer (supported) and with the retrieved
passages that do not (not supported: same topic, usually the same article, so a hard case).
For each pair the two measures of SupportCheck are computed; the table shows, for a grid of
thresholds, how many supported pairs pass (recall) and how many unsupported ones slip
through (false-pass rate). The chosen pair maximizes recall minus false-pass rate
(Youden's J).

    .venv/bin/python bench/support_thresholds.py [N_QUESTIONS]
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from common import contains, eval_dir, questions

from bot.service import DatelineService
from bot.support import SupportCheck
from config import load_settings
from retrieval.lexical import tokenize


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rows = questions(answerable_only=True)
    random.Random(13).shuffle(rows)
    with tempfile.TemporaryDirectory() as tmp:
        service = DatelineService(load_settings(home=Path(tmp)))
        service.ingest_paths([eval_dir() / "corpus"])
        check = SupportCheck(service.query_embedder.encode, tokenize)
        pos, neg = [], []
        for row in rows[:n]:
            claim = f"{row['question'].rstrip('?')} {row['answers'][0]}."
            hits = service.search(row["question"], 5)
            gold = [h for h in hits if contains(h.passage.text, row["answers"])]
            other = [h for h in hits if not contains(h.passage.text, row["answers"])]
            for bucket, group in ((pos, gold[:1]), (neg, other)):
                for h in group:
                    p = h.passage
                    bucket.append(
                        (
                            check.overlap(claim, p.text, p.title),
                            check.similarity(claim, p.sentence_texts()),
                        )
                    )
    print(f"{len(pos)} supported pairs, {len(neg)} unsupported pairs, from {n} questions\n")
    print(f"{'min_overlap':>11} {'min_sim':>8} {'recall':>7} {'false-pass':>10}")
    best = None
    for o in (0.3, 0.4, 0.5, 0.6, 0.7):
        for s in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
            recall = sum(a >= o and b >= s for a, b in pos) / len(pos)
            false = sum(a >= o and b >= s for a, b in neg) / len(neg)
            print(f"{o:>11.2f} {s:>8.2f} {recall:>7.3f} {false:>10.3f}")
            if best is None or recall - false > best[2] - best[3]:
                best = (o, s, recall, false)
    if best:  # the largest recall - false-pass (Youden's J)
        print(
            f"\nchosen: min_overlap={best[0]} min_similarity={best[1]} "
            f"(recall {best[2]:.3f}, false-pass {best[3]:.3f})"
        )


if __name__ == "__main__":
    main()
