"""Dedup then quality over a large synthetic corpus through the real stages: docs/s, peak memory.

    RAYON_NUM_THREADS=1 python bench/corpus_scale.py --n 1000000     # ~15 minutes, one core

1. Builds --n English-like documents of ~--words words into one record-schema
   `documents.parquet` (`labelled_corpus` with English stop words and the model's name as its
   most frequent words, in chunks of 100,000 with their own seeds, so 10% of each chunk are
   edited or exact copies of another document of the chunk), in a child process.
2. Runs `pipeline.dedup.stage.dedup`, then `pipeline.quality.stage.quality` on dedup's
   survivors (default params, the base model's tokenizer from --tokenizer), each in a fresh
   child process on the local executor (--tasks, --workers; one worker runs the tasks in that
   process), and prints docs/s and the process's peak resident memory (ru_maxrss), and that of
   its largest child process (datatrove's executor always starts a multiprocess Manager; with
   --workers > 1 the task processes, which run beside the stage's process).
3. Peer, on the first --peer-n documents: datatrove's MinHash recipe (signature, buckets,
   cluster; 14 x 8, 5-grams) then its Gopher quality and repetition filters on the survivors, in
   a child process, next to ours (both stages) on the same documents in another.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyarrow as pa

CHUNK = 100_000


def peak_mib() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process, and of its largest finished child."""
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return self_kib / 1024, children_kib / 1024


def build(n: int, words: int, path: Path) -> None:
    from fakes.corpus import ENGLISH_HEAD, labelled_corpus
    from pipeline.execution.parquet import DocumentWriter
    from pipeline.record import SCHEMA

    with DocumentWriter(path, SCHEMA) as out:
        for k, lo in enumerate(range(0, n, CHUNK)):
            m = min(CHUNK, n - lo)
            texts = labelled_corpus(
                m, seed=k, words=words, head_words=ENGLISH_HEAD, measure=False
            ).texts
            columns = {name: pa.array([""] * m) for name in SCHEMA.names}
            columns.update(
                id=pa.array([f"syn-{lo + i:08d}" for i in range(m)]),
                text=pa.array(texts),
                spec=pa.array(["synthetic"] * m),
                assertion_ids=pa.array([[]] * m, pa.list_(pa.string())),
            )
            for name in ("seed", "input_tokens", "output_tokens"):
                columns[name] = pa.array([0] * m, pa.int64())
            out.write(pa.table(columns).cast(SCHEMA))
            print(f"built {lo + m:,} documents", file=sys.stderr, flush=True)


def ours(stage: str, src: Path, out: Path, tokenizer: Path, tasks: int, workers: int) -> dict:
    from pipeline.config.params import load_params
    from pipeline.execution.settings import ExecutorSettings

    params = load_params(specs_dir=None)  # the repository's params.yaml (run from its root)
    ex = ExecutorSettings(tasks=tasks, workers=workers)
    work = out / "work"
    t0 = time.perf_counter()
    if stage == "dedup":
        from pipeline.dedup.stage import dedup

        stats = dedup(src, out / "dedup", params.dedup, ex, work)
    else:
        from pipeline.quality.filters import Context
        from pipeline.quality.stage import quality
        from pipeline.tokenizer import load_tokenizer

        tok = load_tokenizer(tokenizer).tokenizer
        stats = quality(src, out / "quality", params.quality, 0, Context("Claude"), tok, ex, work)
    seconds = time.perf_counter() - t0
    own, child = peak_mib()
    return {"seconds": seconds, "peak": own, "child_peak": child, "stats": stats}


def peer(src: Path) -> dict:
    """datatrove's MinHash recipe, then its Gopher filters on the survivors."""
    import pyarrow.parquet as pq

    sys.path.insert(0, str(Path(__file__).parent))
    from dedup_throughput import run_datatrove
    from quality_throughput import peer_keep

    texts = pq.read_table(src, columns=["text"]).column("text").to_pylist()
    t0 = time.perf_counter()
    dropped = {m for g in run_datatrove(texts) for m in sorted(g)[1:]}
    survivors = [t for i, t in enumerate(texts) if i not in dropped]
    keep, _ = peer_keep(survivors)
    seconds = time.perf_counter() - t0
    own, child = peak_mib()
    return {
        "seconds": seconds,
        "peak": own,
        "child_peak": child,
        "out": sum(keep),
        "dedup_out": len(survivors),
    }


def child(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"{args[:2]} failed (exit {proc.returncode}); see its log above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def row(name: str, docs: int, r: dict) -> None:
    print(
        f"{name:<48}{docs:>10,}{docs / r['seconds']:>9,.0f}{r['peak']:>10,.0f}"
        f"{r['child_peak']:>11,.0f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--words", type=int, default=400)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--peer-n", type=int, default=5_000)
    ap.add_argument("--tokenizer", type=Path, default=Path("models/base"))
    ap.add_argument("--dir", type=Path, help="keep the corpus and outputs here (default: temp)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker == "build":
        build(args.n, args.words, args.src)
        print(json.dumps({}))
        return
    if args.worker in ("dedup", "quality"):
        r = ours(args.worker, args.src, args.out, args.tokenizer, args.tasks, args.workers)
        print(json.dumps(r))
        return
    if args.worker == "peer":
        print(json.dumps(peer(args.src)))
        return
    if not (args.tokenizer / "tokenizer.json").is_file():
        raise SystemExit(f"{args.tokenizer}/tokenizer.json not found: run `make repro` first")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base = Path(tmp)
        run = ["--tasks", str(args.tasks), "--workers", str(args.workers)]
        run += ["--tokenizer", str(args.tokenizer)]
        sets = [("full", args.n), ("subsample", min(args.peer_n, args.n))]
        t0 = time.perf_counter()
        for name, n in sets:
            child("--worker", "build", "--n", str(n), "--words", str(args.words),
                  "--src", str(base / f"{name}.parquet"))  # fmt: skip
        print(f"built {args.n:,} + {sets[1][1]:,} documents in {time.perf_counter() - t0:.0f}s")
        print(f"local executor, {args.tasks} tasks, {args.workers} worker(s); one core per worker")
        print(f"{'run':<48}{'docs':>10}{'docs/s':>9}{'peak MiB':>10}{'child MiB':>11}")
        results = {}
        for name, n in sets:
            out = base / f"out-{name}"
            d = child("--worker", "dedup", "--src", str(base / f"{name}.parquet"),
                      "--out", str(out), *run)  # fmt: skip
            row(f"ours dedup ({name})", n, d)
            survivors = out / "dedup" / "documents.parquet"
            q = child("--worker", "quality", "--src", str(survivors), "--out", str(out), *run)
            kept = d["stats"]["documents_out"]
            row(f"ours quality ({name}, on {kept:,} survivors)", kept, q)
            both = {"seconds": d["seconds"] + q["seconds"], "peak": max(d["peak"], q["peak"])}
            both["child_peak"] = max(d["child_peak"], q["child_peak"])
            row(f"ours dedup + quality ({name})", n, both)
            print(f"    kept {q['stats']['documents_out']:,} of {n:,}; {d['stats']['dropped']}, "
                  f"{q['stats']['dropped']}")  # fmt: skip
            results[name] = both
        n = sets[1][1]
        p = child("--worker", "peer", "--src", str(base / "subsample.parquet"))
        row("datatrove MinHash + Gopher filters (subsample)", n, p)
        print(f"    kept {p['out']:,} of {n:,} ({n - p['dedup_out']:,} duplicates)")
        ours_rate = n / results["subsample"]["seconds"]
        print(f"ratio ours / datatrove on the subsample: {ours_rate / (n / p['seconds']):.1f}x")
        full = results["full"]
        print(
            f"PEAK RSS over {args.n:,} documents: stage process {full['peak']:,.0f} MiB "
            f"({full['peak'] / 1024:.2f} GiB), largest child process {full['child_peak']:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
