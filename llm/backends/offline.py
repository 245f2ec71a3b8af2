"""The offline backend: answers from a deterministic, model-free `Answerer` its client supplies.

The answerer is what makes an offline run mean something (the corpus client's is the genre
composer in `pipeline.generate.composer`); this backend only gives it the interface every other
backend has. Each answer is drawn from a generator seeded by the request key, so the same
request always gets the same answer. The model id carries the answerer's version (a hash of its
code and data, `<model>@<version>`), as a local model's id carries its weights' hash: a changed
answerer never reuses old answers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Protocol

from llm.request import Request, Response


class Answerer(Protocol):
    version: str
    """Changes whenever the answers would (a hash of the answerer's code and data)."""

    def __call__(self, request: Request, rng: random.Random) -> str: ...


class OfflineBackend:
    name = "offline"
    paid = False

    def __init__(self, model: str, answerer: Answerer):
        self._model = model
        self._answerer = answerer

    def model_id(self) -> str:
        return f"{self._model}@{self._answerer.version}"

    def uses_batch(self, purpose: str) -> bool:
        return False

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response]]:
        for request in requests:
            rng = random.Random(int(request.key[:16], 16))
            yield request, Response(text=self._answerer(request, rng), stop_reason="end_turn")

    def close(self) -> None:
        pass
