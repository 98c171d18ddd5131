"""The answer reader's training pairs: (question, candidate sentence, does it answer).

Every question of the training data (``training/data``; see
``training/answer_scorer/MANIFEST.md``) is asked on its day through the real pipeline
(``DatelineService.ask``), with a scorer that ranks like the hand-weighted score and
records the candidate sentences it is shown: the pairs are exactly what the reader sees at
answer time. Labels follow the answer scorer's rule (``training.answer_scorer.train``): a
candidate is positive when it holds one of the question's answers as whole words, in an
article the question cites (stories, reference) or in any quiz paragraph (quizzes).

Each question keeps its positives and its ``--negatives`` best-ranked negatives (the hard
ones: what the hand score puts first, marked ``hard``) plus as many drawn at random from
the rest (seeded).

    python -m training.answer_reader.pairs --out PAIRS.jsonl [--home DIR] [--seed 13]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
import time
from pathlib import Path

from bot.evaluate import load_questions
from training.answer_scorer.train import DATA, answers, asked, quiz_articles

log = logging.getLogger("train")


def written_questions() -> list[tuple[Path, list[dict]]]:
    """The stories' and reference articles' corpora with their questions (follow-ups,
    which need their turns, left out)."""
    out = []
    for corpus, folders in (
        (DATA / "stories" / "corpus", ("questions", "gate-questions")),
        (DATA / "reference" / "corpus", ("questions",)),
    ):
        questions = []
        for folder in folders:
            for path in sorted((corpus.parent / folder).glob("*.jsonl")):
                for q in load_questions(path):
                    if q["history"]:
                        continue
                    questions.append(
                        {
                            "group": path.stem,
                            "question": q["question"],
                            "now": q["asked_on"],
                            "answers": q["answers"],  # every group's strings, flat
                            "cited": {Path(c.split("#")[0]).name for c in q["cite"]},
                        }
                    )
        out.append((corpus, questions))
    return out


def collect(questions: list[dict], corpus: Path, home: Path, negatives: int, rng) -> list[dict]:
    """Ask each of ``questions`` of ``corpus`` (indexed in ``home``): its labelled pairs."""
    pairs = []
    # The pairs must not depend on an installed reader: rank and record without one.
    for q, candidates in asked(questions, corpus, home, reader=False):
        labelled = [
            (sentence, answers(q, sentence, origin))
            for (_, _, _, sentence), origin in zip(candidates.rows, candidates.origins, strict=True)
        ]
        wrong = [s for s, label in labelled if not label]
        rest = wrong[negatives:]
        kept = [s for s, label in labelled if label]
        chosen = wrong[:negatives] + rng.sample(rest, min(negatives, len(rest)))
        hard = set(wrong[:negatives])
        for sentence, label in [(s, 1) for s in kept] + [(s, 0) for s in chosen]:
            pair = {"group": q["group"], "question": q["question"], "sentence": sentence}
            pairs.append(pair | {"label": label, "hard": not label and sentence in hard})
    log.info("%s: %d pairs, %d positive", corpus.name, len(pairs), sum(p["label"] for p in pairs))
    return pairs


def main(argv: list[str] | None = None) -> int:
    """Collect every source's pairs and write them as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--home", type=Path, help="indexes kept here (default: temporary)")
    parser.add_argument("--negatives", type=int, default=6)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rng = random.Random(args.seed)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="dateline-pairs-") as tmp:
        home = args.home or Path(tmp)
        pairs = []
        for n, (corpus, questions) in enumerate(written_questions()):
            pairs += collect(questions, corpus, home / f"written{n}", args.negatives, rng)
        quiz = quiz_articles(home / "quiz")
        pairs += collect(quiz, home / "quiz", home / "quizzes", args.negatives, rng)
    with open(args.out, "w", encoding="utf-8") as sink:
        for pair in pairs:
            sink.write(json.dumps(pair) + "\n")
    log.info("wrote %d pairs to %s in %.0f s", len(pairs), args.out, time.time() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
