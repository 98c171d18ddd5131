"""Sentence embeddings from the packaged all-MiniLM-L6-v2, loaded on first use."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from retrieval.errors import ModelUnavailableError
from retrieval.model_files import DIMENSIONS, MODEL_NAME, model_dir

if TYPE_CHECKING:
    import numpy as np

# "onnx" and "onnx-int8" run an ONNX export (fp32 / dynamic int8) on onnxruntime,
# without importing torch; see retrieval.onnx_backend.
BACKENDS = ("torch", "onnx", "onnx-int8")


class Embedder:
    """Encodes texts into normalized vectors; cosine similarity is a dot product.

    Construction is cheap: the model loads on the first ``encode`` and is reused.
    Nothing is ever downloaded: the hub is switched off before the model loads.
    ``backend`` is one of ``BACKENDS``: sentence-transformers on torch, or the ONNX
    export of the same model on onnxruntime in fp32 or int8 (no torch import).
    ``batch_size`` texts go through the model at a time (``index.batch_size``).
    ``prepack=False`` starts an ONNX session faster and encodes a little slower (see
    ``retrieval.onnx_backend.OnnxEncoder``): for a process that encodes one question.
    """

    def __init__(
        self, backend: str, batch_size: int, threads: int | None = None, *, prepack: bool = True
    ):
        self.backend = backend
        self.batch_size = batch_size
        self.threads = threads
        self.prepack = prepack
        self._model = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """A label for the model and backend, stored with the index."""
        return f"{MODEL_NAME}/{self.backend}"

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = model_dir()
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {self.backend!r}; use one of {BACKENDS}")
        if self.backend in ("onnx", "onnx-int8"):
            from retrieval.onnx_backend import OnnxEncoder

            return OnnxEncoder(
                path,
                threads=self.threads,
                quantized=self.backend == "onnx-int8",
                prepack=self.prepack,
            )
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelUnavailableError(
                "sentence-transformers is not installed: pip install sentence-transformers"
            ) from exc
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - older transformers
            pass
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)

    @property
    def model(self):
        """The loaded model (loads it on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def warm(self) -> None:
        """Load everything the first question needs (model, tokenizer, session) by encoding
        one short text; meant for a background thread while the caller does other work."""
        self.encode(["warm up"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalized float32 embeddings, one row per text."""
        import numpy as np  # here, so that a thread can start loading before numpy is in

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_passages(
        self, texts: list[str], sentence_spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors and, from the same forward pass, one vector per sentence.

        A sentence vector is the mean of the passage's contextual token vectors that
        fall inside the sentence's character span (``sentence_spans[i]`` indexes
        ``texts[i]``), normalized. It costs no extra model call, and ranks passages by
        their best sentence almost as well as encoding each sentence alone.
        """
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32), []
        outputs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        from retrieval.tokens import token_offsets

        if all("offsets" in o for o in outputs):
            offsets = [o["offsets"] for o in outputs]
        else:
            offsets = token_offsets(model_dir(), list(texts))
        passage_vecs = np.stack([np.asarray(o["sentence_embedding"], np.float32) for o in outputs])
        passage_vecs /= np.linalg.norm(passage_vecs, axis=1, keepdims=True).clip(1e-12)
        sentence_vecs = []
        for out, offs, spans, pvec in zip(
            outputs, offsets, sentence_spans, passage_vecs, strict=True
        ):
            # Token rows past the attention mask are padding of the batch.
            length = min(int(np.asarray(out["attention_mask"]).sum()), len(offs))
            tokens = np.asarray(out["token_embeddings"], np.float32)[:length]
            offs = offs[:length]
            real = offs[:, 1] > offs[:, 0]
            rows = []
            for a, b in spans:
                inside = real & (offs[:, 0] >= a) & (offs[:, 1] <= b)
                rows.append(tokens[inside].mean(axis=0) if inside.any() else pvec)
            if rows:
                block = np.stack(rows)
                block /= np.linalg.norm(block, axis=1, keepdims=True).clip(1e-12)
                sentence_vecs.append(block)
            else:
                sentence_vecs.append(pvec[None, :])
        return passage_vecs, sentence_vecs

    def encode_query(self, text: str) -> np.ndarray:
        """The embedding of one query."""
        return self.encode([text])[0]
