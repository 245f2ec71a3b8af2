"""Model FLOPs per token and MFU, with the convention stated.

N is the number of weights that take part in matrix products per token: every linear layer of
the decoder plus the output projection (the input embedding is a lookup, not a product; a tied
output projection counts once). Per trained token:

- full fine-tuning: 6N (forward 2N, input gradients 2N, weight gradients 2N);
- LoRA: 4N (forward 2N and input gradients 2N through the frozen weights; the adapters' own
  FLOPs, under 1% at r=64, are not counted);
- attention, added to both: the QK^T and AV products over each token's own document only (the
  mask is block-causal), 4 x layers x query width x context per token forward, times 3 for
  forward plus backward.

MFU = achieved model FLOP/s / the device's peak dense bf16 FLOP/s (the datasheet figure, so MFU
can be compared across reports; the matrix rate measured on random data is about 78% of it).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12}


def matmul_params(model: nn.Module) -> int:
    """N: weights of the linear layers (LoRA adapters excluded), the output projection included."""
    seen: set[int] = set()
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and "lora_" not in name:
            w = module.weight
            if id(w) not in seen:
                seen.add(id(w))
                total += w.numel()
    return total


def attention_context(segment_lengths: np.ndarray) -> int:
    """Sum over tokens of the keys each attends to, for causal attention within documents."""
    n = segment_lengths.astype(np.int64)
    return int((n * (n + 1) // 2).sum())


def step_flops(
    n_params: int, tokens: int, context: int, layers: int, q_width: int, full: bool
) -> float:
    """Model FLOPs of one optimizer step: `tokens` real tokens, `context` as above."""
    dense = (6 if full else 4) * n_params * tokens
    attention = 3 * 4 * layers * q_width * context
    return float(dense + attention)


def peak_flops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)
