"""Train the answer gate and write it into the package (``make model``).

1. Index the training stories (``training/data/stories``; see MANIFEST.md) in a home.
2. Ask every question (``questions/``, and ``gate-questions/``: more questions the stories
   do and do not answer, written for the gate) on its day, follow-ups with their turns,
   through the real pipeline (``DatelineService.ask``) with the gate on, its threshold at
   0, recording the ``GATE_FEATURES`` of each answer about to be shown.
3. Label each recorded answer: 1 when it is right (every answer group, an expected
   citation: ``bot.evaluate``'s newsroom scoring), 0 when the question is out of corpus.
   Answers that are wrong to an answerable question are left out: answering and abstaining
   lose them alike, so they say nothing about when to abstain. The gate's probability is
   then P(right | right or not covered): abstaining below 0.5 keeps the more likely.
4. Fit a logistic regression (``training.logistic.fit``: C by 5-fold cross-validation
   grouped by story), write ``bot/models/answer_gate.json`` with a SHA-256, and log the
   out-of-fold accuracy of the whole decision on every question (answered right, or
   abstained on an out-of-corpus question) at the default threshold.

    python -m training.answer_gate.train [--seed 13] [--out PATH] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.answer_gate import GATE_FEATURE_NAMES, MODEL_FILE, AnswerGate
from bot.evaluate import cites_expected, load_questions, matches_groups
from bot.packaged_model import identity_model, weights_digest
from training.logistic import fit

ROOT = Path(__file__).resolve().parents[2]
STORIES = ROOT / "training" / "data" / "stories"
log = logging.getLogger("train")


def collect(home: Path, stories: Path = STORIES) -> list[dict]:
    """Ask every question of ``stories`` (``questions/`` and ``gate-questions/``) of its
    ``corpus/`` indexed in ``home``: one record per question with its story, type, whether
    the bot answered right, and the gate's features (None when the pipeline abstained
    before the gate)."""
    from bot.service import DatelineService
    from config import load_settings

    home.mkdir(parents=True, exist_ok=True)
    identity = home / "gate-identity.json"
    identity.write_text(json.dumps(identity_model(GATE_FEATURE_NAMES)))
    service = DatelineService(
        load_settings(home=home, answer__gate=True, answer__gate_threshold=0.0)
    )
    corpus = stories / "corpus"
    if service.is_empty():
        service.ingest_paths([corpus])
    recorded: list = []
    service.answer_gate = AnswerGate(identity, recorder=recorded)
    out = []
    files = sorted(stories.glob("questions/*.jsonl")) + sorted(
        stories.glob("gate-questions/*.jsonl")
    )
    for path in files:
        for q in load_questions(path):
            before = len(recorded)
            answer = service.ask(q["question"], q["history"], now=q["asked_on"]).to_json()
            right = (
                not answer["abstained"]
                and q["type"] != "ooc"
                and matches_groups(answer["answer"], q["groups"])
                and cites_expected(answer["citations"], q["cite"], corpus)
            )
            features = recorded[-1][1].tolist() if len(recorded) > before else None
            out.append({"story": path.stem, "type": q["type"], "right": right, "x": features})
    return out


def decision_accuracy(records: list[dict], probabilities: dict[int, float], t: float) -> float:
    """Share of questions the gate at threshold ``t`` gets right: an answer shown and right,
    or an abstention on an out-of-corpus question (``probabilities`` by record index)."""
    good = 0
    for n, r in enumerate(records):
        shown = r["x"] is not None and probabilities.get(n, 1.0) >= t
        good += (shown and r["right"]) or (not shown and r["type"] == "ooc")
    return good / len(records)


def main(argv: list[str] | None = None) -> int:
    """Collect the answers, fit, write the model file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--home", type=Path, help="index kept here (default: a temporary one)")
    parser.add_argument("--records", type=Path, help="also write the labelled answers here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()
    if args.home:
        records = collect(args.home)
    else:
        with tempfile.TemporaryDirectory(prefix="dateline-train-") as tmp:
            records = collect(Path(tmp))
    if args.records:
        args.records.write_text("".join(json.dumps(r) + "\n" for r in records))
    kept = [
        n
        for n, r in enumerate(records)
        if r["x"] is not None and (r["right"] or r["type"] == "ooc")
    ]
    x = np.asarray([records[n]["x"] for n in kept], dtype=np.float64)
    y = np.asarray([1 if records[n]["right"] else 0 for n in kept])
    groups = np.asarray([records[n]["story"] for n in kept])
    model, predicted = fit(x, y, groups, args.seed, GATE_FEATURE_NAMES, unit="answers")
    # Wrong answers have no out-of-fold probability: shown or not, they count as wrong.
    oof = {n: float(p) for n, p in zip(kept, predicted, strict=True)}
    model["training"]["questions"] = len(records)
    model["training"]["cv_decision_accuracy_at_0.5"] = round(
        decision_accuracy(records, oof, 0.5), 4
    )
    model["training"]["answered_ungated_right"] = round(
        sum(r["right"] for r in records) / len(records), 4
    )
    model["sha256"] = weights_digest(model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
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
