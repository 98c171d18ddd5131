"""Train the answer reader and write it into the package (``make model``).

The reader is a cross-encoder: the packaged all-MiniLM-L6-v2 encoder with a one-logit
scoring head, fine-tuned with sentence-transformers' own ``CrossEncoderTrainer`` on the
pairs of ``training.answer_reader.pairs``, then exported to ONNX and quantized to int8
(per-channel weights) for onnxruntime, as the embedder is. Choosing the sentence that
answers is a ranking: the loss is a softmax over each answering sentence, ``--negatives``
other candidates of the same question (the hard ones first) and one of another question
(``MultipleNegativesRankingLoss``). Binary cross-entropy over the pairs stayed at the
label prior for half an epoch: with one answer in ten candidates, predicting "no" wins.

1. Split the pairs by group (story, reference article, quiz week): a seeded tenth of the
   groups is held out, the rest trains. One epoch.
2. On the held-out groups, report the area under the ROC curve and, over questions with an
   answering candidate, how often the reader's first candidate answers (top-1), against
   a draw at random among that question's pairs.
3. Export, quantize, check the int8 logits against torch's, and write
   ``bot/models/answer_reader.onnx`` and ``answer_reader.json`` (the held-out figures, the
   training settings and the ONNX file's SHA-256, which the loader checks).

    python -m training.answer_reader.pairs --out PAIRS.jsonl
    python -m training.answer_reader.train --pairs PAIRS.jsonl [--seed 13]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from bot.answer_reader import MAX_LENGTH, META_FILE, MODEL_FILE

log = logging.getLogger("train")


def load_pairs(path: Path) -> list[dict]:
    """The pairs written by ``training.answer_reader.pairs``."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def tuples(pairs: list[dict], negatives: int) -> list[list[str]]:
    """(question, answering sentence, ``negatives`` others) for each positive pair: the
    question's hard negatives first, then those drawn at random, repeated to fill."""
    by_question: dict[tuple, list[dict]] = defaultdict(list)
    for p in pairs:
        by_question[(p["group"], p["question"])].append(p)
    out = []
    for (_, question), rows in by_question.items():
        wrong = [p["sentence"] for p in rows if not p["label"] and p["hard"]]
        wrong += [p["sentence"] for p in rows if not p["label"] and not p["hard"]]
        if not wrong:
            continue
        chosen = [wrong[n % len(wrong)] for n in range(negatives)]
        out += [[question, p["sentence"], *chosen] for p in rows if p["label"]]
    return out


def split(pairs: list[dict], seed: int, share: float = 0.1) -> tuple[list[dict], list[dict]]:
    """(training pairs, held-out pairs): a seeded ``share`` of the groups is held out."""
    groups = sorted({p["group"] for p in pairs})
    held = set(random.Random(seed).sample(groups, max(1, round(len(groups) * share))))
    return [p for p in pairs if p["group"] not in held], [p for p in pairs if p["group"] in held]


def held_out_figures(pairs: list[dict], scores: np.ndarray) -> dict:
    """AUC over ``pairs`` and top-1 per question, for the reader and the file order."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray([p["label"] for p in pairs])
    by_question: dict[tuple, list[int]] = defaultdict(list)
    for n, p in enumerate(pairs):
        by_question[(p["group"], p["question"])].append(n)
    answerable = [ns for ns in by_question.values() if labels[ns].any()]
    reader = sum(labels[max(ns, key=lambda n: scores[n])] for ns in answerable)
    chance = sum(labels[ns].mean() for ns in answerable)
    return {
        "pairs": len(pairs),
        "questions_with_answer": len(answerable),
        "auc": round(float(roc_auc_score(labels, scores)), 4),
        "top1": round(reader / max(len(answerable), 1), 4),
        "top1_by_chance": round(float(chance) / max(len(answerable), 1), 4),
    }


def export(model, out: Path, sample: list[tuple[str, str]]) -> None:
    """Write ``model`` (a fine-tuned CrossEncoder) to ``out`` as int8 ONNX, checked."""
    import warnings

    import onnxruntime as ort
    import torch

    from retrieval.onnx_export import quantize_int8

    network = model[0].model.eval()
    tokenizer = model.tokenizer
    feeds = tokenizer(
        [a for a, _ in sample],
        [b for _, b in sample],
        padding=True,
        truncation=True,
        max_length=MAX_LENGTH,
        return_tensors="pt",
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network,
                tuple(feeds[n] for n in names),
                str(fp32),
                dynamo=False,
                input_names=names,
                output_names=["logits"],
                dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "logits"]},
                opset_version=17,
                do_constant_folding=True,
            )
            expected = network(**{n: feeds[n] for n in names}).logits[:, 0].numpy()
        quantize_int8(fp32, out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {n: feeds[n].numpy() for n in names})[0][:, 0]
    gap = float(np.abs(got - expected).max())
    log.info("int8 logits within %.3f of torch's on %d pairs", gap, len(sample))
    if gap > 1.0:
        raise RuntimeError(f"the int8 reader is too far from torch's ({gap:.3f})")


def main(argv: list[str] | None = None) -> int:
    """Fine-tune, evaluate on held-out groups, export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--negatives", type=int, default=5, help="per answering sentence")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()

    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    from retrieval.model_files import model_dir

    torch.manual_seed(args.seed)
    train, held = split(load_pairs(args.pairs), args.seed)
    rows = tuples(train, args.negatives)
    log.info("%d training tuples, %d pairs held out", len(rows), len(held))
    model = CrossEncoder(str(model_dir()), num_labels=1, max_length=MAX_LENGTH)
    columns = ["question", "answer", *(f"other{n}" for n in range(args.negatives))]
    data = Dataset.from_dict({c: [r[n] for r in rows] for n, c in enumerate(columns)})
    data = data.shuffle(seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="dateline-reader-") as tmp:
        training_args = CrossEncoderTrainingArguments(
            output_dir=tmp,
            num_train_epochs=args.epochs,
            per_device_train_batch_size=args.batch,
            learning_rate=args.lr,
            warmup_ratio=0.1,
            seed=args.seed,
            data_seed=args.seed,
            save_strategy="no",
            logging_steps=50,
            report_to=[],
            use_cpu=True,
        )
        trainer = CrossEncoderTrainer(
            model=model,
            args=training_args,
            train_dataset=data,
            loss=MultipleNegativesRankingLoss(model, num_negatives=1),
        )
        trainer.train()
    scores = model.predict(
        [(p["question"], p["sentence"]) for p in held], batch_size=64, activation_fn=None
    )
    figures = held_out_figures(held, np.asarray(scores))
    log.info("held out: %s", figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(model, args.out, [(p["question"], p["sentence"]) for p in held[:64]])
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    meta = {
        "model": "all-MiniLM-L6-v2 + one-logit head, fine-tuned as a cross-encoder, int8",
        "sha256": digest,
        "max_length": MAX_LENGTH,
        "training": {
            "pairs": len(train),
            "positives": sum(p["label"] for p in train),
            "tuples": len(rows),
            "negatives_per_answer": args.negatives,
            "loss": "MultipleNegativesRankingLoss, one more negative from another question",
            "epochs": args.epochs,
            "batch": args.batch,
            "learning_rate": args.lr,
            "seed": args.seed,
            "seconds": round(time.time() - started),
        },
        "held_out": figures,
    }
    (args.out.parent / META_FILE.name).write_text(json.dumps(meta, indent=1) + "\n")
    log.info("wrote %s in %.0f s", args.out, time.time() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
