"""Run settings from `run.yaml`: what changes speed or cost, never an output.

Kept apart from `params.yaml` so that DVC never reruns a stage for them. The file is optional,
and it states only what differs from the defaults, which live in the dataclasses below and
nowhere else (`msm params --show` prints them all). Read through `pipeline.config.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from llm.pricing import Price
from llm.settings import LLMSettings
from pipeline.config.load import load_file
from pipeline.execution.settings import ExecutorSettings


@dataclass(frozen=True)
class RunConfig:
    expected_output_tokens: int = 1500
    """Expected output tokens per generated document, for cost previews."""
    prices: dict[str, dict[str, Price]] = field(default_factory=dict)
    """USD per million tokens, by backend, then dated model id."""
    llm: LLMSettings = field(default_factory=LLMSettings)
    """How model calls reach their backend."""
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    """How the corpus steps (dedup, quality) run."""

    def __post_init__(self) -> None:
        if self.expected_output_tokens <= 0:
            raise ValueError("`expected_output_tokens` must be a positive integer")

    def price(self, backend: str, model: str) -> Price | None:
        return self.prices.get(backend, {}).get(model)


def load_run_config(path: str | Path = "run.yaml") -> RunConfig:
    path = Path(path)
    if not path.is_file():
        return RunConfig()
    return load_file(path, RunConfig)
