"""Dateline's bot layer: the answer service and its adapters (CLI, REPL, Discord)."""
