"""Dateline's typed settings: defaults, user file, ``DATELINE_*`` environment, CLI flags."""

from config.settings import (
    AnswerSettings,
    DiscordSettings,
    IndexSettings,
    Settings,
    load_settings,
    user_config_path,
)

__all__ = [
    "AnswerSettings",
    "DiscordSettings",
    "IndexSettings",
    "Settings",
    "load_settings",
    "user_config_path",
]
