"""One typed settings object for Dateline.

Every default value is written once, in ``config/default.toml``: the fields below read it
(so a section built alone, ``AnswerSettings()``, has the same defaults), and so does the
lowest settings source. Precedence, lowest first: ``config/default.toml``, the user's file
(``DATELINE_CONFIG`` or ``<user config dir>/dateline/config.toml``), ``DATELINE_*``
environment variables (nested keys with ``__``, e.g. ``DATELINE_ANSWER__LLM``), then
values passed by the caller (CLI flags). Secrets are never settings: the Discord token
and provider API keys are read from the environment by the code that needs them.
"""

from __future__ import annotations

import os
import tomllib
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


def _shipped_defaults() -> dict[str, Any]:
    with resources.files("config").joinpath("default.toml").open("rb") as handle:
        return tomllib.load(handle)


_SHIPPED = _shipped_defaults()


def _default(section: str | None, key: str) -> Any:
    """The shipped default of ``key`` in ``[section]`` (None: the top level)."""
    return (_SHIPPED[section] if section else _SHIPPED)[key]


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

    collection: str = Field(
        _default("index", "collection"), description="Chroma collection name prefix."
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        _default("index", "embedding_backend"),
        description="Embedding backend: sentence-transformers on PyTorch, or the model's ONNX "
        "export on onnxruntime (fp32, or dynamically quantized int8), which skips importing torch. "
        "int8 ingests about twice as fast but loses up to 0.11 on newsroom question types "
        "(README: 'The int8 model is an option'), so fp32 stays the default.",
    )
    query_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        _default("index", "query_backend"),
        description="Backend that encodes questions; 'auto' uses the ONNX fp32 export for a "
        "torch index (same vectors, no torch import, fast cold start), else the ingest backend.",
    )
    batch_size: int = Field(
        _default("index", "batch_size"),
        ge=1,
        description="Passages encoded per model call. On CPU, 4 encodes 15-25% faster than 16 "
        "and 25-40% faster than 64, with less memory: a small batch's activations stay in the "
        "processor's cache (bench/batch_size.py).",
    )
    max_tokens: int = Field(
        _default("index", "max_tokens"),
        ge=32,
        le=256,
        description="Upper bound of a passage in model tokens (window: 256).",
    )
    overlap_sentences: int = Field(
        _default("index", "overlap_sentences"),
        ge=0,
        description="Sentences shared by consecutive passages.",
    )
    candidates: int = Field(
        _default("index", "candidates"),
        ge=1,
        description="Passages taken from each ranker before fusion.",
    )
    dense_weight: float = Field(
        _default("index", "dense_weight"),
        ge=0,
        le=1,
        description="Weight of sentence similarity against normalized BM25.",
    )
    near_duplicate: float = Field(
        _default("index", "near_duplicate"),
        gt=0,
        le=1,
        description="Shingle Jaccard at which two articles count as copies.",
    )

    def question_backend(self) -> str:
        """The backend that encodes questions, with ``auto`` resolved: a torch index is
        queried through the ONNX export of the same model (the same vectors, cosine 1.000000
        on the eval set, without importing torch); other backends query with themselves."""
        if self.query_backend != "auto":
            return self.query_backend
        return "onnx" if self.embedding_backend == "torch" else self.embedding_backend


class AnswerSettings(BaseModel):
    """How answers are written."""

    k: int = Field(
        _default("answer", "k"), ge=1, le=50, description="Passages shown to the answer step."
    )
    llm: str | None = Field(
        None, description="Chat model spec for init_chat_model, e.g. 'openai:gpt-4o-mini'."
    )
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint (llama.cpp, vLLM, LM Studio)."
    )
    llm_timeout: float = Field(
        _default("answer", "llm_timeout"), gt=0, description="Seconds before the LLM falls back."
    )
    llm_temperature: float = Field(
        _default("answer", "llm_temperature"), ge=0, description="Sampling temperature for the LLM."
    )
    llm_max_tokens: int = Field(
        _default("answer", "llm_max_tokens"),
        ge=16,
        description="Most tokens an LLM reply may have (sent with every request).",
    )
    llm_threads: int = Field(
        _default("answer", "llm_threads"),
        ge=0,
        description="CPU threads of a llamacpp: model (0: every CPU available).",
    )
    llm_context: int = Field(
        _default("answer", "llm_context"),
        ge=512,
        description="Context window of a llamacpp: model, prompt plus reply.",
    )
    max_sentences: int = Field(
        _default("answer", "max_sentences"),
        ge=1,
        description="Sentences an extractive answer quotes.",
    )
    max_words: int = Field(
        _default("answer", "max_words"), ge=10, description="Words an extractive answer may use."
    )
    history_turns: int = Field(
        _default("answer", "history_turns"),
        ge=0,
        description="Earlier turns used to resolve follow-ups.",
    )
    max_question_chars: int = Field(
        _default("answer", "max_question_chars"), ge=10, description="Longest question accepted."
    )
    abstain_threshold: float = Field(
        _default("answer", "abstain_threshold"),
        ge=0,
        le=1,
        description="Answer only when (best-sentence cosine + question IDF coverage) / 2 "
        "reaches this; both parts are normalized, so it transfers across corpora. "
        "bench/generalization.py, fitting it on newsroom, realtimeqa-dev, squad-news and "
        "the training stories, gives 0.51 (squad-news's 3,046 refusals pull it up) and "
        "0.43-0.51 with each fold left out; 0.47 is kept: at 0.51 newsroom, the stories "
        "and squad-news's answered share all fall.",
    )
    abstain_unknown_words: int = Field(
        _default("answer", "abstain_unknown_words"),
        ge=0,
        description="Abstain when this many of the question's lower-case words appear in no "
        "indexed passage (what is asked about was never reported); 0: off. 1 lifts newsroom "
        "out-of-corpus abstention 0.625 -> 0.667 but costs squad-news 0.07 of answered rate.",
    )
    abstain_unknown_attribute: bool = Field(
        _default("answer", "abstain_unknown_attribute"),
        description="Abstain when the attribute a question asks about ('annual salary' in "
        "'What is X's annual salary?', 'manufacturer' in 'Which manufacturer built X?') has a "
        "word that appears in no indexed passage: the articles never report it.",
    )
    scorer: bool = Field(
        _default("answer", "scorer"),
        description="Rank the sentences of a lookup, latest, why or who-said answer with the "
        "learned answer scorer (logistic weights trained by training/answer_scorer) and "
        "abstain on its probability; false: the hand-weighted sentence score and the "
        "evidence rule alone.",
    )
    scorer_candidates: int = Field(
        _default("answer", "scorer_candidates"),
        ge=1,
        le=200,
        description="Best sentences by the hand-weighted score that the answer scorer "
        "re-ranks per question (the rest are not quoted): about the sentences of the 5 "
        "passages a lookup shows.",
    )
    reader_candidates: int = Field(
        _default("answer", "reader_candidates"),
        ge=0,
        le=200,
        description="Of the scorer's candidates, how many (best by the hand-weighted score "
        "first) the answer reader, a cross-encoder, reads; the others' reader measurement "
        "is 0. Each read costs about 5 ms on 2 cores: with 8 read, bench/latency.py gives a "
        "complete answer p50 87 ms, p95 106 ms (answer.reader_weight = 1; 21-23 / 29-31 ms "
        "without the reader). Retrain the scorer (make model) after changing it.",
    )
    reader_weight: float = Field(
        _default("answer", "reader_weight"),
        ge=0,
        le=10,
        description="Without the scorer: each of the best answer.reader_candidates sentences "
        "by the hand-weighted score has that score times (1 + this x the answer reader's "
        "probability), so the reader re-orders the best few and nothing else; 0 leaves the "
        "reader out (it then costs nothing). Measured by bench/generalization.py.",
    )
    scorer_threshold: float = Field(
        _default("answer", "scorer_threshold"),
        ge=0,
        le=1,
        description="With answer.scorer: abstain when no candidate sentence's answer "
        "probability reaches this. Fitted by bench/generalization.py with answer.scorer = "
        "true (folds by story, quiz week and article; every fold's own fit was 0.19).",
    )

    gate: bool = Field(
        _default("answer", "gate"),
        description="Decide whether to answer with the learned answer gate (logistic weights "
        "trained by training/answer_gate on the training stories): once the quotes are "
        "chosen, abstain when its probability that the answer is right is below "
        "answer.gate_threshold; the evidence rule and the age and company checks then only "
        "feed it. false: the evidence rule and those checks decide.",
    )
    gate_threshold: float = Field(
        _default("answer", "gate_threshold"),
        ge=0,
        le=1,
        description="With answer.gate: abstain below this probability that the answer is "
        "right. Fitted by bench/generalization.py with answer.gate = true (folds by story, "
        "quiz week and article).",
    )


class DiscordSettings(BaseModel):
    """The Discord adapter's behaviour; the token comes only from ``DISCORD_TOKEN``."""

    guilds: list[int] = Field(
        _default("discord", "guilds"), description="Guild ids allowed (empty: all)."
    )
    channels: list[int] = Field(
        _default("discord", "channels"),
        description="Channel ids where mentions are answered (empty: all).",
    )
    allow_dm: bool = Field(_default("discord", "allow_dm"), description="Answer direct messages.")
    sync_global: bool = Field(
        _default("discord", "sync_global"), description="Also sync slash commands globally."
    )
    rate_limit_per_minute: int = Field(
        _default("discord", "rate_limit_per_minute"),
        ge=1,
        description="Questions per user per minute.",
    )
    max_question_chars: int = Field(
        _default("discord", "max_question_chars"), ge=10, description="Longest question accepted."
    )
    admin_role: str | None = Field(
        _default("discord", "admin_role"), description="Role allowed to /ingest."
    )
    admin_user_ids: list[int] = Field(
        _default("discord", "admin_user_ids"), description="Users allowed to /ingest."
    )
    max_attachment_bytes: int = Field(
        _default("discord", "max_attachment_bytes"), ge=1, description="Largest /ingest attachment."
    )
    history_messages: int = Field(
        _default("discord", "history_messages"),
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
        _default("fetch", "allow_private_addresses"),
        description="Fetch URLs whose host is loopback, private, link-local or otherwise "
        "non-public (local setups and tests only: it opens the bot's network to feed URLs).",
    )
    timeout: float = Field(
        _default("fetch", "timeout"), gt=0, description="Seconds to connect, or between two reads."
    )
    total_timeout: float = Field(
        _default("fetch", "total_timeout"), gt=0, description="Seconds one response may take."
    )
    max_bytes: int = Field(
        _default("fetch", "max_bytes"), ge=1024, description="Largest response read."
    )
    max_redirects: int = Field(
        _default("fetch", "max_redirects"), ge=0, description="Redirects followed per request."
    )
    per_host: int = Field(
        _default("fetch", "per_host"), ge=1, description="Parallel requests to one host."
    )
    user_agent: str = Field(
        _default("fetch", "user_agent"),
        description="User-Agent sent with every request (robots.txt rules match it).",
    )


class FeedSettings(BaseModel):
    """Feeds followed by `dateline watch` and the Discord bot's poller."""

    urls: list[str] = Field(
        _default("feeds", "urls"), description="Feeds followed besides those in <home>/feeds.json."
    )
    every: str = Field(
        _default("feeds", "every"), description="Default polling interval (90s, 15m, 1h)."
    )
    jitter: float = Field(
        _default("feeds", "jitter"), ge=0, le=0.5, description="Random spread of each interval."
    )
    max_backoff: str = Field(
        _default("feeds", "max_backoff"), description="Longest wait after repeated errors."
    )
    workers: int = Field(
        _default("feeds", "workers"),
        ge=1,
        le=32,
        description="Feeds and pages fetched in parallel.",
    )


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
        _default(None, "chroma_timeout"),
        gt=0,
        description="Seconds to wait for the Chroma server's answer (connecting: at most 3).",
    )
    log_level: str = Field(_default(None, "log_level"), description="Logging level.")
    feedback_log: str = Field(
        _default(None, "feedback_log"),
        description="Log of 👍/👎 votes on chat answers, relative to home.",
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
        """``[discord] feedback_log``, its old place, still counts unless the new key is set
        (to anything but its shipped default, which every load brings in)."""
        if isinstance(data, dict) and isinstance(data.get("discord"), dict):
            discord = dict(data["discord"])
            if "feedback_log" in discord:
                old = discord.pop("feedback_log")
                data = {**data, "discord": discord}
                if data.get("feedback_log", _SHIPPED["feedback_log"]) == _SHIPPED["feedback_log"]:
                    data["feedback_log"] = old
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
