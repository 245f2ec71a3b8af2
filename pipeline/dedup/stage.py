"""`msm dedup`: exact duplicates (normalized text hash), then MinHash-LSH near duplicates.

One survivor per cluster: the member with the smallest document id. Every removed document is
counted with its reason; `clusters.json` lists each cluster's members for inspection.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from pipeline.config import DedupParams, load_params, to_dict
from pipeline.dedup.minhash import exact_groups, link, sketch
from pipeline.io import MANIFEST, atomic_dir, write_json
from pipeline.record import partition, read_documents, write_documents

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--input", type=Path, required=True, help="folder with documents.parquet")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True, help="stats JSON (DVC metrics)")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    write_json(args.stats, dedup(args.input / "documents.parquet", args.out, params.dedup))


def dedup(src: Path, out: Path, dp: DedupParams) -> dict:
    table = read_documents(src)
    ids = table.column("id").to_pylist()
    texts = table.column("text").to_pylist()
    _check_unique(ids, src)
    order = sorted(range(len(ids)), key=ids.__getitem__)  # survivors: smallest id first

    reasons: dict[int, str] = {}
    sk = sketch([texts[i] for i in order], dp.ngram, dp.bands, dp.rows, dp.shifted_bands)
    first = exact_groups(sk.text_keys)  # positions in `order`, so the smallest id survives
    for pos in np.flatnonzero(first != np.arange(len(order))).tolist():
        reasons[order[pos]] = "exact_duplicate"
    kept_pos = np.flatnonzero(first == np.arange(len(order)))
    kept = [order[p] for p in kept_pos.tolist()]
    groups = link([texts[i] for i in kept], sk.band_keys[kept_pos], dp.ngram, dp.threshold)
    report = []
    for group in groups:
        members = sorted((kept[g] for g in group), key=ids.__getitem__)
        for m in members[1:]:
            reasons[m] = "near_duplicate"
        report.append(
            {
                "survivor": ids[members[0]],
                "members": [ids[m] for m in members],
                "size": len(members),
                "sample": texts[members[0]][:200],
            }
        )
    report.sort(key=lambda c: c["survivor"])
    kept_table, rejects = partition(table, reasons)
    stats = {
        "documents_in": len(ids),
        "documents_out": kept_table.num_rows,
        "dropped": {
            r: sum(1 for v in reasons.values() if v == r)
            for r in ("exact_duplicate", "near_duplicate")
        },
        "clusters": len(report),
        "largest_cluster": max((c["size"] for c in report), default=0),
    }
    with atomic_dir(out) as tmp:
        write_documents(kept_table, tmp / "documents.parquet")
        write_documents(rejects, tmp / "rejects.parquet")
        write_json(tmp / "clusters.json", report)
        write_json(tmp / MANIFEST, {"params": to_dict(dp), **stats})
    log.info("dedup: %d -> %d documents (%s)", len(ids), kept_table.num_rows, stats["dropped"])
    return stats


def _check_unique(ids: list[str], src: Path) -> None:
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise SystemExit(
            f"{src}: duplicated document id {dup!r}; ids must be unique, "
            "rerun the stage that wrote this file"
        )
