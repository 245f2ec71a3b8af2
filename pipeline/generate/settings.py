"""Generation run settings (`run.yaml` `generation:`): how fast and how, never what.

Concurrency, timeouts, our retry policy, whether bulk levels go through a provider's batch API,
and where the servers are. None of these enter a request's cache key, so changing them reruns
nothing and changes no output. API keys never live here: they come from the environment
(`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`) and are never written anywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config import ConfigError

LEVELS = ("doc_types", "ideas", "document", "revise")


@dataclass(frozen=True)
class GenerationSettings:
    concurrency: int = 64
    """Requests in flight at once (Messages API, OpenAI-compatible servers)."""
    timeout_s: float = 600.0
    """Per-request read timeout; a timed-out request is retried."""
    connect_timeout_s: float = 10.0
    max_retries: int = 8
    """Our retries per request on 429, 529, 5xx, timeouts and broken responses (SDK retries are
    off, so this is the only retry layer)."""
    backoff_s: float = 1.0
    """First backoff; doubles per retry, with full jitter, capped at backoff_max_s. A server's
    `retry-after` header wins when it asks for longer."""
    backoff_max_s: float = 60.0
    batch_levels: list[str] = field(default_factory=lambda: ["document", "revise"])
    """Levels sent through the Anthropic Message Batches API (half price, results within 24 h);
    the others use the Messages API. `msm generate --pilot` never batches."""
    batch_poll_s: float = 30.0
    batch_max_requests: int = 10000
    prompt_cache_min_tokens: int = 1024
    """Mark the shared system prefix cacheable (Anthropic prompt caching) when it is estimated
    at this many tokens or more (the provider's minimum for the model: 1024 for Sonnet and
    Opus 4.1, more for some models)."""
    anthropic_base_url: str = ""
    """Empty: the SDK's default (or ANTHROPIC_BASE_URL)."""
    openai_base_url: str = ""
    """Empty: OPENAI_BASE_URL; required for the openai backend (e.g. http://host:8000/v1)."""
    drain_s: float = 30.0
    """On Ctrl-C or SIGTERM: how long to wait for the requests in flight, whose answers are
    committed to the cache, before abandoning the rest (a re-run buys those again). 0: none."""
    hf_batch_size: int = 8
    hf_device: str = "auto"
    vllm_chunk: int = 256

    def __post_init__(self) -> None:
        for name in ("concurrency", "max_retries", "batch_max_requests", "hf_batch_size"):
            value = getattr(self, name)
            if value <= 0 and not (name == "max_retries" and value == 0):
                raise ConfigError(f"`generation.{name}` must be a positive integer, got {value}")
        for name in ("timeout_s", "connect_timeout_s", "backoff_s", "backoff_max_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"`generation.{name}` must be > 0")
        if self.drain_s < 0:
            raise ConfigError(f"`generation.drain_s` must be >= 0, got {self.drain_s}")
        bad = [lvl for lvl in self.batch_levels if lvl not in LEVELS]
        if bad:
            raise ConfigError(
                f"`generation.batch_levels`: unknown level(s) {', '.join(bad)}; "
                f"known: {', '.join(LEVELS)}"
            )


def parse_settings(raw: Any, path: Path) -> GenerationSettings:
    if raw is None:
        return GenerationSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: `generation` must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(GenerationSettings)}
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(
                f"{path}: unknown key `generation.{key}`; known keys: {', '.join(fields)}"
            )
        default = getattr(_DEFAULTS, key)
        if not _same_kind(default, value):
            raise ConfigError(
                f"{path}: `generation.{key}` must be {_kind(default)}, got {value!r}; fix the value"
            )
        kwargs[key] = float(value) if isinstance(default, float) else value
    return GenerationSettings(**kwargs)


_DEFAULTS = GenerationSettings()


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return type(value) is type(default)


def _kind(default: Any) -> str:
    if isinstance(default, list):
        return "a list of strings"
    return {float: "a number", int: "an integer", str: "a string"}[type(default)]
