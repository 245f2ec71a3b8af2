"""Block-causal attention over packed rows: a token attends only to earlier tokens of its document.

A packed row holds several documents (and a padding tail); `position_ids` restart at 0 at each
document start (`training.data.PackedDataset`), so the document of every token is the running
count of restarts. From that we build the mask once per batch, outside the model, and pass it as
the 4-D `attention_mask`, which transformers hands to the attention kernel untouched:

- `flex_attention` (GPU): a `BlockMask`, so fully masked 128x128 tiles are skipped: rows of
  1,500-token documents in 4,096-token rows do about half the work of plain causal attention.
- `sdpa` (CPU and the fallback): a boolean [batch, 1, seq, seq] mask (True = may attend).

Relying on transformers' own detection of packed `position_ids` instead is fragile: it is skipped
as soon as a cache or a 2-D mask is present (configs that ship `use_cache=True`), and it differs
across versions. An explicit mask makes the guarantee ours, and a test checks it.
"""

from __future__ import annotations

import torch

IMPLEMENTATIONS = ("flex_attention", "sdpa")


def document_ids(position_ids: torch.Tensor) -> torch.Tensor:
    """[batch, seq] -> the index of each token's document within its row (0, 0, 1, 1, 1, 2...)."""
    restarts = torch.ones_like(position_ids, dtype=torch.int32)
    restarts[:, 1:] = (position_ids[:, 1:] != position_ids[:, :-1] + 1).to(torch.int32)
    return restarts.cumsum(-1) - 1


def block_causal_mask(position_ids: torch.Tensor, implementation: str):
    """The attention mask for `implementation` (see `IMPLEMENTATIONS`)."""
    docs = document_ids(position_ids)
    if implementation == "sdpa":
        seq = docs.shape[-1]
        causal = torch.ones(seq, seq, dtype=torch.bool, device=docs.device).tril()
        same = docs[:, :, None] == docs[:, None, :]
        return (same & causal)[:, None]
    if implementation == "flex_attention":
        from torch.nn.attention.flex_attention import create_block_mask

        def mask_mod(b, h, q, kv):
            return (docs[b, q] == docs[b, kv]) & (q >= kv)

        batch, seq = docs.shape
        return create_block_mask(mask_mod, batch, None, seq, seq, device=docs.device)
    raise ValueError(f"attention {implementation!r}: choose one of {', '.join(IMPLEMENTATIONS)}")
