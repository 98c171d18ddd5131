"""Fitting the packaged logistic models (``bot.packaged_model``) with scikit-learn."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.packaged_model import weights_digest

# Regularization strengths tried by the grouped cross-validation (inverse, sklearn's C).
C_GRID = (0.01, 0.1, 1.0, 10.0)
FOLDS = 5
log = logging.getLogger("train")


def fit(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    seed: int,
    names: Sequence[str],
    unit: str = "candidates",
    weights: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """Standardize, pick C by grouped cross-validation (log loss), fit on everything.

    Returns the model (in ``bot.packaged_model``'s file layout, without its digest) and
    the chosen C's out-of-fold probabilities; ``unit`` names what a row of ``x`` is, and
    ``weights`` (default: all 1) weigh the rows in the fit and the log loss."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold

    weights = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    scores, predictions = {}, {}
    for c in C_GRID:
        predicted = np.zeros(len(y))
        for train, test in GroupKFold(FOLDS).split(z, y, groups):
            model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
            model.fit(z[train], y[train], sample_weight=weights[train])
            predicted[test] = model.predict_proba(z[test])[:, 1]
        scores[c] = (
            log_loss(y, predicted, sample_weight=weights),
            roc_auc_score(y, predicted, sample_weight=weights),
        )
        predictions[c] = predicted
        log.info("C=%g: cross-validated log loss %.4f, AUC %.4f", c, *scores[c])
    best = min(C_GRID, key=lambda c: scores[c][0])
    model = LogisticRegression(C=best, max_iter=2000, random_state=seed)
    model.fit(z, y, sample_weight=weights)
    model_file = {
        "features": list(names),
        "coef": [round(float(v), 6) for v in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 6),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "training": {
            "C": best,
            "cv_log_loss": round(scores[best][0], 4),
            "cv_auc": round(scores[best][1], 4),
            unit: int(len(y)),
            "positives": int(y.sum()),
            "groups": int(len(set(groups.tolist()))),
            "seed": seed,
        },
    }
    return model_file, predictions[best]


def write_model(model: dict, path: Path) -> None:
    """Write ``model`` to ``path`` with the SHA-256 of its numbers, as the bot loads it."""
    model["sha256"] = weights_digest(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
