"""all-MiniLM-L6-v2 on onnxruntime: the same vectors as sentence-transformers, without torch.

``OnnxEncoder.encode`` mirrors the subset of ``SentenceTransformer.encode`` that
``retrieval.embeddings.Embedder`` uses. Tokenization is the model's own fast tokenizer
(``tokenizer.json``, truncated to 256 word pieces like the model's
``sentence_bert_config.json``); the graph returns per-token hidden states, and mean
pooling over the attention mask and L2 normalization (the model's ``Pooling`` and
``Normalize`` modules) are done in numpy.

This module must not import torch, transformers or sentence_transformers: that is the
point of it. Only a missing ``.onnx`` file makes it call ``retrieval.onnx_export``, which
does (once).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import ModelUnavailableError
from retrieval.model_files import DIMENSIONS, MAX_SEQ_LENGTH

log = logging.getLogger(__name__)


def _available_cpus() -> int:
    """CPUs this process may run on (``os.cpu_count()`` ignores affinity limits)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class OnnxEncoder:
    """Sentence and token embeddings from an ONNX export of the model.

    Construction is cheap; the tokenizer and the onnxruntime session load on first use.
    ``quantized`` picks the dynamic int8 export instead of fp32. ``onnx_dir`` is where the
    ``.onnx`` files are (default: ``retrieval.onnx_export.default_onnx_dir()``); a missing
    file is exported there on first use, which imports torch once. ``prepack=False`` skips
    repacking the weights for the matrix kernels when the session starts: the session
    starts in about half the time, and each encode is a few milliseconds slower, which
    suits a process that encodes one question and exits.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        threads: int | None = None,
        quantized: bool = False,
        onnx_dir: str | Path | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        prepack: bool = True,
    ):
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.prepack = prepack
        self.quantized = quantized
        self.max_seq_length = max_seq_length
        self._onnx_dir = Path(onnx_dir) if onnx_dir is not None else None
        self._tokenizer = None
        self._session = None
        self._batch_session = None
        self._input_names: set[str] = set()
        self._lock = threading.Lock()

    @property
    def onnx_dir(self) -> Path:
        """The directory holding the ``.onnx`` files."""
        if self._onnx_dir is None:
            from retrieval.onnx_export import default_onnx_dir

            self._onnx_dir = default_onnx_dir(self.model_dir)
        return self._onnx_dir

    @property
    def onnx_path(self) -> Path:
        """The ``.onnx`` file this encoder runs."""
        from retrieval.onnx_export import onnx_file

        return onnx_file(self.onnx_dir, quantized=self.quantized)

    @property
    def tokenizer(self):
        """The fast tokenizer: truncation to ``max_seq_length``, no padding (done per batch)."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    from tokenizers import Tokenizer

                    tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
                    # tokenizer.json itself says truncate at 128 and pad to 128.
                    tok.enable_truncation(max_length=self.max_seq_length)
                    tok.no_padding()
                    self._tokenizer = tok
        return self._tokenizer

    @property
    def session(self):
        """The onnxruntime session (exports the model first if its file is missing)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._load_session()
                    self._input_names = {i.name for i in self._session.get_inputs()}
        return self._session

    @property
    def workers(self) -> int:
        """Threads the model may use: ``threads``, or every CPU this process may run on."""
        return self.threads or _available_cpus()

    @property
    def batch_session(self):
        """A single-threaded session for running several batches side by side.

        One batch per thread (data parallelism) instead of every operator split over the
        threads: the same kernels on the same rows, so the same numbers, without a barrier
        after each of the graph's operators, which stalls every thread whenever another
        process takes one of the cores. Made on the first call with more than one batch.
        """
        if self._batch_session is None:
            session = self.session  # loads (or exports) the file first
            with self._lock:
                if self._batch_session is None:
                    self._batch_session = (
                        session if self.workers == 1 else self._new_session(self.onnx_path, 1)
                    )
        return self._batch_session

    def _new_session(self, path: Path, threads: int | None = None):
        """A session on ``path``, from its saved optimized graph when there is one.

        Optimizing the graph costs every process ~15% of the session's start; the first
        one saves the result beside the export (named for the onnxruntime version, newer
        than the export), and later ones load it without optimizing again: the same
        graph, so the same vectors, bit for bit (a test checks).
        """
        import onnxruntime as ort

        optimized = path.with_name(f"{path.stem}.opt-ort{ort.__version__}.onnx")
        try:
            current = optimized.stat().st_mtime_ns >= path.stat().st_mtime_ns
        except OSError:
            current = False
        if current:
            try:
                return self._make_session(
                    optimized, ort.GraphOptimizationLevel.ORT_DISABLE_ALL, threads=threads
                )
            except Exception:  # noqa: BLE001 - a damaged copy: optimize the export again
                log.warning("cannot load %s; optimizing %s again", optimized, path)
        tmp = optimized.with_name(f".{optimized.name}.{os.getpid()}.tmp")
        try:
            session = self._make_session(
                path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL, tmp, threads=threads
            )
        except Exception:
            tmp.unlink(missing_ok=True)
            raise
        try:
            os.replace(tmp, optimized)
        except OSError:  # a read-only folder: optimize every time
            tmp.unlink(missing_ok=True)
        return session

    def _make_session(
        self, path: Path, level, save_to: Path | None = None, threads: int | None = None
    ):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or self.workers
        # Idle pool threads sleep instead of spinning: ingest stores the previous group in
        # Chroma on another thread while the model runs, and spinning would starve it.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = level
        options.log_severity_level = 3
        if not self.prepack:
            options.add_session_config_entry("session.disable_prepacking", "1")
        if save_to is not None:
            options.optimized_model_filepath = str(save_to)
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _load_session(self):
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:  # pragma: no cover - install problem
            raise ModelUnavailableError(
                "onnxruntime is not installed: pip install onnxruntime"
            ) from exc
        path = self.onnx_path
        if path.exists():
            try:
                return self._new_session(path)
            except Exception as exc:  # any load failure means a bad file: export it again
                log.warning("cannot load %s (%s); exporting it again", path, exc)
                force = True
        else:
            log.info("no ONNX model at %s; exporting it (once)", path)
            force = False
        from retrieval.onnx_export import export_onnx

        try:
            path = export_onnx(self.model_dir, self.onnx_dir, quantize=self.quantized, force=force)
            return self._new_session(path)
        except Exception as exc:
            raise ModelUnavailableError(f"cannot export or load the ONNX model: {exc}") from exc

    def _forward(self, encodings, session=None) -> tuple[np.ndarray, np.ndarray]:
        """Hidden states (batch, seq, dim) and the attention mask of right-padded encodings
        (run on ``session``, default ``self.session``)."""
        session = session if session is not None else self.session
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        return hidden, mask

    def encode(
        self,
        sentences: str | list[str],
        batch_size: int = 64,
        show_progress_bar: bool | None = None,
        output_value: str | None = "sentence_embedding",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = False,
        **_: Any,
    ):
        """Embeddings like ``SentenceTransformer.encode`` for all-MiniLM-L6-v2.

        ``output_value="sentence_embedding"``: mean-pooled, L2-normalized float32 vectors,
        an (n, 384) array (or a list of rows if not ``convert_to_numpy``). The model ends
        in a ``Normalize`` module, so they are normalized whatever
        ``normalize_embeddings`` says, as with sentence-transformers.
        ``output_value="token_embeddings"``: one (tokens, 384) array per text, unpadded.
        ``output_value=None``: one dict per text with ``input_ids``, ``attention_mask``,
        ``token_type_ids``, ``token_embeddings`` (unpadded, so the mask is all ones),
        ``sentence_embedding`` and ``offsets`` (each token's character span in its text).
        Texts are batched by token length to save padding; results keep the input order.
        ``show_progress_bar`` and ``convert_to_tensor`` are accepted and ignored.
        """
        if output_value not in ("sentence_embedding", "token_embeddings", None):
            raise ValueError(f"unsupported output_value: {output_value!r}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        single = isinstance(sentences, str)
        texts = [sentences] if single else [str(s) for s in sentences]
        if not texts:
            if output_value == "sentence_embedding" and convert_to_numpy:
                return np.zeros((0, DIMENSIONS), dtype=np.float32)
            return []

        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        # Longest first, like sentence-transformers; stable so equal lengths keep order.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        results: list[Any] = [None] * len(texts)

        def run(rows: list[int], session) -> None:
            hidden, mask = self._forward([encodings[i] for i in rows], session)
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for k, i in enumerate(rows):
                if output_value == "sentence_embedding":
                    results[i] = pooled[k]
                    continue
                length = len(encodings[i].ids)
                tokens = np.ascontiguousarray(hidden[k, :length], dtype=np.float32)
                if output_value == "token_embeddings":
                    results[i] = tokens
                    continue
                results[i] = {
                    "input_ids": np.asarray(encodings[i].ids, dtype=np.int64),
                    "attention_mask": np.ones(length, dtype=np.int64),
                    "token_type_ids": np.zeros(length, dtype=np.int64),
                    "token_embeddings": tokens,
                    "sentence_embedding": pooled[k].copy(),
                    "offsets": np.asarray(encodings[i].offsets, dtype=np.int64).reshape(-1, 2),
                }

        groups = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        if len(groups) > 1 and self.workers > 1:
            # Several batches: one per thread at a time (onnxruntime releases the GIL).
            from concurrent.futures import ThreadPoolExecutor

            session = self.batch_session
            with ThreadPoolExecutor(self.workers, thread_name_prefix="dateline-onnx") as pool:
                list(pool.map(lambda rows: run(rows, session), groups))
        else:
            for rows in groups:
                run(rows, self.session)

        if output_value == "sentence_embedding" and convert_to_numpy:
            stacked = np.stack(results).astype(np.float32, copy=False)
            return stacked[0] if single else stacked
        return results[0] if single else results

    @property
    def dimensions(self) -> int:
        """Width of the vectors (384 for all-MiniLM-L6-v2)."""
        outputs = self.session.get_outputs()
        width = outputs[0].shape[-1]
        return int(width) if isinstance(width, int) else DIMENSIONS

    def get_sentence_embedding_dimension(self) -> int:
        """Same as ``dimensions``; the sentence-transformers name for it."""
        return self.dimensions
