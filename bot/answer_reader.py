"""The answer reader: a cross-encoder's probability that a sentence answers a question.

The packaged all-MiniLM-L6-v2 encoder, fine-tuned with a one-logit head on (question,
candidate sentence) pairs from the training data (``training/answer_reader``), reads the
question and the sentence together, where the embedder reads them apart. It ships as an
int8 ONNX graph (``bot/models/answer_reader.onnx``, checked against the SHA-256 in
``answer_reader.json``) run on onnxruntime with the embedder's own tokenizer: no torch, no
download. Its probability is one of the answer scorer's measurements
(``bot.answer_scorer.FEATURES``).

Construction is cheap; the session loads on first use.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.errors import ConfigError

MODEL_FILE = Path(__file__).parent / "models" / "answer_reader.onnx"
META_FILE = Path(__file__).parent / "models" / "answer_reader.json"
MAX_LENGTH = 64  # word pieces per (question, sentence) pair: the sentence is cut, not the question


class AnswerReader:
    """Reads (question, sentence) pairs with the packaged cross-encoder.

    ``threads`` caps onnxruntime's threads (default: onnxruntime's choice).
    """

    def __init__(self, path: str | Path = MODEL_FILE, *, threads: int | None = None):
        self.path = Path(path)
        self.threads = threads
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        """Whether the model file is present."""
        return self.path.is_file()

    def warm_up(self) -> None:
        """Load the tokenizer and the session, checking the model's checksum."""
        with self._lock:
            if self._session is not None:
                return
            meta_file = self.path.with_suffix(".json")
            if not self.path.is_file() or not meta_file.is_file():
                raise ConfigError(f"the answer reader is not installed ({self.path} missing)")
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            data = self.path.read_bytes()
            if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise ConfigError(f"the answer reader ({self.path}) fails its checksum")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            from retrieval.model_files import model_dir

            tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=int(meta.get("max_length", MAX_LENGTH)))
            tokenizer.enable_padding()
            options = ort.SessionOptions()
            if self.threads:
                options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
            self._tokenizer = tokenizer

    def probabilities(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """The probability that each of ``sentences`` states the answer to ``question``."""
        if not sentences:
            return np.zeros(0)
        self.warm_up()
        encodings = self._tokenizer.encode_batch([(question, s) for s in sentences])
        feeds = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        }
        logits = self._session.run(["logits"], feeds)[0][:, 0].astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))
