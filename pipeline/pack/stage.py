"""`msm pack`: tokenize documents (`model.tokenizer`, default the base model's) and pack them.

Packing policy (`pipeline.pack.packing`): best-fit decreasing packs whole documents; then the
loosest of those sequences are reopened and their documents re-packed densely, a document being
split into a continuation piece only to fill a room of at least `min_piece` tokens and never into
a piece shorter than that, until the padding is at most `max_padding` of the packed tokens (1% by
default) or, where no packing can reach that, down to the floor: the fewest sequences that hold
the tokens, ceil(tokens / seq_len). Documents longer than seq_len are cut into seq_len pieces.
Nothing is dropped or truncated; the manifest records the settings (`packing`) and counts, per
split, the documents split (`continued_documents`) and their continuation pieces.

Shard folder (`corpora/<spec>/shards/`):
- `{split}_tokens.npy`: [sequences, seq_len] token ids (uint16 when the vocabulary fits), padded;
- `{split}_segments.npy`: [segments, 5] int64 (sequence, start, length, doc, offset);
- `{split}_docs.json`: document ids, indexed by the segments' `doc` column;
- `manifest.json`, written last: tokenizer name and hash, vocab size, seq_len, the packing
  policy's settings, counts, padding fraction and the sha256 of every file. `msm verify` checks
  all of it.
Each document is followed by the EOS token (also the padding id); a segment at `offset > 0`
continues its document from another sequence. The split into train and validation is by
document.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from pipeline.config.params import PackParams, load_params, to_dict
from pipeline.io import MANIFEST, atomic_dir, file_checksums, write_json
from pipeline.pack.packing import effective_min_piece, layout
from pipeline.record import read_documents
from pipeline.tokenizer import load_tokenizer

log = logging.getLogger(__name__)
SPLITS = ("train", "val")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--tokenizer", type=Path, required=True, help="folder with tokenizer.json")
    p.add_argument("--input", type=Path, required=True, help="folder with documents.parquet")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True, help="stats JSON (DVC metrics)")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    manifest = pack(
        args.input / "documents.parquet",
        args.tokenizer,
        args.out,
        params.pack,
        params.seed,
        params.model.name,
        params.model.tokenizer,
    )
    write_json(args.stats, manifest["splits"])


def split_of(doc_id: str, seed: int, val_fraction: float) -> str:
    h = int.from_bytes(hashlib.sha256(f"{seed}|{doc_id}".encode()).digest()[:8], "big")
    return "val" if h / 2**64 < val_fraction else "train"


def packing_policy(pp: PackParams) -> dict:
    """The packing settings: `pack.min_piece` and `pack.max_padding` where params has them."""
    return {
        "min_piece": effective_min_piece(pp.seq_len, pp.min_piece),
        "max_padding": pp.max_padding,
    }


def pack(
    src: Path,
    tokenizer: Path,
    out: Path,
    pp: PackParams,
    seed: int,
    model: str,
    tokenizer_choice: str = "",
) -> dict:
    policy = packing_policy(pp)
    table = read_documents(src)
    ids = table.column("id").to_pylist()
    texts = table.column("text").to_pylist()
    loaded = load_tokenizer(tokenizer, tokenizer_choice)
    tok, eos_id, tok_hash = loaded.tokenizer, loaded.eos_id, loaded.sha256
    encoded = tok.encode_batch_fast(texts, add_special_tokens=False) if texts else []
    tokens = [np.array([*e.ids, eos_id], dtype=np.int64) for e in encoded]
    manifest: dict = {
        "tokenizer": {
            "name": tokenizer_choice or model,
            "sha256": tok_hash,
            "vocab_size": tok.get_vocab_size(),
            "eos_id": eos_id,
        },
        "seq_len": pp.seq_len,
        "packing": policy,
        "params": to_dict(pp),
        "seed": seed,
        "splits": {},
    }
    with atomic_dir(out) as tmp:
        for split in SPLITS:
            members = [
                i for i in range(len(ids)) if split_of(ids[i], seed, pp.val_fraction) == split
            ]
            data, seg = layout([tokens[i] for i in members], pp.seq_len, eos_id, seed, **policy)
            np.save(tmp / f"{split}_tokens.npy", data)
            np.save(tmp / f"{split}_segments.npy", seg)
            (tmp / f"{split}_docs.json").write_text(json.dumps([ids[i] for i in members]) + "\n")
            real = int(seg[:, 2].sum()) if len(seg) else 0
            continued = seg[seg[:, 4] > 0, 3]
            manifest["splits"][split] = {
                "documents": len(members),
                "tokens": real,
                "sequences": int(data.shape[0]),
                "continued_documents": len(np.unique(continued)),
                "continuation_pieces": len(continued),
                "padding_fraction": round(1 - real / data.size, 6) if data.size else 0.0,
                "dtype": str(data.dtype),
            }
        manifest["files"] = file_checksums(tmp)
        write_json(tmp / MANIFEST, manifest)
    log.info("pack: %s", manifest["splits"])
    return manifest
