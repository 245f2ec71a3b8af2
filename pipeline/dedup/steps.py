"""The datatrove steps of `msm dedup`: sketch each shard, then cluster the whole corpus once.

1. `SketchStep` (one task per shard of rows): the 128-bit exact key and the MinHash band keys of
   every document of its rows (`pipeline.dedup.minhash.sketch`), saved as one uint64 array per
   task (`<folder>/sketch/<rank>.npy`; (2 + band keys) x 8 bytes a document, never the texts).
2. `ClusterStep` (one task): all shards' keys in row order, rows ordered by document id (so the
   smallest id of a group survives), exact groups, candidate pairs of the band keys, and their
   exact-Jaccard verification, which reads only the texts of documents in candidate pairs. It
   saves one decision per row (`decisions.npy`: 0 keep, 1 exact duplicate, 2 near duplicate) and
   the cluster report (`clusters.json`).

Keys depend on a document's text only and the cluster step sees every row in one fixed order, so
the results do not depend on how many tasks sketched the rows, or where they ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from pipeline.arrays import distinct
from pipeline.config.params import DedupParams
from pipeline.dedup.minhash import candidate_pairs, exact_groups, link_pairs, sketch
from pipeline.execution.arrow import to_numpy
from pipeline.execution.files import save_npy
from pipeline.execution.parquet import check_documents, read_column, read_rows, rows_of, take_column
from pipeline.io import write_text

KEEP, EXACT, NEAR = 0, 1, 2
REASONS = {EXACT: "exact_duplicate", NEAR: "near_duplicate"}


def key_width(dp: DedupParams) -> int:
    """uint64 values saved per document: two of the exact key, then the band keys."""
    shifted = dp.shifted_bands and dp.bands > 1 and dp.rows > 1
    return 2 + (2 * dp.bands - 1 if shifted else dp.bands)


class SketchStep(PipelineStep):
    """Exact and band keys of one task's rows."""

    name = "sketch"
    type = "msm dedup"

    def __init__(self, documents: str, folder: str, params: DedupParams) -> None:
        super().__init__()
        self.documents, self.folder, self.params = documents, folder, params

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        dp, src = self.params, Path(self.documents)
        start, stop = rows_of(check_documents(src), rank, world_size)
        parts = [np.zeros((0, key_width(dp)), dtype=np.uint64)]
        for table in read_rows(src, start, stop, ["text"]):
            texts = table.column("text").to_pylist()
            sk = sketch(texts, dp.ngram, dp.bands, dp.rows, dp.shifted_bands)
            parts.append(np.concatenate([sk.text_keys, sk.band_keys], axis=1))
            self.stat_update("documents", value=len(texts))
        save_npy(sketch_file(Path(self.folder), rank), np.concatenate(parts))
        if data:
            yield from data


def sketch_file(folder: Path, rank: int) -> Path:
    return folder / "sketch" / f"{rank:05d}.npy"


class ClusterStep(PipelineStep):
    """Exact and near-duplicate groups of the whole corpus (one task)."""

    name = "cluster"
    type = "msm dedup"

    def __init__(
        self, documents: str, sketches: str, parts: int, folder: str, params: DedupParams
    ) -> None:
        super().__init__()
        self.documents, self.sketches, self.parts = documents, sketches, parts
        self.folder, self.params = folder, params

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        if world_size != 1:
            raise ValueError(f"the dedup cluster step is one task, not {world_size}")
        import pyarrow.compute as pc  # ~25 ms of imports that only this task needs

        dp, src = self.params, Path(self.documents)
        keys = np.concatenate(
            [np.load(sketch_file(Path(self.sketches), r)) for r in range(self.parts)]
        )
        ids = read_column(src, "id")
        # survivors: the smallest id first (UTF-8 byte order is code point order, as Python's)
        order = to_numpy(pc.sort_indices(ids)).astype(np.int64)
        decisions = np.zeros(len(order), dtype=np.int8)
        first = exact_groups(keys[order, :2])  # positions in `order`
        positions = np.arange(len(order))
        decisions[order[first != positions]] = EXACT
        kept = order[first == positions]  # rows, in id order
        pairs = candidate_pairs(keys[kept, 2:])
        texts = take_column(src, kept[distinct(pairs)], "text")
        groups = link_pairs(
            pairs, lambda idx: [texts[kept[i]] for i in idx], dp.ngram, dp.threshold
        )
        report = []
        for group in groups:  # ascending positions in id order: the first one survives
            members = kept[group]
            decisions[members[1:]] = NEAR
            report.append(
                {
                    "survivor": ids[int(members[0])].as_py(),
                    "members": [ids[int(m)].as_py() for m in members],
                    "size": len(members),
                    "sample": texts[int(members[0])][:200],
                }
            )
        report.sort(key=lambda c: c["survivor"])
        self.stat_update("exact_duplicate", value=int((decisions == EXACT).sum()))
        self.stat_update("near_duplicate", value=int((decisions == NEAR).sum()))
        folder = Path(self.folder)
        save_npy(folder / "decisions.npy", decisions)
        write_text(folder / "clusters.json", cluster_lines(report))
        if data:
            yield from data


def cluster_lines(report: list[dict]) -> str:
    """The clusters as a JSON list with one cluster a line: readable, and written by json's C
    encoder (`indent=` runs its Python encoder, ~0.07 s per 800 clusters)."""
    lines = ",\n".join(json.dumps(c, ensure_ascii=False) for c in report)
    return f"[\n{lines}\n]\n" if report else "[]\n"
