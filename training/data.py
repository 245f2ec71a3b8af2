"""A PyTorch Dataset over packed shards (see `pipeline.pack.stage` for the format).

Each item has `input_ids`, `labels` and `position_ids`, and no attention mask on purpose:
transformers keeps attention inside each document only when it sees reset `position_ids` and no
attention mask (with `use_cache=False`); a collator that adds an all-ones mask would silently let
packed documents attend to each other. Labels never cross a document boundary: the first token of
every segment and all padding are -100, so no position is trained to predict the next document.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from pipeline.io import MANIFEST

IGNORE = -100


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
        self.n = len(self.tokens) if limit is None else min(limit, len(self.tokens))
        if self.n == 0:
            raise ValueError(
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
