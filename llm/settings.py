"""How the LLM layer reaches its backends (`run.yaml` `llm:`): how fast and how, never what.

Concurrency, timeouts, our retry policy, which purposes go through a provider's batch API, and
where the servers are. None of these enter a request's cache key, so changing them reruns
nothing and changes no output. API keys never live here: they come from the environment
(`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`) and are never written anywhere. The defaults below are
the only ones; run.yaml states what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LLMSettings:
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
    batch_purposes: list[str] = field(default_factory=lambda: ["document", "revise"])
    """Request purposes sent through the Anthropic Message Batches API (half price, results
    within 24 h); the others use the Messages API. `msm generate --pilot` never batches."""
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
        for name in ("concurrency", "batch_max_requests", "hf_batch_size", "vllm_chunk"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)}")
        if self.max_retries < 0:
            raise ValueError(f"`max_retries` must be >= 0, got {self.max_retries}")
        for name in ("timeout_s", "connect_timeout_s", "backoff_s", "backoff_max_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")
        if self.drain_s < 0:
            raise ValueError(f"`drain_s` must be >= 0, got {self.drain_s}")
