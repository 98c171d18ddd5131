"""Exporting the packaged all-MiniLM-L6-v2 encoder to ONNX, in fp32 and dynamic int8.

The BERT encoder is traced with torch's TorchScript-based ONNX exporter (``dynamo=False``:
it needs only the ``onnx`` package, not ``onnxscript``) into a graph with inputs
``input_ids``, ``attention_mask`` and ``token_type_ids`` (dynamic batch and sequence
axes) and the output ``last_hidden_state``. Pooling and normalization stay in numpy
(see ``retrieval.onnx_backend``). The int8 variant is onnxruntime's dynamic
quantization of the fp32 graph with per-channel weight scales (per-tensor scales lose
too much: cosine to torch ~0.945 instead of ~0.994).

Files go to ``default_onnx_dir()``; every file is written under a temporary name and
moved into place with ``os.replace``, so a killed export never leaves a broken model
under the final name. Nothing here touches the network.

Run ``python -m retrieval.onnx_export`` to export both variants ahead of time.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import time
from pathlib import Path

from retrieval.model_files import MODEL_NAME
from retrieval.model_files import model_dir as packaged_model_dir

log = logging.getLogger(__name__)

# Bump when the exported graph changes, so stale caches are not reused.
FORMAT_VERSION = 1
FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "last_hidden_state"
ENV_DIR = "DATELINE_ONNX_DIR"
OPSET = 17
# Largest absolute difference to torch's hidden states that an fp32 export may show.
_FP32_TOLERANCE = 1e-3


def _model_dir(model_dir: str | Path | None) -> Path:
    if model_dir is not None:
        return Path(model_dir)
    return packaged_model_dir()


def model_fingerprint(model_dir: str | Path | None = None) -> str:
    """A short hash naming one version of the model weights (size and mtime, no read)."""
    weights = _model_dir(model_dir) / "model.safetensors"
    st = weights.stat()
    key = f"{FORMAT_VERSION}:{st.st_size}:{st.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def default_onnx_dir(model_dir: str | Path | None = None) -> Path:
    """Where exported models live: ``$DATELINE_ONNX_DIR`` if set, else the user cache.

    The default is ``<user cache>/dateline/onnx/<model>-<fingerprint>/``, so new weights
    get a new directory. ``DATELINE_ONNX_DIR`` names the directory that holds the files.
    """
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    name = f"{MODEL_NAME}-{model_fingerprint(model_dir)}"
    return Path(user_cache_dir("dateline")) / "onnx" / name


def onnx_file(onnx_dir: str | Path, quantized: bool = False) -> Path:
    """The path of the fp32 or int8 model inside ``onnx_dir``."""
    return Path(onnx_dir) / (INT8_FILE if quantized else FP32_FILE)


def temp_path(final: Path) -> Path:
    """The name an export writes to before it moves the file to ``final``."""
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> None:
    """Make ``tmp`` durable, then atomically rename it to ``final``."""
    _fsync(tmp)
    os.replace(tmp, final)
    try:
        _fsync(final.parent)
    except OSError:  # pragma: no cover - directories cannot be fsynced everywhere
        pass


def _remove_stale_temps(out_dir: Path) -> None:
    """Drop temp files of exports that were killed (call with the export lock held)."""
    for name in (FP32_FILE, INT8_FILE):
        for stale in out_dir.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def _load_torch_model(model_dir: Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # Eager attention traces to plain MatMul/Softmax, which onnxruntime fuses itself.
    bert = AutoModel.from_pretrained(
        str(model_dir), local_files_only=True, attn_implementation="eager"
    )

    class Encoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    # The exporter restores the wrapper's mode afterwards: it must be eval too.
    return Encoder(bert).eval()


def _sample_inputs(seed: int, batch: int, length: int):
    """Random word-piece ids with [CLS]/[SEP] and right padding in all rows but the first."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 29000, size=(batch, length), dtype=np.int64)
    mask = np.ones_like(ids)
    for row in range(1, batch):
        mask[row, length - row * (length // (batch + 1)) :] = 0
    lengths = mask.sum(axis=1)
    ids[:, 0] = 101
    ids[np.arange(batch), lengths - 1] = 102
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _check_export(path: Path, model) -> None:
    """Compare the ONNX graph with torch on shapes other than the traced one."""
    import numpy as np
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for seed, batch, length in ((1, 3, 37), (2, 1, 5)):
        feeds = _sample_inputs(seed, batch, length)
        got = session.run([OUTPUT_NAME], feeds)[0]
        with torch.inference_mode():
            want = model(*(torch.from_numpy(feeds[n]) for n in INPUT_NAMES)).numpy()
        real = feeds["attention_mask"].astype(bool)
        diff = float(np.abs(got - want)[real].max())
        if not diff < _FP32_TOLERANCE:
            raise RuntimeError(f"ONNX export differs from torch by {diff:.2e} ({path})")


def _check_quantized(path: Path, source: Path) -> None:
    """A coarse check that the int8 graph still computes roughly the same vectors."""
    import numpy as np
    import onnxruntime as ort

    feeds = _sample_inputs(3, 3, 29)
    mask = feeds["attention_mask"][..., None].astype(np.float32)
    pooled = []
    for model in (source, path):
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        hidden = session.run([OUTPUT_NAME], feeds)[0]
        vecs = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
        pooled.append(vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
    cosine = float((pooled[0] * pooled[1]).sum(axis=1).min())
    if not cosine > 0.95:
        raise RuntimeError(f"int8 model is too far from fp32 (cosine {cosine:.3f}, {path})")


def _export_fp32(model_dir: Path, final: Path) -> None:
    import warnings

    import torch

    model = _load_torch_model(model_dir)
    feeds = _sample_inputs(0, 2, 16)
    args = tuple(torch.from_numpy(feeds[n]) for n in INPUT_NAMES)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    tmp = temp_path(final)
    try:
        with warnings.catch_warnings():
            # Tracer and deprecation notices about the TorchScript exporter; the check
            # below is what tells whether the graph is right.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                args,
                str(tmp),
                dynamo=False,
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
            )
        _check_export(tmp, model)
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def quantize_int8(source: Path, dest: Path) -> None:
    """Write onnxruntime's dynamic int8 quantization of ``source`` to ``dest``, with
    per-channel weight scales, without its per-tensor log lines."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    # The quantizer logs a line per tensor through the root logger.
    root.setLevel(max(level, logging.ERROR))
    try:
        quantize_dynamic(source, dest, per_channel=True, weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)


def _export_int8(source: Path, final: Path) -> None:
    tmp = temp_path(final)
    try:
        quantize_int8(source, tmp)
        _check_quantized(tmp, source)
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def export_onnx(
    model_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    quantize: bool = False,
    *,
    force: bool = False,
) -> Path:
    """Export the model (fp32, or dynamic int8 if ``quantize``) and return the file's path.

    Files that already exist are reused unless ``force``. The int8 model is made from the
    fp32 one, which is exported first if needed. Concurrent exports into the same
    directory wait for each other (a lock file), and every file appears atomically.
    This imports torch and transformers; it never touches the network.
    """
    from filelock import FileLock

    model_dir = _model_dir(model_dir)
    out_dir = Path(out_dir) if out_dir is not None else default_onnx_dir(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = onnx_file(out_dir, quantized=False)
    target = onnx_file(out_dir, quantized=quantize)
    with FileLock(str(out_dir / ".export.lock")):
        _remove_stale_temps(out_dir)
        if target.exists() and not force:
            return target
        if force or not fp32.exists():
            started = time.perf_counter()
            _export_fp32(model_dir, fp32)
            log.info("exported %s in %.1f s", fp32, time.perf_counter() - started)
        if quantize:
            started = time.perf_counter()
            _export_int8(fp32, target)
            log.info("quantized %s in %.1f s", target, time.perf_counter() - started)
    return target


def main(argv: list[str] | None = None) -> int:
    """Export both variants: ``python -m retrieval.onnx_export [--out DIR] [--force]``."""
    parser = argparse.ArgumentParser(
        prog="python -m retrieval.onnx_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=None, help="directory for the .onnx files")
    parser.add_argument("--model-dir", type=Path, default=None, help="the model to export")
    parser.add_argument("--force", action="store_true", help="export even if the files exist")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    int8 = export_onnx(args.model_dir, args.out, quantize=True, force=args.force)
    print(onnx_file(int8.parent, quantized=False))
    print(int8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
