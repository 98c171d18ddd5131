"""Typed errors raised by the retrieval layer; the edges turn them into messages."""


class RetrievalError(Exception):
    """Base class for every error the retrieval layer raises on purpose.

    ``exit_code`` is what a command line should exit with: 2 for bad input, 3 for an
    index that cannot be used.
    """

    exit_code = 3


class IndexBusyError(RetrievalError):
    """Another process holds the ingest lock on this data directory."""


class IndexUnavailableError(RetrievalError):
    """The Chroma index cannot be opened or reached (server down, bad directory)."""


class IndexCorruptError(RetrievalError):
    """The data directory exists but is not a readable Dateline index.

    ``resettable`` is True when the files are a damaged Chroma index that ``dateline
    reset`` may delete, False when they may belong to something else (move them away).
    """

    def __init__(self, message: str = "", *, resettable: bool = False):
        super().__init__(message)
        self.resettable = resettable


class ModelUnavailableError(RetrievalError):
    """The embedding model or an optional dependency is missing."""


class InvalidQueryError(RetrievalError):
    """A search query that cannot be run (empty, too long, bad filter)."""

    exit_code = 2
