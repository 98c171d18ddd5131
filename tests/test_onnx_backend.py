"""The ONNX embedding backend: same vectors as torch, no torch import, atomic exports.

The model is exported once per module into a temporary directory (about 10-30 s), so
the tests that need it are marked slow.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from retrieval import onnx_export
from retrieval.embeddings import Embedder
from retrieval.model_files import DIMENSIONS, model_dir
from retrieval.onnx_backend import OnnxEncoder
from retrieval.onnx_export import (
    ENV_DIR,
    FP32_FILE,
    INT8_FILE,
    default_onnx_dir,
    export_onnx,
    onnx_file,
    temp_path,
)
from tests.helpers import BATCH_SIZE, ROOT, cli_env, shared_embedder

SENTENCES = [
    "Who is Song Tao?",
    "The central bank raised interest rates by half a percentage point on Thursday.",
    "Floods in the northern province displaced thousands of families this week.",
    "Shares of the carmaker fell after it cut its profit forecast for the year.",
    "The 1973 oil crisis began when OAPEC proclaimed an oil embargo.",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A directory with both exports (fp32 and int8) of the packaged model."""
    out = tmp_path_factory.mktemp("onnx")
    int8 = export_onnx(model_dir(), out, quantize=True)
    assert int8 == out / INT8_FILE
    assert (out / FP32_FILE).is_file() and int8.is_file()
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    return out


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return shared_embedder().encode(SENTENCES)


def _span(text: str, sentence: str) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def _onnx_embedder(monkeypatch, onnx_dir: Path, backend: str = "onnx") -> Embedder:
    monkeypatch.setenv(ENV_DIR, str(onnx_dir))
    return Embedder(backend, BATCH_SIZE)


# -- no export needed -------------------------------------------------------------------


def test_default_dir_env_override_and_fingerprint(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "mine"))
    assert default_onnx_dir() == tmp_path / "mine"
    monkeypatch.delenv(ENV_DIR)
    default = default_onnx_dir()
    assert default.parent.name == "onnx"
    assert default.name == f"all-MiniLM-L6-v2-{onnx_export.model_fingerprint()}"
    assert onnx_file(default) == default / FP32_FILE
    assert onnx_file(default, quantized=True) == default / INT8_FILE


def test_encoder_construction_is_lazy_and_empty_input_needs_no_model(tmp_path):
    enc = OnnxEncoder(model_dir(), onnx_dir=tmp_path / "nothing-here")
    assert enc.encode([]).shape == (0, DIMENSIONS)
    assert enc._session is None
    assert not (tmp_path / "nothing-here").exists()


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="unknown embedding backend"):
        Embedder("tensorflow", BATCH_SIZE).encode(["x"])


def test_failed_export_leaves_no_file(monkeypatch, tmp_path):
    """An export that dies half-way leaves neither a final file nor its temp file."""
    torch = pytest.importorskip("torch")

    class Tiny(torch.nn.Module):
        def forward(self, input_ids, attention_mask, token_type_ids):
            return input_ids

    def dying_export(model, args, path, **kwargs):
        Path(path).write_bytes(b"\x08\x07partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_export, "_load_torch_model", lambda _dir: Tiny())
    monkeypatch.setattr(torch.onnx, "export", dying_export)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(model_dir(), tmp_path, quantize=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.lock"]


# -- with an export ---------------------------------------------------------------------


@pytest.mark.slow
def test_fp32_matches_torch(monkeypatch, exported, torch_vectors):
    vectors = _onnx_embedder(monkeypatch, exported).encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIMENSIONS) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.999, cosines


@pytest.mark.slow
def test_int8_is_close_to_torch(monkeypatch, exported, torch_vectors):
    vectors = _onnx_embedder(monkeypatch, exported, "onnx-int8").encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), DIMENSIONS)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.98, cosines


@pytest.mark.slow
def test_order_and_batching_do_not_change_vectors(exported):
    enc = OnnxEncoder(model_dir(), onnx_dir=exported)
    together = enc.encode(SENTENCES, batch_size=64)
    one_by_one = enc.encode(SENTENCES, batch_size=1)
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    single = enc.encode(SENTENCES[1])
    assert single.shape == (DIMENSIONS,)
    np.testing.assert_allclose(single, together[1], atol=1e-5)


def test_without_prepacked_weights_the_vectors_are_the_same(exported):
    prepacked = OnnxEncoder(model_dir(), onnx_dir=exported).encode(SENTENCES)
    plain = OnnxEncoder(model_dir(), onnx_dir=exported, prepack=False)
    np.testing.assert_allclose(plain.encode(SENTENCES), prepacked, atol=1e-6)
    assert (
        plain.session.get_session_options().get_session_config_entry("session.disable_prepacking")
        == "1"
    )


@pytest.mark.slow
def test_token_outputs_like_sentence_transformers(exported):
    enc = OnnxEncoder(model_dir(), onnx_dir=exported)
    long_text = " ".join(["word"] * 400)
    outputs = enc.encode(
        [SENTENCES[0], long_text], output_value=None, convert_to_numpy=False, batch_size=8
    )
    assert set(outputs[0]) >= {"token_embeddings", "attention_mask", "sentence_embedding"}
    short, long = outputs
    n = len(enc.tokenizer.encode(SENTENCES[0]).ids)
    assert short["token_embeddings"].shape == (n, DIMENSIONS)
    assert int(short["attention_mask"].sum()) == n
    assert long["token_embeddings"].shape == (256, DIMENSIONS)  # truncated like the model
    mean = short["token_embeddings"].mean(axis=0)
    np.testing.assert_allclose(short["sentence_embedding"], mean / np.linalg.norm(mean), atol=1e-5)


@pytest.mark.slow
def test_encode_passages_with_onnx(monkeypatch, exported):
    title = "Central bank"
    texts = [
        f"{title}. The bank raised rates on Thursday. Markets fell sharply afterwards.",
        f"{title}. Inflation slowed in May.",
    ]
    spans = [
        [_span(texts[0], "The bank raised rates on Thursday."), _span(texts[0], "Markets fell")],
        [_span(texts[1], "Inflation slowed in May.")],
    ]
    onnx = _onnx_embedder(monkeypatch, exported)
    passages, sentences = onnx.encode_passages(texts, spans)
    assert passages.shape == (2, DIMENSIONS)
    assert [s.shape for s in sentences] == [(2, DIMENSIONS), (1, DIMENSIONS)]
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    for block in sentences:
        np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0, atol=1e-5)
    ref_passages, ref_sentences = shared_embedder().encode_passages(texts, spans)
    assert (passages * ref_passages).sum(axis=1).min() > 0.999
    for got, want in zip(sentences, ref_sentences, strict=True):
        assert (got * want).sum(axis=1).min() > 0.999


@pytest.mark.slow
def test_onnx_backend_does_not_import_torch(exported):
    code = textwrap.dedent(
        """
        import sys
        from retrieval.embeddings import Embedder

        embedder = Embedder("onnx", batch_size=16)
        vec = embedder.encode_query("Who is Song Tao?")
        assert vec.shape == (384,), vec.shape
        embedder.encode_passages(["Song Tao. He is a diplomat."], [[(10, 27)]])
        heavy = ("torch", "transformers", "sentence_transformers")
        print(",".join(sorted(m for m in heavy if m in sys.modules)) or "none")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=cli_env(**{ENV_DIR: str(exported)}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "none"


@pytest.mark.slow
def test_partial_temp_file_is_never_loaded(monkeypatch, exported, tmp_path, torch_vectors):
    """A killed export leaves only a temp file: the loader ignores it and exports anew."""
    final = tmp_path / FP32_FILE
    good = (exported / FP32_FILE).read_bytes()
    temp_path(final).write_bytes(good[: len(good) // 3])  # as if killed mid-write

    calls = []

    def fake_export(model_dir, out_dir, quantize=False, *, force=False):
        calls.append((Path(out_dir), quantize, force))
        onnx_export._remove_stale_temps(Path(out_dir))
        shutil.copyfile(exported / FP32_FILE, final)
        return final

    monkeypatch.setattr(onnx_export, "export_onnx", fake_export)
    enc = OnnxEncoder(model_dir(), onnx_dir=tmp_path)
    vectors = enc.encode(SENTENCES)
    assert calls == [(tmp_path, False, False)]
    assert (vectors * torch_vectors).sum(axis=1).min() > 0.999
    assert not temp_path(final).exists()


@pytest.mark.slow
def test_stale_temp_beside_a_good_model_is_ignored_and_cleaned(exported, tmp_path):
    shutil.copyfile(exported / FP32_FILE, tmp_path / FP32_FILE)
    stale = tmp_path / f".{FP32_FILE}.999999.tmp"
    stale.write_bytes(b"truncated")
    enc = OnnxEncoder(model_dir(), onnx_dir=tmp_path)
    assert enc.encode(SENTENCES[:1]).shape == (1, DIMENSIONS)
    # The next export run (here: a no-op, the file exists) removes the leftover.
    assert export_onnx(model_dir(), tmp_path) == tmp_path / FP32_FILE
    assert not stale.exists()


@pytest.mark.slow
def test_corrupt_final_file_is_exported_again(monkeypatch, exported, tmp_path):
    final = tmp_path / FP32_FILE
    final.write_bytes(b"not an onnx model")
    calls = []

    def fake_export(model_dir, out_dir, quantize=False, *, force=False):
        calls.append(force)
        shutil.copyfile(exported / FP32_FILE, final)
        return final

    monkeypatch.setattr(onnx_export, "export_onnx", fake_export)
    enc = OnnxEncoder(model_dir(), onnx_dir=tmp_path)
    assert enc.encode(SENTENCES[:2]).shape == (2, DIMENSIONS)
    assert calls == [True]


@pytest.mark.slow
def test_saved_optimized_graph_gives_the_same_vectors(exported, tmp_path):
    shutil.copyfile(exported / FP32_FILE, tmp_path / FP32_FILE)
    first = OnnxEncoder(model_dir(), onnx_dir=tmp_path).encode(SENTENCES)
    (saved,) = tmp_path.glob("*.opt-ort*.onnx")
    assert not list(tmp_path.glob(".*.tmp"))
    again = OnnxEncoder(model_dir(), onnx_dir=tmp_path).encode(SENTENCES)
    assert np.array_equal(first, again)  # the saved graph, loaded without optimizing
    saved.write_bytes(b"damaged")
    assert np.array_equal(OnnxEncoder(model_dir(), onnx_dir=tmp_path).encode(SENTENCES), first)
    assert saved.stat().st_size > 1000  # optimized and saved again


@pytest.mark.slow
def test_batches_side_by_side_store_the_same_passages_and_vectors(monkeypatch, exported, tmp_path):
    """Encoding batches on parallel threads (threads > 1) writes exactly what one thread
    writes: the same passages, passage vectors and packed sentence vectors."""
    from bot.service import DatelineService
    from config import load_settings

    monkeypatch.setenv(ENV_DIR, str(exported))
    stored = []
    for threads in (1, 2):
        service = DatelineService(load_settings(home=tmp_path / f"home-{threads}"))
        service.embedder = Embedder("onnx", 2, threads=threads)  # many small batches
        report = service.ingest_paths([ROOT / "data" / "articles"])
        assert report.passages > 4
        ids = sorted(service.store.passage_ids())
        stored.append((ids, service.store.get_passages(ids, embeddings=True)))
    (ids_one, one), (ids_two, two) = stored
    assert ids_one == ids_two
    for pid in ids_one:
        assert one[pid].passage == two[pid].passage
        np.testing.assert_array_equal(one[pid].embedding, two[pid].embedding)
        np.testing.assert_array_equal(one[pid].sentence_vectors, two[pid].sentence_vectors)


def test_parallel_batches_give_the_same_numbers(exported):
    one = OnnxEncoder(model_dir(), onnx_dir=exported, threads=1)
    two = OnnxEncoder(model_dir(), onnx_dir=exported, threads=2)
    texts = SENTENCES * 3
    got = two.encode(texts, batch_size=2, output_value=None, convert_to_numpy=False)
    want = one.encode(texts, batch_size=2, output_value=None, convert_to_numpy=False)
    assert two._batch_session is not None and two._batch_session is not two.session
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g["token_embeddings"], w["token_embeddings"])
        np.testing.assert_array_equal(g["sentence_embedding"], w["sentence_embedding"])
    np.testing.assert_array_equal(two.encode(texts, batch_size=4), one.encode(texts, batch_size=4))
