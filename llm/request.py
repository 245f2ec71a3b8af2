"""A model request, canonical and content-addressed, and what a backend answers.

A request is what any client (corpus generation, AFT data, judges, evals) asks of a model:
messages, optional tools, sampling settings, the backend and dated model id, and a free-form
`purpose` label ("document", "judge/honesty", ...) that routes it (batch API or not), groups its
usage in the stats and tells a model-free answerer what is asked. Its key is the sha256 of the
canonical JSON of every field, so two runs that would send the same request share one answer;
a retry after an unusable answer is a new request (`attempt + 1`), so both answers stay in the
cache and a re-run replays the same sequence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any, Literal


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Tool:
    """A function the model may call: name, what it does, and a JSON schema of its input."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for: the tool's name and its arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    max_tokens: int = 1024
    """Output-token cap."""
    seed: int = 0


@dataclass(frozen=True)
class Request:
    backend: str
    model: str
    messages: tuple[Message, ...]
    sampling: Sampling = Sampling()
    system: str = ""
    """The prefix shared by many requests (instructions, a spec section): backends that support
    prompt caching mark it cacheable."""
    tools: tuple[Tool, ...] = ()
    purpose: str = ""
    """Free-form label of what is asked; part of the key."""
    sample_index: int = 0
    """Which of several samples of the same prompt this is."""
    attempt: int = 0
    context: dict[str, Any] = field(default_factory=dict)
    """Structured inputs for a model-free answerer (the offline backend); never sent to a model.
    Part of the key, like everything else."""

    @cached_property
    def key(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def prompt(self) -> str:
        """The last user message: the request's own part."""
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")

    def chars(self) -> int:
        """Characters of everything sent (for worst-case cost and token estimates)."""
        tools = sum(len(json.dumps(asdict(t))) for t in self.tools)
        return len(self.system) + sum(len(m.content) for m in self.messages) + tools

    def chat(self) -> list[dict[str, str]]:
        """OpenAI-style chat messages: the system prefix (if any) first."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, *({"role": m.role, "content": m.content} for m in self.messages)]


def user(prompt: str) -> tuple[Message, ...]:
    """The messages of a single-turn request."""
    return (Message("user", prompt),)


@dataclass(frozen=True)
class Response:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    stop_reason: str = "end_turn"
    """end_turn, max_tokens (truncated), tool_use, refusal, ... as the provider reports it."""
    cost_usd: float = 0.0
    """What this answer cost when it was bought (batch discount and cache pricing applied)."""
    batch: bool = False
    tool_calls: tuple[ToolCall, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.tool_calls:
            del data["tool_calls"]  # cache lines of answers without tool calls stay as they were
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Response:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["tool_calls"] = tuple(ToolCall(**c) for c in data.get("tool_calls", ()))
        return cls(**kwargs)


@dataclass(frozen=True)
class Failure:
    """A request the backend could not answer (retries exhausted, or an error that retrying cannot
    fix). Nothing was paid for it and nothing is cached; a re-run asks again."""

    reason: str
    """Short and stable, e.g. `http_529`, `timeout`, `invalid_request`, `batch_expired`."""
    detail: str = ""
