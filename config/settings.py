"""One typed settings object for Dateline.

Precedence, lowest first: ``config/default.toml`` (shipped), the user's file
(``DATELINE_CONFIG`` or ``<user config dir>/dateline/config.toml``), ``DATELINE_*``
environment variables (nested keys with ``__``, e.g. ``DATELINE_ANSWER__LLM``), then
values passed by the caller (CLI flags). Secrets are never settings: the Discord token
and provider API keys are read from the environment by the code that needs them.
"""

from __future__ import annotations

import os
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_home() -> Path:
    """The per-user data directory where the index lives by default."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("dateline", appauthor=False))


def user_config_path() -> Path:
    """Where the user's own settings file is read from."""
    explicit = os.environ.get("DATELINE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("dateline", appauthor=False)) / "config.toml"


class IndexSettings(BaseModel):
    """How articles are split, embedded, stored and searched."""

    collection: str = Field("dateline", description="Chroma collection name prefix.")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx",
        description="Embedding backend: sentence-transformers on PyTorch, or the model's ONNX "
        "export on onnxruntime (fp32, or dynamically quantized int8), which skips importing torch.",
    )
    query_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto",
        description="Backend that encodes questions; 'auto' uses the ONNX fp32 export for a "
        "torch index (same vectors, no torch import, fast cold start), else the ingest backend.",
    )
    batch_size: int = Field(
        16,
        ge=1,
        description="Passages encoded per model call. 16 is faster than 64 on CPU and needs a "
        "third of the memory (attention buffers grow with batch size x length squared).",
    )
    max_tokens: int = Field(
        200, ge=32, le=256, description="Upper bound of a passage in model tokens (window: 256)."
    )
    overlap_sentences: int = Field(1, ge=0, description="Sentences shared by consecutive passages.")
    candidates: int = Field(40, ge=1, description="Passages taken from each ranker before fusion.")
    dense_weight: float = Field(
        0.6, ge=0, le=1, description="Weight of sentence similarity against normalized BM25."
    )
    near_duplicate: float = Field(
        0.8, gt=0, le=1, description="Shingle Jaccard at which two articles count as copies."
    )


class AnswerSettings(BaseModel):
    """How answers are written."""

    k: int = Field(5, ge=1, le=50, description="Passages shown to the answer step.")
    llm: str | None = Field(
        None, description="Chat model spec for init_chat_model, e.g. 'openai:gpt-4o-mini'."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (llama.cpp, vLLM, LM Studio)."
    )
    llm_timeout: float = Field(20.0, gt=0, description="Seconds before the LLM falls back.")
    llm_temperature: float = Field(0.0, ge=0, description="Sampling temperature for the LLM.")
    llm_max_tokens: int = Field(
        300, ge=16, description="Most tokens an LLM reply may have (sent with every request)."
    )
    llm_threads: int = Field(
        0, ge=0, description="CPU threads of a llamacpp: model (0: every CPU available)."
    )
    llm_context: int = Field(
        4096, ge=512, description="Context window of a llamacpp: model, prompt plus reply."
    )
    max_sentences: int = Field(2, ge=1, description="Sentences an extractive answer quotes.")
    max_words: int = Field(60, ge=10, description="Words an extractive answer may use.")
    history_turns: int = Field(3, ge=0, description="Earlier turns used to resolve follow-ups.")
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")
    abstain_threshold: float = Field(
        0.47,
        ge=0,
        le=1,
        description="Answer only when (best-sentence cosine + question IDF coverage) / 2 "
        "reaches this; both parts are normalized, so it transfers across corpora.",
    )
    abstain_unknown_words: int = Field(
        0,
        ge=0,
        description="Abstain when this many of the question's lower-case words appear in no "
        "indexed passage (what is asked about was never reported); 0: off. 1 lifts newsroom "
        "out-of-corpus abstention 0.625 -> 0.667 but costs squad-news 0.07 of answered rate.",
    )


class DiscordSettings(BaseModel):
    """The Discord adapter's behaviour; the token comes only from ``DISCORD_TOKEN``."""

    guilds: list[int] = Field(default_factory=list, description="Guild ids allowed (empty: all).")
    channels: list[int] = Field(
        default_factory=list, description="Channel ids where mentions are answered (empty: all)."
    )
    allow_dm: bool = Field(True, description="Answer direct messages.")
    sync_global: bool = Field(False, description="Also sync slash commands globally.")
    rate_limit_per_minute: int = Field(6, ge=1, description="Questions per user per minute.")
    max_question_chars: int = Field(500, ge=10, description="Longest question accepted.")
    admin_role: str | None = Field("Dateline Admin", description="Role allowed to /ingest.")
    admin_user_ids: list[int] = Field(default_factory=list, description="Users allowed to /ingest.")
    max_attachment_bytes: int = Field(2_000_000, ge=1, description="Largest /ingest attachment.")
    history_messages: int = Field(
        20,
        ge=0,
        description="Thread messages read as history when the bot does not remember the "
        "thread (it was restarted since).",
    )
    announce_channel: int | None = Field(
        None, description="Channel id where newly indexed feed articles are posted (no pings)."
    )


class FetchSettings(BaseModel):
    """How URLs (feeds, article pages) are fetched."""

    allow_private_addresses: bool = Field(
        False,
        description="Fetch URLs whose host is loopback, private, link-local or otherwise "
        "non-public (local setups and tests only: it opens the bot's network to feed URLs).",
    )
    timeout: float = Field(10.0, gt=0, description="Seconds to connect, or between two reads.")
    total_timeout: float = Field(30.0, gt=0, description="Seconds one response may take.")
    max_bytes: int = Field(10_000_000, ge=1024, description="Largest response read.")
    max_redirects: int = Field(5, ge=0, description="Redirects followed per request.")
    per_host: int = Field(2, ge=1, description="Parallel requests to one host.")
    user_agent: str = Field(
        "Dateline/0.1 (news question-answering bot; feed reader)",
        description="User-Agent sent with every request (robots.txt rules match it).",
    )


class FeedSettings(BaseModel):
    """Feeds followed by `dateline watch` and the Discord bot's poller."""

    urls: list[str] = Field(
        default_factory=list, description="Feeds followed besides those in <home>/feeds.json."
    )
    every: str = Field("15m", description="Default polling interval (90s, 15m, 1h).")
    jitter: float = Field(0.1, ge=0, le=0.5, description="Random spread of each interval.")
    max_backoff: str = Field("6h", description="Longest wait after repeated errors.")
    workers: int = Field(4, ge=1, le=32, description="Feeds and pages fetched in parallel.")


class Settings(BaseSettings):
    """Everything Dateline can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="DATELINE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=default_home, description="Data directory of the index.")
    chroma_url: str | None = Field(
        None, description="URL of a `chroma run` server; unset uses a local PersistentClient."
    )
    chroma_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds to wait for the Chroma server's answer (connecting: at most 3).",
    )
    log_level: str = Field("WARNING", description="Logging level.")
    feedback_log: str = Field(
        "feedback.jsonl", description="Log of 👍/👎 votes on chat answers, relative to home."
    )
    now: date | None = Field(
        None,
        description="The day questions are asked (YYYY-MM-DD): articles published later do not "
        "exist for them, and 'latest' or 'last week' are read against it. Unset: today.",
    )
    index: IndexSettings = Field(default_factory=IndexSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)

    @model_validator(mode="before")
    @classmethod
    def _feedback_log_was_a_discord_setting(cls, data: Any) -> Any:
        """``[discord] feedback_log``, its old place, still counts unless the new key is set."""
        if isinstance(data, dict) and isinstance(data.get("discord"), dict):
            discord = dict(data["discord"])
            if "feedback_log" in discord:
                old = discord.pop("feedback_log")
                data = {**data, "discord": discord}
                data.setdefault("feedback_log", old)
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        default_file = resources.files("config").joinpath("default.toml")
        with resources.as_file(default_file) as default_path:
            defaults = TomlConfigSettingsSource(settings_cls, toml_file=default_path)
        user = TomlConfigSettingsSource(settings_cls, toml_file=user_config_path())
        return (init_settings, env_settings, user, defaults)


def load_settings(**overrides: Any) -> Settings:
    """Settings from every source, with ``overrides`` (CLI flags) on top; ``None`` is ignored."""
    flat = {k: v for k, v in overrides.items() if v is not None}
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        section, _, name = key.partition("__")
        if name:
            nested.setdefault(section, {})[name] = value
        else:
            nested[key] = value
    return Settings(**nested)
