"""Dateline's retrieval layer: ingestion, passages, the Chroma index and hybrid search.

This package imports nothing else of Dateline's, so it can be reused on its own.
"""
