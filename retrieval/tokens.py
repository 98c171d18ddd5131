"""Counting model tokens with the embedding model's own fast tokenizer."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=4)
def _tokenizer(model_dir: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


class TokenCounter:
    """Counts word-piece tokens (without [CLS]/[SEP]) the way the model sees them."""

    def __init__(self, model_dir: str | Path):
        self.model_dir = str(model_dir)

    def count_many(self, texts: list[str]) -> list[int]:
        """Token counts for several texts at once (batched, fast)."""
        if not texts:
            return []
        encs = _tokenizer(self.model_dir).encode_batch(texts, add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def count(self, text: str) -> int:
        """Token count of one text."""
        return self.count_many([text])[0]


def token_offsets(model_dir: str | Path, texts: list[str]):
    """Character offsets of each token (special tokens included) of each text."""
    import numpy as np

    encs = _tokenizer(str(model_dir)).encode_batch(texts, add_special_tokens=True)
    return [np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2) for e in encs]
