"""Run settings from `run.yaml`: what changes speed or cost, never an output.

Kept apart from `params.yaml` so that DVC never reruns a stage for them. The file is optional,
and it states only what differs from the defaults, which live in the dataclasses below and
nowhere else (`msm params --show` prints them all). Read through `pipeline.config.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llm.pricing import Price
from llm.settings import LLMSettings
from pipeline.config.load import load_file
from pipeline.execution.settings import ExecutorSettings


@dataclass(frozen=True)
class TrainingSettings:
    """How the training stages run (`run.yaml` `training:`): speed and memory, not the recipe."""

    attention: Literal["auto", "flex_attention", "sdpa"] = "auto"
    """train_msm: auto (flex_attention on a GPU, sdpa on the CPU); both keep attention inside each
    packed document (`training/attention.py`). train_aft: auto is sdpa (`training/sft.py`)."""
    compile: Literal["auto", "always", "never"] = "auto"
    """torch.compile each decoder layer: auto (on a GPU), always or never."""
    liger: Literal["auto", "always", "never"] = "auto"
    """Liger's fused linear cross-entropy (never materializes the logits) in train_msm, Liger's
    RMSNorm, RoPE and SwiGLU kernels in train_aft (trl fuses its LM head itself): auto (on a GPU
    when liger-kernel is installed), always or never."""
    padding_free: Literal["auto", "always", "never"] = "auto"
    """`train_aft` (trl SFT): a batch's chats end to end in one row, positions restarting per
    chat, no padding and no attention across chats (the same batch and loss as padded): auto
    (on a GPU, when every chat fits train_aft.max_length), always or never."""
    gradient_checkpointing: bool = False
    """Recompute each decoder layer's activations in the backward pass (less memory, ~30% more
    compute)."""
    parallel: Literal["ddp", "fsdp"] = "ddp"
    """With several processes (`torchrun`, `accelerate launch`): ddp (replicated weights) or
    fsdp (FSDP2: parameters, gradients and optimizer state sharded per decoder layer)."""
    checkpoint_every: int = 50
    """Optimizer steps between resumable checkpoints (in the stage's work folder); 0: none."""
    threads: int = 0
    """CPU threads for torch (0: the process's budget, OMP_NUM_THREADS or its CPUs; see
    `pipeline/threads.py`)."""

    def __post_init__(self) -> None:
        if self.checkpoint_every < 0 or self.threads < 0:
            raise ValueError("`checkpoint_every` and `threads` must be 0 or more")


@dataclass(frozen=True)
class EvalSettings:
    """How `msm evaluate` scores (`run.yaml` `evaluate:`): where, not what."""

    device: str = "auto"
    """Where the log-probability evals (value_generalization's logprob mode, spec_knowledge,
    heldout_loss) run their models: auto (the first GPU when torch sees one, else the CPU),
    cpu, cuda or cuda:N. The precision is params.yaml `model.dtype`, whatever the device.
    Sampling (generate mode, agentic_misalignment) picks its device with `llm.hf_device`."""

    def __post_init__(self) -> None:
        d = self.device
        if not (d in ("auto", "cpu", "cuda") or (d.startswith("cuda:") and d[5:].isdigit())):
            raise ValueError(f"`device` must be auto, cpu, cuda or cuda:N, got {d!r}")


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
    training: TrainingSettings = field(default_factory=TrainingSettings)
    """How the training stages run."""
    evaluate: EvalSettings = field(default_factory=EvalSettings)
    """How `msm evaluate` scores."""

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
