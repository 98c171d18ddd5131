"""Train the answer gate and write it into the package (``make model``).

1. Index, each in its own home (see MANIFEST.md): the training stories
   (``training/data/stories``), the reference articles (``training/data/reference``:
   encyclopedia-style articles with answerable and unanswerable questions, written for
   training) and the RealTime QA 2022-2025 quiz evidence paragraphs (one article each,
   dated on its quiz day).
2. Ask every story and reference question (``questions/``, and the stories'
   ``gate-questions/``: more questions they do and do not answer, written for the gate)
   on its day, follow-ups with their turns; and every quiz question twice, on its day and
   the day before (when its own paragraph is not published yet: out of corpus unless an
   earlier paragraph holds the gold choice). Each goes through the real pipeline
   (``DatelineService.ask``) with the gate on at threshold 0, recording the
   ``GATE_FEATURES`` of each answer about to be shown.
3. Label each recorded answer: 1 when it is right (stories: every answer group and an
   expected citation, ``bot.evaluate``'s newsroom scoring; quizzes: the gold choice), 0
   when the question is out of corpus. Answers that are wrong to an answerable question
   are left out: answering and abstaining lose them alike, so they say nothing about when
   to abstain. The gate's probability is then P(right | right or not covered): abstaining
   below 0.5 keeps the more likely.
4. Fit a logistic regression (``training.logistic.fit``: C by 5-fold cross-validation
   grouped by story and quiz week; each of the three sources weighs the same), write
   ``bot/models/answer_gate.json`` with a SHA-256, and record the out-of-fold accuracy of
   the whole decision on every question (answered right, or abstained on an out-of-corpus
   question) at 0.5, for each of the three.

    python -m training.answer_gate.train [--seed 13] [--out PATH] [--home DIR] [--records F]
    python -m training.answer_gate.train --from-records F   # refit without asking again
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bot.answer_gate import GATE_FEATURE_NAMES, MODEL_FILE, AnswerGate
from bot.evaluate import cites_expected, load_questions, matches_groups, normalize
from bot.packaged_model import identity_model
from training.answer_scorer.train import quiz_articles
from training.logistic import fit, write_model

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "training" / "data" / "stories"
REFERENCE = ROOT / "training" / "data" / "reference"
log = logging.getLogger("train")


def _gated_service(home: Path, corpus: Path):
    """A service on ``home`` (``corpus`` indexed unless it already is) whose gate, at
    threshold 0, records every answer's features; and the list it records into."""
    from bot.service import DatelineService
    from config import load_settings

    home.mkdir(parents=True, exist_ok=True)
    identity = home / "gate-identity.json"
    identity.write_text(json.dumps(identity_model(GATE_FEATURE_NAMES)))
    service = DatelineService(
        load_settings(home=home, answer__gate=True, answer__gate_threshold=0.0)
    )
    if service.is_empty():
        service.ingest_paths([corpus])
    recorded: list = []
    service.answer_gate = AnswerGate(identity, recorder=recorded)
    return service, recorded


def _ask(service, recorded: list, question: str, history, now: date) -> tuple[dict, list | None]:
    """The answer to ``question`` and the gate's features for it (None: abstained before)."""
    before = len(recorded)
    answer = service.ask(question, history, now=now).to_json()
    return answer, (recorded[-1][1].tolist() if len(recorded) > before else None)


def collect(home: Path, stories: Path = STORIES) -> list[dict]:
    """Ask every question of ``stories`` (``questions/`` and ``gate-questions/``) of its
    ``corpus/`` indexed in ``home``: one record per question with its story, type, whether
    the bot answered right, and the gate's features (None when the pipeline abstained
    before the gate)."""
    corpus = stories / "corpus"
    service, recorded = _gated_service(home, corpus)
    out = []
    files = sorted(stories.glob("questions/*.jsonl")) + sorted(
        stories.glob("gate-questions/*.jsonl")
    )
    for path in files:
        for q in load_questions(path):
            answer, features = _ask(service, recorded, q["question"], q["history"], q["asked_on"])
            right = (
                not answer["abstained"]
                and q["type"] != "ooc"
                and matches_groups(answer["answer"], q["groups"])
                and cites_expected(answer["citations"], q["cite"], corpus)
            )
            out.append({"story": path.stem, "type": q["type"], "right": right, "x": features})
    return out


def collect_quizzes(home: Path) -> list[dict]:
    """Ask every RealTime QA 2022-2025 quiz question of the quiz evidence paragraphs (each
    indexed as an article dated on its quiz day) twice: on its day, and the day before,
    when its own paragraph is not published yet. The day-before question is out of corpus
    when no earlier paragraph holds the gold choice: the news had not broken."""
    questions = quiz_articles(home / "quiz")
    service, recorded = _gated_service(home / "index", home / "quiz")
    published = [
        (date.fromisoformat(a["published"][:10]), f" {normalize(a['text'])} ")
        for a in map(json.loads, open(home / "quiz" / "evidence.jsonl", encoding="utf-8"))
    ]
    out = []
    for q in questions:
        gold = f" {normalize(q['answers'][0])} "
        for now in (q["now"], q["now"] - timedelta(days=1)):
            answer, features = _ask(service, recorded, q["question"], (), now)
            covered = any(day <= now and gold in text for day, text in published)
            right = not answer["abstained"] and matches_groups(answer["answer"], [q["answers"]])
            kind = "fact" if covered else "ooc"
            out.append({"story": q["group"], "type": kind, "right": right, "x": features})
    return out


def decision_accuracy(records: list[dict], probabilities: dict[int, float], t: float) -> float:
    """Share of questions the gate at threshold ``t`` gets right: an answer shown and right,
    or an abstention on an out-of-corpus question (``probabilities`` by record index)."""
    good = 0
    for n, r in enumerate(records):
        shown = r["x"] is not None and probabilities.get(n, 1.0) >= t
        good += (shown and r["right"]) or (not shown and r["type"] == "ooc")
    return good / len(records)


def evidence_rule(records: list[dict]) -> dict[int, float]:
    """What the rule the gate replaces decides on ``records``, as probabilities of 1 (answer)
    or 0: the evidence strength reaches ``answer.abstain_threshold`` and neither the age
    nor the company check finds the asked thing missing (its other checks are off here)."""
    from config import load_settings

    threshold = load_settings().answer.abstain_threshold
    at = {name: GATE_FEATURE_NAMES.index(name) for name in GATE_FEATURE_NAMES}
    out = {}
    for n, r in enumerate(records):
        if r["x"] is not None:
            x = r["x"]
            answers = (
                x[at["evidence"]] >= threshold
                and not x[at["age_missing"]]
                and not x[at["organisation_missing"]]
            )
            out[n] = 1.0 if answers else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    """Collect the answers, fit, write the model file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--home", type=Path, help="index kept here (default: a temporary one)")
    parser.add_argument("--records", type=Path, help="also write the labelled answers here")
    parser.add_argument(
        "--from-records", type=Path, help="fit on answers written by --records (no asking)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()
    if args.from_records:
        parts = json.loads(args.from_records.read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory(prefix="dateline-train-") as tmp:
            home = args.home or Path(tmp)
            parts = {
                "stories": collect(home / "stories"),
                "reference": collect(home / "reference", REFERENCE),
                "quizzes": collect_quizzes(home / "quizzes"),
            }
    if args.records:
        args.records.write_text(json.dumps(parts), encoding="utf-8")
    records = [r for part in parts.values() for r in part]
    # Each source weighs the same in the fit, however many questions it has: the quizzes
    # outnumber the stories four to one, and news stories are what Dateline answers.
    share = {name: 1.0 / max(len(part), 1) for name, part in parts.items()}
    source = [name for name, part in parts.items() for _ in part]
    kept = [
        n
        for n, r in enumerate(records)
        if r["x"] is not None and (r["right"] or r["type"] == "ooc")
    ]
    x = np.asarray([records[n]["x"] for n in kept], dtype=np.float64)
    y = np.asarray([1 if records[n]["right"] else 0 for n in kept])
    groups = np.asarray([records[n]["story"] for n in kept])
    weights = np.asarray([share[source[n]] for n in kept])
    weights *= len(weights) / weights.sum()
    model, predicted = fit(
        x, y, groups, args.seed, GATE_FEATURE_NAMES, unit="answers", weights=weights
    )
    # Wrong answers have no out-of-fold probability: shown or not, they count as wrong.
    oof = {n: float(p) for n, p in zip(kept, predicted, strict=True)}
    at = 0
    for name, chosen in parts.items():
        probabilities = {n - at: oof[n] for n in range(at, at + len(chosen)) if n in oof}
        at += len(chosen)
        model["training"][f"{name}_questions"] = len(chosen)
        model["training"][f"{name}_cv_decision_accuracy_at_0.5"] = round(
            decision_accuracy(chosen, probabilities, 0.5), 4
        )
        model["training"][f"{name}_answered_ungated_right"] = round(
            sum(r["right"] for r in chosen) / len(chosen), 4
        )
        model["training"][f"{name}_evidence_rule_decision_accuracy"] = round(
            decision_accuracy(chosen, evidence_rule(chosen), 0.5), 4
        )
    write_model(model, args.out)
    log.info(
        "wrote %s in %.0f s: %s; %s",
        args.out,
        time.time() - started,
        dict(zip(GATE_FEATURE_NAMES, model["coef"], strict=True)),
        model["training"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
