"""Typed errors raised by the retrieval layer; the edges turn them into messages."""


class RetrievalError(Exception):
    """Base class for every error the retrieval layer raises on purpose."""


class IndexBusyError(RetrievalError):
    """Another process holds the ingest lock on this data directory."""


class IndexUnavailableError(RetrievalError):
    """The Chroma index cannot be opened or reached (server down, bad directory)."""


class IndexCorruptError(RetrievalError):
    """The data directory exists but is not a readable Dateline index."""


class ModelUnavailableError(RetrievalError):
    """The embedding model or an optional dependency is missing."""


class InvalidQueryError(RetrievalError):
    """A search query that cannot be run (empty, too long, bad filter)."""
