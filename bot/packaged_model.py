"""Logistic weights that ship as package data, checked against their SHA-256 on load.

The learned steps of the answer (``bot.answer_scorer``, ``bot.answer_gate``) are logistic
models over named measurements; their files hold the feature names, the coefficients, the
standardization and a digest of those numbers. Construction is cheap; the file loads on
first use.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.errors import ConfigError


def weights_digest(model: dict) -> str:
    """SHA-256 of the numbers that make the model (features, coefficients, scaling)."""
    keys = ("features", "coef", "intercept", "mean", "scale")
    payload = json.dumps({k: model[k] for k in keys}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class LogisticWeights:
    """A logistic model read from ``path``, trained on exactly ``features`` (in order);
    ``what`` names it in errors. The learned steps subclass it."""

    def __init__(self, path: str | Path, features: Sequence[str], what: str):
        self.path = Path(path)
        self.features = tuple(features)
        self.what = what
        self._model: dict | None = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        """Whether the weights file is present."""
        return self.path.is_file()

    def warm_up(self) -> None:
        """Load the weights, checking their checksum and feature names."""
        with self._lock:
            if self._model is not None:
                return
            if not self.path.is_file():
                raise ConfigError(f"the {self.what} is not installed ({self.path} missing)")
            model = json.loads(self.path.read_text(encoding="utf-8"))
            if weights_digest(model) != model.get("sha256"):
                raise ConfigError(f"the {self.what}'s weights ({self.path}) fail their checksum")
            if tuple(model["features"]) != self.features:
                raise ConfigError(f"the {self.what} was trained on other features; retrain it")
            self._coef = np.asarray(model["coef"], dtype=np.float64)
            self._mean = np.asarray(model["mean"], dtype=np.float64)
            self._scale = np.asarray(model["scale"], dtype=np.float64)
            self._intercept = float(model["intercept"])
            self._model = model

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The model's probability for each row of ``features``."""
        if not len(features):
            return np.zeros(0)
        self.warm_up()
        z = ((features - self._mean) / self._scale) @ self._coef + self._intercept
        return 1.0 / (1.0 + np.exp(-z))


def identity_model(features: Sequence[str]) -> dict:
    """A model file whose score is the first feature (training records through it)."""
    model = {
        "features": list(features),
        "coef": [1.0] + [0.0] * (len(features) - 1),
        "intercept": 0.0,
        "mean": [0.0] * len(features),
        "scale": [1.0] * len(features),
    }
    return model | {"sha256": weights_digest(model)}
