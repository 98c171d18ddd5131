"""Dateline's hybrid search as a LangChain retriever (the one retrieval module that imports
LangChain; nothing else in ``retrieval`` needs it installed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from retrieval.models import Hit
from retrieval.search import Filters

SearchFn = Callable[..., list[Hit]]


def hit_to_document(hit: Hit) -> Document:
    """A search hit as a LangChain Document: the passage text, and where it came from."""
    p = hit.passage
    return Document(
        page_content=p.text,
        metadata={
            "passage_id": p.id,
            "article_id": p.article_id,
            "title": p.title,
            "source": p.source,
            "published": p.published,
            "url": p.url,
            "score": round(float(hit.score), 4),
        },
        id=p.id,
    )


class DatelineRetriever(BaseRetriever):
    """Returns the ``k`` best passages of the Dateline index for a query.

    ``searcher`` is a ``HybridSearcher`` (or anything with the same ``search(query, k,
    filters)`` method), or a plain callable with that signature, such as
    ``DatelineService.search``.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Any = Field(description="A HybridSearcher, or a search(query, k, filters) callable.")
    k: int = Field(ge=1, description="Passages returned per query (``answer.k``).")
    filters: Filters | None = Field(None, description="Outlet and date filters.")

    def _search_fn(self) -> SearchFn:
        search = getattr(self.searcher, "search", None)
        if callable(search):
            return search
        if callable(self.searcher):
            return self.searcher
        raise TypeError("searcher must have a search(query, k, filters) method or be callable")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self._search_fn()(query, self.k, self.filters)
        return [hit_to_document(h) for h in hits]


def as_langchain_retriever(
    searcher: Any, k: int, filters: Filters | None = None
) -> DatelineRetriever:
    """A LangChain retriever over ``searcher`` (a HybridSearcher or a search callable)."""
    return DatelineRetriever(searcher=searcher, k=k, filters=filters)
