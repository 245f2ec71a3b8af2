"""Real model shapes, random-initialized (no download), and a timer that waits for the GPU.

Throughput depends on a model's dimensions, not its weights, so the GPU benchmarks build the
architecture of a published model from its config numbers. Every bench script runs as
`python bench/<name>.py`, which puts this folder on `sys.path`: `from shapes import ...`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

SHAPES: dict[str, dict[str, Any]] = {
    # Qwen2.5-1.5B
    "qwen2.5-1.5b": dict(
        model_type="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
        num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
        tie_word_embeddings=True, max_position_embeddings=32768,
    ),
    # SmolLM2-135M (the default base model)
    "smollm2-135m": dict(
        model_type="llama", hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
        num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
        tie_word_embeddings=True, max_position_embeddings=8192,
    ),
    # Llama-3.1-8B layer dimensions with a 152k tied vocabulary
    "8b": dict(
        model_type="llama", hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, vocab_size=152064,
        tie_word_embeddings=True, max_position_embeddings=32768,
    ),
    "tiny": dict(
        model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, vocab_size=1024,
        tie_word_embeddings=True, max_position_embeddings=4096,
    ),
}  # fmt: skip


def shape_config(shape: str, **overrides: Any):
    """The transformers config of `shape`; `overrides` replace its numbers (vocab_size, ...)."""
    from transformers import AutoConfig

    cfg = {**SHAPES[shape], **overrides}
    return AutoConfig.for_model(cfg.pop("model_type"), **cfg)


def build_model(shape: str, dtype, device, attention: str = "sdpa", **overrides: Any):
    """`shape` random-initialized from seed 0, built directly on `device` in `dtype`."""
    import torch
    from transformers import AutoModelForCausalLM

    config = shape_config(shape, **overrides)
    torch.manual_seed(0)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation=attention)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """`fn()` and its wall seconds, the GPU's queued work included."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if cuda:
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def trl_tokens_per_s(
    trainer, warmup: int, steps: int, cuda: bool, count: Callable[[dict], int]
) -> float:
    """Train a trl/transformers `trainer` and return the tokens/s of its steps after `warmup`:
    `count(batch)` real tokens of each collated batch over the wall time of those `steps`
    (the GPU synchronized at every step end). Batch i is consumed by step i (no accumulation);
    the dataloader may prefetch one more, which is not counted."""
    import torch
    from transformers import TrainerCallback

    marks: list[float] = []
    counts: list[int] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):
            if cuda:
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

    inner = trainer.data_collator

    def counting(features):
        batch = inner(features)
        counts.append(count(batch))
        return batch

    trainer.data_collator = counting
    trainer.add_callback(Clock())
    trainer.train()
    return sum(counts[warmup : warmup + steps]) / (marks[-1] - marks[warmup - 1])
