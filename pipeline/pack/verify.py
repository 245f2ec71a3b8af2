"""`msm verify SHARDS`: check a shard folder's checksums and structure; non-zero exit on a fault."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from pipeline.errors import CheckFailed, InputError
from pipeline.io import MANIFEST, sha256_file
from pipeline.layout import corpus_paths, stage_writing
from pipeline.pack.stage import SPLITS

MANIFEST_KEYS = ("files", "seq_len", "splits")
SPLIT_KEYS = ("sequences", "tokens")


def _split_files(split: str) -> tuple[str, ...]:
    return (f"{split}_tokens.npy", f"{split}_segments.npy", f"{split}_docs.json")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shards", type=Path, help="shard folder, e.g. corpora/rules/shards")


def run(args: argparse.Namespace) -> None:
    faults = verify(args.shards)
    for f in faults:
        print(f"FAULT {f}")
    if faults:
        raise CheckFailed(
            f"{args.shards}: {len(faults)} fault(s); rebuild with `dvc repro` or `dvc pull`"
        )
    print(f"{args.shards}: OK")


def verify(folder: Path) -> list[str]:
    """The faults of a shard folder (empty: it verifies). A path that is not a shard folder at
    all (missing, a file, another stage's output) is an `InputError` naming what writes one."""
    manifest = _shard_manifest(folder)
    mpath = folder / MANIFEST
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        return [f"{mpath}: no {', '.join(f'`{k}`' for k in missing)} key; {_rebuild(folder)}"]
    files, seq_len, splits = (manifest[k] for k in MANIFEST_KEYS)
    if not (isinstance(files, dict) and isinstance(seq_len, int) and isinstance(splits, dict)):
        return [
            f"{mpath}: `files` and `splits` must be mappings and `seq_len` an integer; "
            + _rebuild(folder)
        ]
    faults = []
    for name, digest in sorted(files.items()):
        path = folder / name
        if not path.is_file():
            faults.append(f"{path}: missing")
        elif sha256_file(path) != digest:
            faults.append(f"{path}: sha256 mismatch")
    if faults:
        return faults
    eos_id = (manifest.get("tokenizer") or {}).get("eos_id")
    min_piece = (manifest.get("packing") or {}).get("min_piece")
    for split in SPLITS:
        if split not in splits:
            faults.append(f"{mpath}: no entry for split {split!r}")
            continue
        info = splits[split]
        absent = [k for k in SPLIT_KEYS if not isinstance(info, dict) or k not in info]
        absent += [n for n in _split_files(split) if not (folder / n).is_file()]
        if absent:
            faults.append(f"{mpath}: split {split!r} lacks {', '.join(absent)}; {_rebuild(folder)}")
            continue
        faults += _check_split(folder, split, seq_len, splits[split], eos_id, min_piece)
    return faults


def _shard_manifest(folder: Path) -> dict:
    """The folder's manifest, if the folder is a shard folder at all; else an InputError."""
    writer = stage_writing(folder)
    if not folder.exists():
        raise InputError(f"{folder}: no such folder; {_build(writer)}")
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; give a shard folder (`msm pack --out`)")
    mpath = folder / MANIFEST
    if not mpath.is_file():
        if writer is not None and not writer.startswith("pack@"):
            raise InputError(f"{folder}: not a shard folder: {_what(writer)}")
        raise InputError(
            f"{mpath}: missing; the pack stage writes it last, so {folder} is not a shard "
            f"folder or its pack run did not complete; {_build(writer)}"
        )
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{mpath}: not valid JSON ({err}); {_rebuild(folder)}") from None
    if not isinstance(manifest, dict) or not any(k in manifest for k in MANIFEST_KEYS):
        keys = ", ".join(MANIFEST_KEYS)
        what = f"its {MANIFEST} has none of the shard keys ({keys})"
        if writer and not writer.startswith("pack@"):
            what = _what(writer)
        raise InputError(f"{folder}: not a shard folder: {what}")
    return manifest


def _what(writer: str) -> str:
    """What a folder written by another stage is, and where the shards of its spec are."""
    spec = writer.partition("@")[2]
    shards = f": {corpus_paths(spec)['pack'].out}" if spec else ""
    return f"it is the output of `{writer}` (dvc.yaml); shards are the output of pack{shards}"


def _build(writer: str | None) -> str:
    if writer is None:
        return "shard folders are written by `msm pack` (the `pack@<spec>` stages: `dvc repro`)"
    return f"`{writer}` writes it: run `dvc repro {writer}` (or `dvc pull {writer}`)"


def _rebuild(folder: Path) -> str:
    writer = stage_writing(folder)
    target = f" {writer}" if writer else ""
    return f"rebuild it with `dvc repro{target}` or `dvc pull{target}`"


def _check_split(
    folder: Path, split: str, seq_len: int, info: dict, eos_id: int | None, min_piece: int | None
) -> list[str]:
    tokens, segments, doc_ids = _split_files(split)
    data = np.load(folder / tokens, mmap_mode="r")
    seg = np.load(folder / segments)
    docs = json.loads((folder / doc_ids).read_text())
    out = []
    if data.ndim != 2 or data.shape[1] != seq_len:
        return [f"{split}_tokens.npy: shape {data.shape}, expected [*, {seq_len}]"]
    if seg.ndim != 2 or seg.shape[1] != 5:
        return [f"{split}_segments.npy: shape {seg.shape}, expected [*, 5]"]
    if data.shape[0] != info["sequences"] or int(seg[:, 2].sum()) != info["tokens"]:
        out.append(f"{split}: counts differ from the manifest")
    if not len(seg):
        if data.shape[0] or docs:
            out.append(f"{split}_segments.npy: empty, but there are sequences or documents")
        return out
    if (seg[:, 2] < 1).any() or (seg[:, [0, 1, 3, 4]] < 0).any():
        out.append(f"{split}_segments.npy: a negative index or an empty segment")
    if seg[:, 3].max() >= len(docs) or seg[:, 0].max() >= data.shape[0]:
        out.append(f"{split}_segments.npy: index out of range")
    if (seg[:, 1] + seg[:, 2] > seq_len).any():
        out.append(f"{split}_segments.npy: a segment runs past seq_len")
    if out:
        return out
    return _check_sequences(split, seg, data.shape[0]) + _check_documents(
        split, seg, data, len(docs), info, eos_id, min_piece
    )


def _check_sequences(split: str, seg: np.ndarray, n_seq: int) -> list[str]:
    """Each sequence: segments back to back from position 0, then padding."""
    s = seg[np.lexsort((seg[:, 1], seg[:, 0]))]
    first = np.r_[True, s[1:, 0] != s[:-1, 0]]
    expected = np.where(first, 0, np.r_[0, s[:-1, 1] + s[:-1, 2]])
    out = []
    if (s[:, 1] < expected).any():
        bad = int(s[np.argmax(s[:, 1] < expected), 0])
        out.append(f"{split}_segments.npy: overlapping segments in sequence {bad}")
    elif (s[:, 1] > expected).any():
        bad = int(s[np.argmax(s[:, 1] > expected), 0])
        out.append(f"{split}_segments.npy: a gap before a segment in sequence {bad}")
    if len(np.unique(s[:, 0])) != n_seq:
        out.append(f"{split}_segments.npy: a sequence holds no segment")
    return out


def _check_documents(
    split: str,
    seg: np.ndarray,
    data: np.ndarray,
    n_docs: int,
    info: dict,
    eos_id: int | None,
    min_piece: int | None,
) -> list[str]:
    """Each document: its pieces, in offset order, tile it from 0 and end in EOS."""
    s = seg[np.lexsort((seg[:, 4], seg[:, 3]))]
    doc, n, off = s[:, 3], s[:, 2], s[:, 4]
    first = np.r_[True, doc[1:] != doc[:-1]]
    last = np.r_[doc[1:] != doc[:-1], True]
    out = []
    if len(np.unique(doc)) != n_docs:
        out.append(f"{split}_segments.npy: a document has no segment")
    if (off != np.where(first, 0, np.r_[0, off[:-1] + n[:-1]])).any():
        out.append(f"{split}_segments.npy: a document's pieces leave a gap or overlap")
    ends = data[s[last, 0], s[last, 1] + s[last, 2] - 1]
    if eos_id is not None and (ends != eos_id).any():
        out.append(f"{split}: a document does not end in EOS")
    pieces = ~(first & last)  # segments of documents split into several
    if min_piece is not None and (n[pieces] < min_piece).any():
        out.append(f"{split}_segments.npy: a piece of a split document is under {min_piece} tokens")
    continued = doc[off > 0]
    if info.get("continued_documents", len(np.unique(continued))) != len(np.unique(continued)):
        out.append(f"{split}: continued_documents differs from the segments")
    if info.get("continuation_pieces", len(continued)) != len(continued):
        out.append(f"{split}: continuation_pieces differs from the segments")
    return out
