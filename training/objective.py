"""The MSM objective as one module: summed next-token loss of a packed batch.

`PackedLM` runs the decoder and then the loss on its last hidden states, so that the loss can be
fused with the output projection: with Liger's fused linear cross-entropy the [tokens, vocab]
logits are never materialized (a 4,096-token row of a 152k-vocabulary model would otherwise hold
2.5 GB of fp32 logits and their gradient). It is one `nn.Module` so that DDP and FSDP wrap the
whole forward (their gradient hooks are armed by the wrapper's `forward`).

The loss is a sum over targets, not a mean: the training loop divides by the number of targets
in the whole optimizer step (all micro-batches and devices), so every target token weighs the
same whatever the packing, the accumulation or the GPU count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.data import IGNORE


def fused_loss_available() -> bool:
    try:
        import liger_kernel.transformers  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


class PackedLM(nn.Module):
    """Wraps a causal LM (plain or PEFT) and returns the summed loss of a packed batch."""

    def __init__(self, model: nn.Module, fused_loss: bool = False, compute_dtype=None):
        super().__init__()
        self.model = model
        lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        # kept out of the module tree: they are already registered under `self.model`
        object.__setattr__(self, "_lm", lm)
        self.fused_loss = fused_loss
        self.compute_dtype = compute_dtype
        if fused_loss:
            from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

            self._fused = LigerFusedLinearCrossEntropyLoss(ignore_index=IGNORE, reduction="sum")

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        labels: torch.Tensor,
        attention_mask=None,
    ) -> torch.Tensor:
        out = self._lm.get_decoder()(
            input_ids=input_ids,
            position_ids=position_ids,
            attention_mask=attention_mask,
            use_cache=False,
        )
        hidden = out.last_hidden_state[:, :-1].reshape(-1, out.last_hidden_state.shape[-1])
        target = labels[:, 1:].reshape(-1)
        weight = self._lm.get_output_embeddings().weight
        if self.fused_loss:
            dtype = self.compute_dtype or hidden.dtype
            return self._fused(weight.to(dtype), hidden.to(dtype), target)
        logits = F.linear(hidden, weight.to(hidden.dtype))
        return F.cross_entropy(logits.float(), target, ignore_index=IGNORE, reduction="sum")
