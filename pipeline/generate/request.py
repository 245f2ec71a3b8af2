"""A generation request, canonical and content-addressed, and what a backend answers.

The key is the sha256 of the canonical JSON of everything that decides the response: backend,
dated model id, system prompt (the shared, cacheable prefix), user prompt, sampling parameters,
seed, sample index, attempt and (for the offline composer) the structured context it composes
from. Two runs that would send the same request share one answer; a retry after an unusable
answer is a new request (`attempt + 1`), so both answers stay in the cache and a re-run replays
the same sequence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Request:
    backend: str
    model: str
    system: str
    """The prefix shared by every request of one section and level (instructions, spec overview,
    section text): backends that support prompt caching mark it cacheable."""
    prompt: str
    """The request's own part (the idea, the assertions, the list to top up)."""
    temperature: float
    max_tokens: int
    seed: int
    sample_index: int
    attempt: int = 0
    kind: str = "document"
    """Hierarchy level: doc_types, ideas, document or revise."""
    context: dict[str, Any] = field(default_factory=dict)
    """Structured inputs for the offline composer; empty for model backends."""

    @cached_property
    def key(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Response:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    stop_reason: str = "end_turn"
    """end_turn, max_tokens (truncated), refusal, ... as the provider reports it."""
    cost_usd: float = 0.0
    """What this answer cost when it was bought (batch discount and cache pricing applied)."""
    batch: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Response:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Failure:
    """A request the backend could not answer (retries exhausted, or an error that retrying cannot
    fix). Nothing was paid for it and nothing is cached; a re-run asks again."""

    reason: str
    """Short and stable, e.g. `http_529`, `timeout`, `invalid_request`, `batch_expired`."""
    detail: str = ""
