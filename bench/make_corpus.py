"""Generate news-like articles for scale benchmarks, as JSONL (one article per line).

Sentences are recombined from the squad-news corpus: each article samples sentences of
one source article, kept in their original order (so passages stay topical), mixes in a
few from elsewhere, and gets a made-up outlet, date and URL. Sampling rather than taking
runs keeps two generated articles from looking like syndicated copies of each other.
Deterministic for a seed.
Run: ``python bench/make_corpus.py OUT.jsonl --articles 1000``.
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta

from common import eval_dir

OUTLETS = [
    "Reuters",
    "AFP",
    "Associated Press",
    "The Guardian",
    "Le Monde",
    "Der Spiegel",
    "The Times of India",
    "Al Jazeera",
    "NHK",
    "El País",
    "ABC News",
    "Sputnik",
]


def source_sentences() -> list[tuple[str, list[str]]]:
    """(title, sentences) for every eval-corpus article."""
    from retrieval.sentences import split_sentences

    out = []
    for path in sorted((eval_dir() / "corpus").glob("*.txt")):
        title, _, body = path.read_text(encoding="utf-8").partition("\n\n")
        out.append((title.strip(), [s.text for s in split_sentences(body)]))
    return out


def generate(n: int, seed: int = 7, sentences_per_article: tuple[int, int] = (10, 18)):
    """Yield ``n`` article records."""
    rng = random.Random(seed)
    pool = source_sentences()
    everything = [s for _, sents in pool for s in sents]
    start = date(2015, 1, 1)
    for i in range(n):
        title, sents = rng.choice(pool)
        size = rng.randint(*sentences_per_article)
        picked = sorted(rng.sample(range(len(sents)), min(size, len(sents))))
        body = [sents[j] for j in picked]
        for _ in range(rng.randint(1, 3)):
            body.insert(rng.randrange(len(body) + 1), rng.choice(everything))
        paragraphs = [" ".join(body[j : j + 3]) for j in range(0, len(body), 3)]
        outlet = rng.choice(OUTLETS)
        yield {
            "title": f"{title}: report {i}",
            "source": outlet,
            "published": (start + timedelta(days=rng.randrange(3650))).isoformat(),
            "url": f"https://news.example/{outlet.lower().replace(' ', '-')}/{i}",
            "text": "\n\n".join(paragraphs),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--offset", type=int, default=0, help="skip this many first articles")
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8") as fh:
        for i, record in enumerate(generate(args.offset + args.articles, args.seed)):
            if i >= args.offset:
                fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
