"""Train the answer scorer and write it into the package (``make model``).

1. Index the training corpora (``training/data``; see MANIFEST.md) in a temporary home:
   the training stories as they are, and each RealTime QA quiz evidence paragraph as one
   article dated on its quiz day.
2. Ask every question through the real pipeline (``DatelineService.ask`` on the question's
   day) with a scorer that ranks like the hand-weighted score and records the candidate
   sentences and their ``FEATURES``. A candidate is a positive when it holds one of the
   question's answers as whole words: in an article the question cites (a story question:
   an older report's figure is not the latest one), or in any paragraph (a quiz question);
   an out-of-corpus question's candidates are all negatives.
3. Fit a logistic regression on the standardized features, choosing its regularization by
   grouped cross-validation (folds: stories and quiz weeks), and write the weights, the
   scaling, the cross-validated figures and a SHA-256 to ``bot/models/answer_scorer.json``.

    python -m training.answer_scorer.train [--seed 13] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np

from bot.answer_reader import AnswerReader
from bot.answer_scorer import FEATURE_NAMES, MODEL_FILE, AnswerScorer, Candidates
from bot.evaluate import matches_groups
from bot.packaged_model import identity_model
from training.logistic import fit, write_model

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "training" / "data"
log = logging.getLogger("train")


def story_questions() -> Iterator[dict]:
    """The training stories' questions (follow-ups need their turns: left out)."""
    for path in sorted((DATA / "stories" / "questions").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                if q.get("history"):
                    continue
                yield {
                    "group": path.stem,
                    "question": q["question"],
                    "now": date.fromisoformat(q["asked_on"]),
                    "answers": [a for g in q.get("answers") or [] for a in g],
                    "cited": {Path(c.split("#")[0]).name for c in q.get("cite") or []},
                }


def quiz_articles(folder: Path) -> list[dict]:
    """Write each quiz question's evidence as an article under ``folder``; its questions."""
    questions, seen = [], set()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "evidence.jsonl", "w", encoding="utf-8") as sink:
        for path in sorted((DATA / "realtimeqa").glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                key = (row.get("question"), row.get("answer"))
                if key in seen or not row.get("evidence") or not row.get("answer"):
                    continue
                seen.add(key)
                url = f"https://quiz.example/{row['id']}"
                sink.write(
                    json.dumps(
                        {
                            "url": url,
                            "title": "",
                            "text": row["evidence"],
                            "source": row["source"],
                            "published": row["date"],
                        }
                    )
                    + "\n"
                )
                questions.append(
                    {
                        "group": row["id"].split("_")[0],
                        "question": row["question"],
                        "now": date.fromisoformat(row["date"]),
                        "answers": [row["answer"]],
                        "url": url,
                    }
                )
    return questions


def asked(
    questions: list[dict], corpus: Path, home: Path, *, reader: bool = True
) -> Iterator[tuple[dict, Candidates]]:
    """Ask each of ``questions`` of ``corpus`` (indexed in ``home`` unless it is already)
    through the pipeline: each question with the candidate sentences the scorer was shown
    (timelines and summaries, which it does not rank, are skipped). ``reader=False`` ranks
    and records without the answer reader."""
    from bot.service import DatelineService
    from config import load_settings

    home.mkdir(parents=True, exist_ok=True)
    identity = home / "identity.json"
    identity.write_text(json.dumps(identity_model(FEATURE_NAMES)))
    service = DatelineService(
        load_settings(home=home, answer__scorer=True, answer__scorer_threshold=0.0)
    )
    if service.is_empty():
        service.ingest_paths([corpus])
    recorded: list = []
    service.answer_scorer = AnswerScorer(identity, recorder=recorded)
    if not reader:
        service.answer_reader = AnswerReader(home / "no-reader.onnx")
    for q in questions:
        before = len(recorded)
        service.ask(q["question"], now=q["now"])
        if len(recorded) > before:
            yield q, recorded[-1]


def answers(q: dict, sentence: str, origin: str) -> bool:
    """Whether ``sentence`` (of the article at ``origin``) states an answer to ``q``: it
    holds one of the answers as whole words, in an article the question cites (any quiz
    paragraph that names the gold choice answers too)."""
    right = "url" in q or not q["cited"] or Path(origin).name in q["cited"]
    return bool(q["answers"]) and right and matches_groups(sentence, [q["answers"]])


def collect(questions: list[dict], corpus: Path, home: Path) -> tuple[list, list, list]:
    """Ask each question of ``corpus`` indexed in ``home``: features, labels, groups."""
    features, labels, groups, questions_seen = [], [], [], 0
    for q, candidates in asked(questions, corpus, home):
        questions_seen += 1
        for (_, _, _, sentence), origin, row in zip(
            candidates.rows, candidates.origins, candidates.features, strict=True
        ):
            labels.append(1 if answers(q, sentence, origin) else 0)
            features.append(row)
            groups.append(q["group"])
    log.info("%s: %d questions scored, %d candidates", corpus.name, questions_seen, len(labels))
    return features, labels, groups


def main(argv: list[str] | None = None) -> int:
    """Collect the candidates, fit, write the model file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="dateline-train-") as tmp:
        tmp = Path(tmp)
        quiz = quiz_articles(tmp / "quiz")
        f1, y1, g1 = collect(list(story_questions()), DATA / "stories" / "corpus", tmp / "h1")
        f2, y2, g2 = collect(quiz, tmp / "quiz", tmp / "h2")
    x = np.asarray(f1 + f2, dtype=np.float64)
    y = np.asarray(y1 + y2)
    groups = np.asarray(g1 + g2)
    model, _ = fit(x, y, groups, args.seed, FEATURE_NAMES)
    write_model(model, args.out)
    log.info(
        "wrote %s in %.0f s: %s",
        args.out,
        time.time() - started,
        dict(zip(FEATURE_NAMES, model["coef"], strict=True)),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
