"""rensa's MinHash-LSH dedup as a user runs it: a script from a documents file to the kept ones.

    python bench/rensa_dedup.py IN.parquet OUT_DIR [--recipe lsh|stock]

The peer of `msm dedup` as a process in `dedup_throughput.py`: it reads the `text` column of a
Parquet file, finds near duplicates with rensa, and writes the kept rows (`documents.parquet`,
every column) and the clusters (`clusters.json`: lists of row indices), so that start-up, reading
and writing count for it as they do for `msm dedup`. It imports only the Python standard library,
NumPy, pyarrow and rensa (never pandas, nor this project), so its start-up is as small as a
script's can be.

- `lsh` (rensa's README recipe for MinHash + LSH): one `RMinHash(128)` per document over its word
  5-gram shingles (lower-cased `\\w+` words, the shingles `msm dedup` hashes), inserted into
  `RMinHashLSH(threshold 0.7, 128 permutations, 16 bands)`; every document is queried and a
  candidate is kept when rensa's estimated Jaccard reaches 0.7;
- `stock`: `RMinHashDeduplicator(threshold 0.7, 128 permutations, LSH)` over whitespace tokens,
  rensa's own one-call deduplicator.

Within a cluster the document of the smallest row is kept.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import rensa

NGRAM, THRESHOLD, PERMS, BANDS, SEED = 5, 0.7, 128, 16, 42
_WORD = re.compile(r"\w+")


def shingles(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    if len(words) <= NGRAM:
        return [" ".join(words)]
    return [" ".join(words[i : i + NGRAM]) for i in range(len(words) - NGRAM + 1)]


def lsh_pairs(texts: list[str]) -> list[tuple[int, int]]:
    lsh = rensa.RMinHashLSH(threshold=THRESHOLD, num_perm=PERMS, num_bands=BANDS)
    sketches = []
    for i, text in enumerate(texts):
        m = rensa.RMinHash(num_perm=PERMS, seed=SEED)
        m.update(shingles(text))
        lsh.insert(i, m)
        sketches.append(m)
    return [
        (i, j)
        for i, m in enumerate(sketches)
        for j in lsh.query(m)
        if j > i and m.jaccard(sketches[j]) >= THRESHOLD
    ]


def stock_pairs(texts: list[str]) -> list[tuple[int, int]]:
    dedup = rensa.RMinHashDeduplicator(threshold=THRESHOLD, num_perm=PERMS, use_lsh=True)
    keep = dedup.add_pairs((str(i), t.split()) for i, t in enumerate(texts))
    dropped = [i for i, k in enumerate(keep) if not k]
    found = dedup.get_duplicate_sets([texts[i].split() for i in dropped])
    return [(int(m), i) for i, ms in zip(dropped, found, strict=True) for m in ms]


def clusters(pairs: list[tuple[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def find(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in sorted(parent):
        groups.setdefault(find(i), []).append(i)
    return [sorted({root, *members}) for root, members in sorted(groups.items())]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path, help="Parquet file with a text column")
    ap.add_argument("out", type=Path, help="folder for documents.parquet and clusters.json")
    ap.add_argument("--recipe", choices=("lsh", "stock"), default="lsh")
    args = ap.parse_args()
    table = pq.ParquetFile(args.input).read()  # pq.read_table would import pandas (~0.16 s)
    texts = table.column("text").to_pylist()
    groups = clusters((lsh_pairs if args.recipe == "lsh" else stock_pairs)(texts))
    dropped = {m for g in groups for m in g[1:]}
    keep = np.ones(len(texts), dtype=bool)
    keep[sorted(dropped)] = False
    # from its bit buffer: pa.array would import pandas (~0.16 s), which this script never needs
    bits = pa.py_buffer(np.packbits(keep, bitorder="little"))
    mask = pa.Array.from_buffers(pa.bool_(), len(keep), [None, bits])
    args.out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.filter(mask), args.out / "documents.parquet", compression="zstd")
    (args.out / "clusters.json").write_text(json.dumps(groups))


if __name__ == "__main__":
    main()
