"""A question as retrieval sees it, worked out once however often it is searched."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from retrieval.errors import InvalidQueryError
from retrieval.lexical import tokenize


class Query:
    """The text of a search, its BM25 terms and its embedding, each computed once.

    ``plain_words`` are words whose absence from every indexed passage means the index
    does not cover the question (the service passes its lower-case content words); their
    terms are counted by the evidence. The terms are tokenized on first use, in one call;
    ``vector`` is filled in by the searcher when it first embeds the text.
    """

    def __init__(self, text: str, plain_words: Sequence[str] = ()):
        text = (text or "").strip()
        if not text:
            raise InvalidQueryError("the query is empty")
        self.text = text
        self.plain_words = tuple(plain_words)
        self.vector = None

    @cached_property
    def _tokens(self) -> tuple[list[str], list[str]]:
        if not self.plain_words:
            return tokenize([self.text])[0], []
        terms, plain = tokenize([self.text, " ".join(self.plain_words)])
        return terms, plain

    @property
    def terms(self) -> list[str]:
        """The BM25 terms of the text (stemmed, without stop words), in order."""
        return self._tokens[0]

    @property
    def plain_terms(self) -> list[str]:
        """The BM25 terms of the plain words."""
        return self._tokens[1]

    def __repr__(self) -> str:
        return f"Query({self.text!r})"
