"""A generation request, canonical and content-addressed.

The key is the sha256 of the canonical JSON of everything that decides the response: backend,
dated model id, full prompt, sampling parameters, sample index and (for the offline composer) the
structured context it composes from. Two runs that would send the same request share one answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    backend: str
    model: str
    prompt: str
    temperature: float
    max_tokens: int
    sample_index: int
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Response:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Response:
        return cls(**data)
