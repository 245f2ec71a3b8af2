"""`msm dedup`: exact duplicates (normalized text hash), then MinHash-LSH near duplicates.

One survivor per cluster: the member with the smallest document id. Every removed document is
counted with its reason; `clusters.json` lists each cluster's members for inspection.

The work runs as datatrove steps (`pipeline.dedup.steps`: sketch per shard, then one cluster
task) on the executor of `run.yaml` `executor:` (local, Ray or Slurm), in a work folder keyed by
the input, params and code (`pipeline.execution.workdir`); this command then streams the input
into the outputs, manifest last. The outputs are the same bytes whatever the executor, the
number of tasks or workers.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from pipeline.config.params import DedupParams, load_params, to_dict
from pipeline.dedup.steps import REASONS, ClusterStep, SketchStep
from pipeline.deps import closure
from pipeline.errors import InputError
from pipeline.execution.parquet import check_documents, read_column, write_partition
from pipeline.execution.run import run_step
from pipeline.execution.settings import ExecutorSettings, load_executor
from pipeline.execution.workdir import work_dir
from pipeline.io import MANIFEST, atomic_dir, write_json, write_text

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--input", type=Path, required=True, help="folder with documents.parquet")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True, help="stats JSON (DVC metrics)")
    p.add_argument("--run-config", type=Path, default=Path("run.yaml"), help="executor settings")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    executor = load_executor(args.run_config)
    stats = dedup(args.input / "documents.parquet", args.out, params.dedup, executor)
    write_json(args.stats, stats)


def dedup(
    src: Path,
    out: Path,
    dp: DedupParams,
    executor: ExecutorSettings | None = None,
    work_root: Path | None = None,
) -> dict:
    executor = executor or ExecutorSettings()
    rows = check_documents(src)
    ids = read_column(src, "id")
    _check_unique(ids.to_pylist(), src)
    work = work_dir("dedup", [src], to_dict(dp), closure(__name__), work_root)
    tasks, documents = executor.tasks, str(src.resolve())  # tasks may run elsewhere
    sketches = work.step("sketch", tasks)
    run_step("dedup sketch", [SketchStep(documents, str(sketches), dp)], tasks, sketches, executor)
    clusters = work.step("cluster", 1)
    step = ClusterStep(documents, str(sketches), tasks, str(clusters), dp)
    run_step("dedup cluster", [step], 1, clusters, executor)

    decisions = np.load(clusters / "decisions.npy")
    report_text = (clusters / "clusters.json").read_text(encoding="utf-8")
    report = json.loads(report_text)
    reasons = [REASONS.get(d) for d in decisions.tolist()]
    stats = {
        "documents_in": rows,
        "documents_out": int((decisions == 0).sum()),
        "dropped": {r: int((decisions == code).sum()) for code, r in REASONS.items()},
        "clusters": len(report),
        "largest_cluster": max((c["size"] for c in report), default=0),
    }
    with atomic_dir(out) as tmp:
        write_partition(src, reasons, tmp / "documents.parquet", tmp / "rejects.parquet", rows)
        write_text(tmp / "clusters.json", report_text)
        write_json(tmp / MANIFEST, {"params": to_dict(dp), **stats})
    work.remove()
    log.info("dedup: %d -> %d documents (%s)", rows, stats["documents_out"], stats["dropped"])
    return stats


def _check_unique(ids: list[str], src: Path) -> None:
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise InputError(
            f"{src}: duplicated document id {dup!r}; ids must be unique, "
            "rerun the stage that wrote this file"
        )
