"""A PyTorch Dataset over packed shards (format: `pipeline.pack.stage`) and its collator.

Each item has `input_ids`, `labels` and `position_ids`, and no attention mask on purpose:
transformers keeps attention inside each document only when it sees reset `position_ids` and no
attention mask (with `use_cache=False`); a collator that adds an all-ones mask would silently let
packed documents attend to each other. Labels never cross a document boundary: the first token of
every segment and all padding are -100, so no position is trained to predict the next document.
A continuation piece (a segment at offset > 0) is a segment like any other: positions restart at 0
and its first token is not a target, since what precedes it sits in another sequence.

`PackedCollator` stacks items into a batch and never adds a mask. With `flash_attn_kwargs=True`
it also returns `cu_seq_lens_q`, `cu_seq_lens_k`, `max_length_q` and `max_length_k` (the varlen
keywords of transformers' flash-attention path), computed from the `position_ids` resets over the
flattened batch: flash attention infers segments from `position_ids` only for a batch of one row,
so with more rows these keywords are what keeps attention inside each document.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.errors import InputError
from pipeline.io import MANIFEST

IGNORE = -100


class DataError(InputError):
    """Shards that cannot be trained on (for example zero sequences); the message says why."""


KEYS = ("input_ids", "labels", "position_ids")


class PackedDataset(Dataset):
    def __init__(self, shards: Path, split: str = "train", limit: int | None = None):
        manifest = shards / MANIFEST
        if not manifest.is_file():
            raise FileNotFoundError(f"{manifest}: missing; did you run `dvc repro pack@<spec>`?")
        self.seq_len = json.loads(manifest.read_text())["seq_len"]
        self.tokens = np.load(shards / f"{split}_tokens.npy", mmap_mode="r")
        seg = np.load(shards / f"{split}_segments.npy")
        # the pack stage writes segments grouped by sequence; one pass splits them per sequence
        seg = seg[np.argsort(seg[:, 0], kind="stable")]
        bounds = np.searchsorted(seg[:, 0], np.arange(len(self.tokens) + 1))
        self.segments = [seg[bounds[s] : bounds[s + 1]] for s in range(len(self.tokens))]
        # real (non-padding) tokens and next-token targets of every row, for loss normalization
        # over a whole optimizer step and for throughput figures
        self.row_tokens = np.bincount(seg[:, 0], weights=seg[:, 2], minlength=len(self.tokens))
        self.row_targets = np.bincount(
            seg[:, 0], weights=np.maximum(seg[:, 2] - 1, 0), minlength=len(self.tokens)
        )
        self.row_tokens = self.row_tokens.astype(np.int64)
        self.row_targets = self.row_targets.astype(np.int64)
        self.n = len(self.tokens) if limit is None else min(limit, len(self.tokens))
        if self.n == 0:
            raise DataError(
                f"{shards}: split {split!r} holds zero sequences; training on nothing is an error. "
                "Generate more documents (params.yaml `generate`) or lower `pack.val_fraction`"
            )

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ids = torch.from_numpy(self.tokens[i].astype(np.int64))
        labels = torch.full_like(ids, IGNORE)
        pos = torch.arange(self.seq_len)  # the padding tail counts as one more sequence
        used = 0
        for _, start, n, _, _ in self.segments[i]:
            labels[start + 1 : start + n] = ids[start + 1 : start + n]
            pos[start : start + n] = torch.arange(n)
            used = max(used, start + n)
        pos[used:] = torch.arange(self.seq_len - used)
        return {"input_ids": ids, "labels": labels, "position_ids": pos}


def varlen_kwargs(position_ids: torch.Tensor) -> dict:
    """Flash-attention varlen keywords for a [batch, seq_len] `position_ids`, rows flattened.

    A segment starts at every row start and wherever the position does not follow the previous
    one (a reset); the padding tail of a row counts as one more segment (no target is there).
    """
    flat = position_ids.reshape(-1)
    starts = torch.ones_like(flat, dtype=torch.bool)
    starts[1:] = flat[1:] != flat[:-1] + 1
    starts[:: position_ids.shape[-1]] = True
    cu = torch.cat([starts.nonzero().view(-1), torch.tensor([flat.numel()])]).to(torch.int32)
    longest = int(cu.diff().max()) if flat.numel() else 0
    return {
        "cu_seq_lens_q": cu,
        "cu_seq_lens_k": cu,
        "max_length_q": longest,
        "max_length_k": longest,
    }


class PackedCollator:
    """Stack `PackedDataset` items; never adds an attention mask (see the module docstring).

    `flash_attn_kwargs=True` adds the varlen keywords (`varlen_kwargs`), for a model loaded with
    a flash-attention implementation; other attention implementations ignore them.
    """

    def __init__(self, flash_attn_kwargs: bool = False):
        self.flash_attn_kwargs = flash_attn_kwargs

    def __call__(self, items: list[dict[str, torch.Tensor]]) -> dict:
        if not items:
            raise ValueError("PackedCollator: an empty batch")
        if any("attention_mask" in item for item in items):
            raise ValueError(
                "PackedCollator: items carry an attention_mask, which would let packed documents "
                "attend to each other; packed items rely on position_ids alone"
            )
        batch: dict = {k: torch.stack([item[k] for item in items]) for k in KEYS}
        if self.flash_attn_kwargs:
            batch.update(varlen_kwargs(batch["position_ids"]))
        return batch
