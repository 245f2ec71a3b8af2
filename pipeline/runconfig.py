"""Run settings from `run.yaml`: what changes speed or cost, never an output.

Kept apart from `params.yaml` so that DVC never reruns a stage for them. The file is optional;
without it the defaults below apply (no prices: previews then cost only the offline backend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import ConfigError, build_section
from pipeline.execution.settings import ExecutorSettings, parse_executor
from pipeline.generate.settings import GenerationSettings, parse_settings


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    batch_discount: float = 0.0
    """Fraction saved by the provider's batch API (0.5 for Anthropic Message Batches)."""


@dataclass(frozen=True)
class TrainingSettings:
    """How the training stages run (`run.yaml` `training:`): speed and memory, not the recipe."""

    attention: str = "auto"
    """auto (flex_attention on a GPU, sdpa on the CPU), flex_attention or sdpa; both keep
    attention inside each packed document (`training/attention.py`)."""
    compile: str = "auto"
    """torch.compile each decoder layer: auto (on a GPU), always or never."""
    liger: str = "auto"
    """Liger's fused linear cross-entropy (never materializes the logits): auto (on a GPU when
    liger-kernel is installed), always or never."""
    gradient_checkpointing: bool = False
    """Recompute each decoder layer's activations in the backward pass (less memory, ~30% more
    compute)."""
    parallel: str = "ddp"
    """With several processes (`torchrun`, `accelerate launch`): ddp (replicated weights) or
    fsdp (FSDP2: parameters, gradients and optimizer state sharded per decoder layer)."""
    checkpoint_every: int = 50
    """Optimizer steps between resumable checkpoints (in the stage's work folder); 0: none."""
    threads: int = 0
    """CPU threads for torch (0: torch's default). Results on the CPU are bit-identical only
    for the same thread count."""

    def __post_init__(self) -> None:
        for key, allowed in (
            ("attention", ("auto", "flex_attention", "sdpa")),
            ("compile", ("auto", "always", "never")),
            ("liger", ("auto", "always", "never")),
            ("parallel", ("ddp", "fsdp")),
        ):
            if getattr(self, key) not in allowed:
                raise ConfigError(
                    f"run.yaml: `training.{key}: {getattr(self, key)}` is not one of "
                    f"{', '.join(allowed)}"
                )
        if self.checkpoint_every < 0 or self.threads < 0:
            raise ConfigError("run.yaml: `training.checkpoint_every` and `threads` must be >= 0")


@dataclass(frozen=True)
class RunConfig:
    expected_output_tokens: int = 1500
    prices: dict[str, dict[str, Price]] = field(default_factory=dict)
    """USD per million tokens, by backend, then dated model id."""
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    """How the corpus steps (dedup, quality) run."""
    training: TrainingSettings = field(default_factory=TrainingSettings)


_TOP = ("expected_output_tokens", "prices", "generation", "executor", "training")
_PRICE = ("input_per_mtok", "output_per_mtok", "batch_discount")


def load_run_config(path: str | Path = "run.yaml") -> RunConfig:
    path = Path(path)
    if not path.is_file():
        return RunConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with keys {', '.join(_TOP)}")
    for key in raw:
        if key not in _TOP:
            raise ConfigError(f"{path}: unknown key `{key}`; known keys: {', '.join(_TOP)}")
    expected = raw.get("expected_output_tokens", RunConfig.expected_output_tokens)
    if not isinstance(expected, int) or isinstance(expected, bool) or expected <= 0:
        raise ConfigError(f"{path}: `expected_output_tokens` must be a positive integer")
    prices: dict[str, dict[str, Price]] = {}
    for backend, models in _mapping(raw.get("prices", {}), "prices", path).items():
        for model, entry in _mapping(models, f"prices.{backend}", path).items():
            prices.setdefault(str(backend), {})[str(model)] = _price(
                entry, f"prices.{backend}.{model}", path
            )
    return RunConfig(
        expected,
        prices,
        parse_settings(raw.get("generation"), path),
        parse_executor(raw.get("executor"), path),
        build_section(TrainingSettings, raw.get("training") or {}, "training", path),
    )


def _mapping(value: Any, key: str, path: Path) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: `{key}` must be a mapping")
    return value


def _price(entry: Any, key: str, path: Path) -> Price:
    entry = _mapping(entry, key, path)
    for k, v in entry.items():
        if k not in _PRICE:
            raise ConfigError(f"{path}: unknown key `{key}.{k}`; known keys: {', '.join(_PRICE)}")
        if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
            raise ConfigError(f"{path}: `{key}.{k}` must be a non-negative number, got {v!r}")
    missing = [k for k in _PRICE[:2] if k not in entry]
    if missing:
        raise ConfigError(f"{path}: `{key}` is missing {', '.join(missing)}")
    if entry.get("batch_discount", 0) > 1:
        raise ConfigError(f"{path}: `{key}.batch_discount` is a fraction in [0, 1]")
    return Price(**{k: float(v) for k, v in entry.items()})
