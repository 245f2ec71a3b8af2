"""`msm verify SHARDS`: check a shard folder's checksums and structure; non-zero exit on a fault."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pipeline.io import MANIFEST, sha256_file
from pipeline.pack.stage import SPLITS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shards", type=Path, help="shard folder, e.g. corpora/rules/shards")


def run(args: argparse.Namespace) -> None:
    faults = verify(args.shards)
    for f in faults:
        print(f"FAULT {f}")
    if faults:
        raise SystemExit(
            f"{args.shards}: {len(faults)} fault(s); rebuild with `dvc repro` or `dvc pull`"
        )
    print(f"{args.shards}: OK")


def verify(folder: Path) -> list[str]:
    mpath = folder / MANIFEST
    if not mpath.is_file():
        return [f"{mpath}: missing (the pack stage did not complete)"]
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        files, seq_len, splits = manifest["files"], manifest["seq_len"], manifest["splits"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        return [f"{mpath}: unreadable manifest ({err})"]
    faults = []
    for name, digest in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            faults.append(f"{path}: missing")
        elif sha256_file(path) != digest:
            faults.append(f"{path}: sha256 mismatch")
    if faults:
        return faults
    for split in SPLITS:
        if split not in splits:
            faults.append(f"{mpath}: no entry for split {split!r}")
            continue
        faults += _check_split(folder, split, seq_len, splits[split])
    return faults


def _check_split(folder: Path, split: str, seq_len: int, info: dict) -> list[str]:
    data = np.load(folder / f"{split}_tokens.npy", mmap_mode="r")
    seg = np.load(folder / f"{split}_segments.npy")
    docs = json.loads((folder / f"{split}_docs.json").read_text())
    out = []
    if data.ndim != 2 or data.shape[1] != seq_len:
        out.append(f"{split}_tokens.npy: shape {data.shape}, expected [*, {seq_len}]")
    if data.shape[0] != info["sequences"] or int(seg[:, 2].sum()) != info["tokens"]:
        out.append(f"{split}: counts differ from the manifest")
    if len(seg) and (seg[:, 3].max() >= len(docs) or seg[:, 0].max() >= data.shape[0]):
        out.append(f"{split}_segments.npy: index out of range")
    if len(seg) and (seg[:, 1] + seg[:, 2] > seq_len).any():
        out.append(f"{split}_segments.npy: a segment runs past seq_len")
    order = np.lexsort((seg[:, 1], seg[:, 0])) if len(seg) else []
    prev_seq, prev_end = -1, 0
    for s, start, n, *_ in seg[order] if len(seg) else []:
        if s == prev_seq and start < prev_end:
            out.append(f"{split}_segments.npy: overlapping segments in sequence {s}")
            break
        prev_seq, prev_end = s, start + n
    return out
